//! The [`Stage`] trait and every stage, in pipeline order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::StreamExt;
use storage::{
    Attachment, CommitExtras, Document, IndexDoc, InvoiceRecord, NewPart, Status, StorageError,
};

use crate::charset::Charset;
use crate::convert::{convert_run, PartBytes, PartOutput, Renderer};
use crate::detect::{detect, DetectError, Format, SpoolHints, SNIFF_BYTES};
use crate::pdftext::pdf_pages_text;
use crate::scs::{CcsidOrigin, ScsOptions};
use crate::spool::PageFormat;
use crate::spool::{CarriageControl, SpoolLayout};
use crate::Context;

/// Why a stage failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    /// The store was busy, the network down, a timeout: retried with backoff.
    #[error("{0}")]
    Transient(String),
    /// The input itself is the problem: quarantined at once.
    #[error("{0}")]
    Permanent(String),
}

impl StageError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }
}

impl From<StorageError> for StageError {
    fn from(error: StorageError) -> Self {
        if error.is_transient() {
            StageError::Transient(error.to_string())
        } else {
            StageError::Permanent(error.to_string())
        }
    }
}

impl From<std::io::Error> for StageError {
    fn from(error: std::io::Error) -> Self {
        StageError::Transient(format!("i/o error: {error}"))
    }
}

/// What a stage did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `Some` ends the pipeline here with that status (an exact duplicate).
    pub finish: Option<Status>,
    /// Audit trail lines.
    pub events: Vec<String>,
    /// Records written in the same transaction (attachments, invoices).
    pub extras: CommitExtras,
}

impl Outcome {
    fn next(events: Vec<String>) -> Outcome {
        Outcome {
            events,
            ..Outcome::default()
        }
    }

    /// The document ends here with `status` (split, or review), its parts created with it.
    pub(crate) fn split(status: Status, events: Vec<String>, parts: Vec<NewPart>) -> Outcome {
        Outcome {
            finish: Some(status),
            events,
            extras: CommitExtras {
                parts,
                ..CommitExtras::default()
            },
        }
    }
}

/// One step of the pipeline. It may run more than once for a document (crash, retry): it
/// must be idempotent.
pub trait Stage: Send + Sync {
    /// Stable name, stored in `documents.stage` while a document waits for this stage.
    fn name(&self) -> &'static str;
    /// Works on one claimed document, changing its columns; the worker commits them.
    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>>;
    /// Called before a batch of `run`s with the documents about to run: a stage may look up
    /// what the whole batch needs at once (records, texts) and keep it until `flush`. Only a
    /// shortcut: `run` must work without it (an error here is logged and ignored).
    fn prepare<'a>(
        &'a self,
        _ctx: &'a Context,
        _docs: &'a [&'a Document],
    ) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async { Ok(()) })
    }
    /// Called after a batch of `run`s, before their commits (the index commits tantivy here).
    fn flush<'a>(&'a self, _ctx: &'a Context) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async { Ok(()) })
    }
    /// How many documents one claim takes.
    fn batch_size(&self) -> i64 {
        1
    }
    /// How long one run on `doc` may take before it is abandoned (transient: retried).
    fn timeout(&self, settings: &crate::Settings, _doc: &Document) -> std::time::Duration {
        settings.stage_timeout
    }
}

/// The ordered stages: the only place a stage is registered.
pub struct Plan {
    stages: Vec<Box<dyn Stage>>,
}

impl Plan {
    pub fn standard() -> Plan {
        Plan {
            stages: vec![
                Box::new(Detect),
                Box::new(Dedupe),
                Box::new(Convert),
                Box::new(Text),
                Box::new(Extract::default()),
                Box::new(Attach::default()),
                Box::new(Index::default()),
            ],
        }
    }

    /// A plan of the given stages, in order (tests of the worker).
    #[cfg(test)]
    pub(crate) fn of(stages: Vec<Box<dyn Stage>>) -> Plan {
        Plan { stages }
    }

    /// The stage a new arrival waits for.
    pub fn first(&self) -> &'static str {
        self.stages.first().map_or("detect", |stage| stage.name())
    }

    pub fn get(&self, name: &str) -> Option<&dyn Stage> {
        self.stages
            .iter()
            .find(|stage| stage.name() == name)
            .map(|stage| stage.as_ref())
    }

    /// The stage after `name`; `None` after the last.
    pub fn next_after(&self, name: &str) -> Option<&'static str> {
        let position = self.stages.iter().position(|stage| stage.name() == name)?;
        self.stages.get(position + 1).map(|stage| stage.name())
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|stage| stage.name()).collect()
    }
}

fn original_key(doc: &Document) -> Result<&str, StageError> {
    doc.original_key
        .as_deref()
        .ok_or_else(|| StageError::Permanent("document has no stored original".into()))
}

/// Runs blocking work (parsing, converting) off the async threads; a panic inside becomes a
/// permanent error instead of a crash.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, StageError> + Send + 'static,
) -> Result<T, StageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => Err(StageError::Permanent(format!(
            "{what} crashed on this input"
        ))),
        Err(error) => Err(StageError::Transient(format!(
            "{what} was cancelled: {error}"
        ))),
    }
}

fn spool_hints(ctx: &Context, doc: &Document) -> SpoolHints {
    let source = ctx
        .settings
        .source_hints
        .get(&doc.source)
        .copied()
        .unwrap_or_default();
    let defaults = ctx.settings.spool_defaults;
    let meta = |name: &str| {
        let sidecar = format!("splf.{name}");
        doc.metadata
            .get(&sidecar)
            .and_then(|value| value.trim().parse::<usize>().ok())
            .or_else(|| {
                doc.metadata
                    .get(name)
                    .and_then(|value| value.trim().parse::<usize>().ok())
            })
    };
    SpoolHints {
        ccsid: meta("ccsid")
            .and_then(|v| u16::try_from(v).ok())
            .or(source.ccsid)
            .or(defaults.ccsid),
        record_length: meta("record_length")
            .or(source.record_length)
            .or(defaults.record_length),
        lines_per_page: meta("page_length")
            .or(source.lines_per_page)
            .or(defaults.lines_per_page),
        columns: meta("page_width").or(source.columns).or(defaults.columns),
    }
}

/// Names the format by content; records how to read a spool in the metadata.
pub struct Detect;

impl Stage for Detect {
    fn name(&self) -> &'static str {
        "detect"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            let key = original_key(doc)?;
            let (sample, size) = ctx.blobs.get_prefix(key, SNIFF_BYTES as u64).await?;
            let limit = ctx.settings.max_document_bytes;
            if size > limit {
                return Err(StageError::Permanent(format!(
                    "document is {:.1} MiB, over the {:.1} MiB limit (max_document_mb)",
                    size as f64 / 1048576.0,
                    limit as f64 / 1048576.0
                )));
            }
            let format = detect(&sample, size, &spool_hints(ctx, doc))
                .map_err(|error: DetectError| StageError::Permanent(error.to_string()))?;
            doc.format = Some(format.name().to_string());
            if !format.has_converter() {
                return Err(StageError::Permanent(format!(
                    "no converter yet for {} documents",
                    format.name()
                )));
            }
            let mut events = vec![format!("format {}", format.name())];
            if let Format::TextSpool(layout) = format {
                doc.metadata
                    .insert("spool.charset".into(), layout.charset.name());
                doc.metadata
                    .insert("spool.control".into(), layout.control.name().into());
                doc.metadata.insert(
                    "spool.page_length".into(),
                    layout.lines_per_page.to_string(),
                );
                doc.metadata
                    .insert("spool.page_width".into(), layout.columns.to_string());
                if let Some(length) = layout.record_length {
                    doc.metadata
                        .insert("spool.record_length".into(), length.to_string());
                }
                events.push(format!(
                    "spool read as {}, carriage control {}, {}x{}",
                    layout.charset.name(),
                    layout.control.name(),
                    layout.lines_per_page,
                    layout.columns
                ));
            }
            Ok(Outcome::next(events))
        })
    }
}

/// Exact duplicates (same BLAKE3 of the original) point to the first document and stop here.
pub struct Dedupe;

impl Stage for Dedupe {
    fn name(&self) -> &'static str {
        "dedupe"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            let Some(hash) = doc.blake3.clone() else {
                return Ok(Outcome::next(vec![
                    "no content hash, nothing to compare".into()
                ]));
            };
            let Some(first) = ctx.db.first_with_hash(&hash, doc.id).await? else {
                return Ok(Outcome::next(
                    vec!["first document with these bytes".into()],
                ));
            };
            doc.duplicate_of = Some(first);
            Ok(Outcome {
                finish: Some(Status::Duplicate),
                events: vec![format!("exact duplicate of document {first}")],
                ..Outcome::default()
            })
        })
    }
}

fn layout_of(doc: &Document) -> Result<SpoolLayout, StageError> {
    let get = |name: &str| doc.metadata.get(name).map(String::as_str);
    let bad = |what: &str| {
        StageError::Permanent(format!(
            "spool metadata {what} is missing or invalid: run detect again"
        ))
    };
    Ok(SpoolLayout {
        charset: get("spool.charset")
            .and_then(Charset::from_name)
            .ok_or_else(|| bad("spool.charset"))?,
        control: get("spool.control")
            .and_then(CarriageControl::from_name)
            .ok_or_else(|| bad("spool.control"))?,
        record_length: get("spool.record_length").and_then(|v| v.parse().ok()),
        lines_per_page: get("spool.page_length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(66),
        columns: get("spool.page_width")
            .and_then(|v| v.parse().ok())
            .unwrap_or(132),
    })
}

fn derived_key(doc: &Document, name: &str) -> String {
    format!("derived/{}/{name}", doc.id)
}

/// The page format a line spool's side-car gives (cpi, lpi, page size), or the source's.
fn sidecar_format(doc: &Document) -> PageFormat {
    let number = |name: &str| {
        doc.metadata
            .get(name)
            .and_then(|value| value.trim().parse::<f32>().ok())
            .filter(|value| value.is_finite() && *value > 0.0)
    };
    let count = |name: &str| {
        doc.metadata
            .get(name)
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|value| (1..=1000).contains(value))
    };
    let rotation = doc
        .metadata
        .get("splf.rotation")
        .map(|value| value.trim().trim_start_matches('*').to_ascii_uppercase());
    PageFormat {
        cpi: number("splf.cpi").or_else(|| number("cpi")),
        lpi: number("splf.lpi").or_else(|| number("lpi")),
        landscape: match rotation.as_deref() {
            Some("90" | "270") => Some(true),
            Some("0" | "180") => Some(false),
            _ => None,
        },
        rows: count("splf.page_length").or_else(|| count("page_length")),
        columns: count("splf.page_width").or_else(|| count("page_width")),
        ..PageFormat::default()
    }
}

fn renderer_of(ctx: &Context, doc: &Document) -> Result<Renderer, StageError> {
    match doc.format.as_deref() {
        Some("text-spool") => Ok(Renderer::Text {
            layout: layout_of(doc)?,
            format: sidecar_format(doc),
        }),
        Some("scs") => {
            let hints = spool_hints(ctx, doc);
            let ccsid = |name: &str| {
                doc.metadata
                    .get(name)
                    .and_then(|value| value.trim().parse::<u16>().ok())
            };
            let sidecar_ccsid = ccsid("splf.ccsid");
            let source_ccsid = ccsid("ccsid")
                .or_else(|| {
                    ctx.settings
                        .source_hints
                        .get(&doc.source)
                        .and_then(|h| h.ccsid)
                })
                .or(ctx.settings.spool_defaults.ccsid);
            let mut fallback = sidecar_format(doc);
            fallback.rows = fallback.rows.or(hints.lines_per_page);
            fallback.columns = fallback.columns.or(hints.columns);
            Ok(Renderer::Scs(ScsOptions {
                sidecar_ccsid,
                source_ccsid,
                fallback,
                keep_blank_pages: false,
            }))
        }
        Some("afp") => {
            let ccsid = doc
                .metadata
                .get("splf.ccsid")
                .or_else(|| doc.metadata.get("ccsid"))
                .and_then(|value| value.trim().parse::<u16>().ok())
                .or_else(|| {
                    ctx.settings
                        .source_hints
                        .get(&doc.source)
                        .and_then(|h| h.ccsid)
                })
                .or(ctx.settings.spool_defaults.ccsid)
                .filter(|&ccsid| crate::ebcdic_tables::table(ccsid).is_some())
                .unwrap_or(500);
            Ok(Renderer::Afp(crate::afp::AfpOptions {
                default_ccsid: ccsid,
                resource_dir: ctx.settings.afp.resource_dir.clone(),
                image_limits: ctx.settings.ocr.limits.clone(),
                ..crate::afp::AfpOptions::default()
            }))
        }
        other => Err(StageError::Permanent(format!(
            "no converter for format {}",
            other.unwrap_or("unknown")
        ))),
    }
}

/// Stores a part's bytes under `key`, from memory or from its scratch file.
async fn store_part_bytes(ctx: &Context, key: &str, bytes: PartBytes) -> Result<(), StageError> {
    match bytes {
        PartBytes::Memory(data) => ctx.blobs.put(key, data).await?,
        PartBytes::File(path) => {
            ctx.blobs.put_file(key, &path).await?;
        }
    }
    Ok(())
}

/// Parts of a burst run being stored at once.
const STORES_IN_FLIGHT: usize = 8;

/// Spools (line and SCS) become a PDF and laid-out text, or, when a burst rule applies, one
/// part per document of the run; PDFs pass through untouched.
pub struct Convert;

impl Stage for Convert {
    fn name(&self) -> &'static str {
        "convert"
    }

    /// Scans are bounded page by page (each OCR has its own timeout, the pages are bounded by
    /// the image limits), so the stage as a whole may take as long as its pages need: a big
    /// batch is never killed for its size. The worker renews the lease meanwhile.
    fn timeout(&self, settings: &crate::Settings, doc: &Document) -> std::time::Duration {
        if !crate::scan::is_scan(doc.format.as_deref()) {
            return settings.stage_timeout;
        }
        let ocr = &settings.ocr;
        let rounds = ocr.limits.max_pages.div_ceil(ocr.parallel.max(1));
        settings.stage_timeout + ocr.page_timeout * u32::try_from(rounds).unwrap_or(u32::MAX)
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            if doc.format.as_deref() == Some("email") {
                return crate::explode::explode_mail(ctx, doc).await;
            }
            if crate::scan::is_scan(doc.format.as_deref()) {
                return crate::scan::convert_scan(ctx, doc).await;
            }
            if doc.format.as_deref() == Some("pdf") {
                doc.pdf_key = doc.original_key.clone();
                return Ok(Outcome::next(vec!["pdf kept as it is".into()]));
            }
            let renderer = renderer_of(ctx, doc)?;
            let format_name = doc.format.clone().unwrap_or_default();
            // A part is never cut again.
            let may_burst = doc.parent_id.is_none();
            let work = tempfile::tempdir()?;
            let input = work.path().join("original");
            ctx.blobs.download_to(original_key(doc)?, &input).await?;
            let rules = ctx.rules.clone();
            let (source, metadata) = (doc.source.clone(), doc.metadata.clone());
            let dir = work.path().to_path_buf();
            // The converter hands over each part as soon as it is complete; this side stores
            // it while the next is rendered. The channel's bound keeps memory flat.
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<PartOutput>(8);
            let converter = tokio::task::spawn_blocking(move || {
                let burst = if may_burst {
                    rules.burst_for(&source, &format_name, &metadata)
                } else {
                    None
                };
                let burst_name = burst.map(|burst| burst.name().to_string());
                convert_run(&input, &renderer, burst, &dir, |part| {
                    sender.blocking_send(part).map_err(|_| {
                        std::io::Error::other("the convert stage stopped taking parts")
                    })
                })
                .map(|converted| (converted, burst_name))
            });
            let run_id = doc.id;
            let part_key = |index: usize, extension: &str| {
                format!("derived/{run_id}/part-{index:05}.{extension}")
            };
            let mut held: Option<PartOutput> = None;
            let mut stored: Vec<(usize, usize, usize, Vec<(String, String)>)> = Vec::new();
            let mut store_error: Option<StageError> = None;
            // Parts are stored up to STORES_IN_FLIGHT at once, in order: a put waits on the
            // blocking pool (a local folder) or the network (S3), not on this task.
            let mut in_flight = futures::stream::FuturesOrdered::new();
            let mut parts_seen = 0usize;
            let mut receiving = true;
            loop {
                let part = tokio::select! {
                    part = receiver.recv(), if receiving && in_flight.len() < STORES_IN_FLIGHT => part,
                    done = in_flight.next(), if !in_flight.is_empty() => {
                        match done {
                            Some(Ok(range)) => stored.push(range),
                            Some(Err(error)) => {
                                store_error = Some(error);
                                break;
                            }
                            None => {}
                        }
                        continue;
                    }
                    else => break,
                };
                let Some(part) = part else {
                    receiving = false;
                    continue;
                };
                parts_seen += 1;
                // The first part waits: if it stays alone, it is the document itself.
                if parts_seen == 1 {
                    held = Some(part);
                    continue;
                }
                for mut part in held.take().into_iter().chain([part]) {
                    let range = (
                        part.index,
                        part.page_first,
                        part.page_last,
                        std::mem::take(&mut part.metadata),
                    );
                    let (pdf_key, text_key) =
                        (part_key(part.index, "pdf"), part_key(part.index, "txt"));
                    in_flight.push_back(async move {
                        tokio::try_join!(
                            store_part_bytes(ctx, &pdf_key, part.pdf),
                            store_part_bytes(ctx, &text_key, part.text)
                        )?;
                        Ok::<_, StageError>(range)
                    });
                }
            }
            drop(in_flight);
            drop(receiver);
            let (converted, burst_name) = match converter.await {
                Ok(Ok(done)) => done,
                Ok(Err(_)) if store_error.is_some() => {
                    return Err(store_error
                        .unwrap_or_else(|| StageError::Transient("blob store failed".into())));
                }
                Ok(Err(error)) if error.is_transient() => {
                    return Err(StageError::Transient(error.to_string()))
                }
                Ok(Err(error)) => return Err(StageError::Permanent(error.to_string())),
                Err(error) if error.is_panic() => {
                    return Err(StageError::Permanent(
                        "spool converter crashed on this input".into(),
                    ))
                }
                Err(error) => {
                    return Err(StageError::Transient(format!(
                        "spool converter was cancelled: {error}"
                    )))
                }
            };
            if let Some(error) = store_error {
                return Err(error);
            }
            let pages = converted.pages;
            if pages == 0 || converted.parts == 0 {
                return Err(StageError::Permanent("spool has no printable page".into()));
            }
            let mut events = Vec::new();
            if let Some(summary) = &converted.scs {
                let origin = match summary.ccsid_origin {
                    CcsidOrigin::Sidecar => "the side-car",
                    CcsidOrigin::Scg => "the stream's scg",
                    CcsidOrigin::Source => "the source",
                    CcsidOrigin::Default => "the default",
                };
                doc.metadata
                    .insert("spool.ccsid".into(), summary.ccsid.to_string());
                events.push(format!(
                    "scs read with ccsid {} (from {origin})",
                    summary.ccsid
                ));
                for warning in &summary.warnings {
                    events.push(format!("scs warning: {warning}"));
                }
            }
            if let Some(summary) = &converted.afp {
                events.push(format!(
                    "afp run of {} pages in {} page groups",
                    summary.pages, summary.groups
                ));
            }
            doc.pages = i64::try_from(pages).ok();
            if let Some(mut part) = held {
                for (name, value) in std::mem::take(&mut part.metadata) {
                    if name == "afp.warning" {
                        events.push(format!("afp warning: {value}"));
                    }
                    doc.metadata.insert(name, value);
                }
                let pdf_key = derived_key(doc, "document.pdf");
                let text_key = derived_key(doc, "text.txt");
                store_part_bytes(ctx, &pdf_key, part.pdf).await?;
                store_part_bytes(ctx, &text_key, part.text).await?;
                doc.pdf_key = Some(pdf_key);
                doc.text_key = Some(text_key);
                events.push(format!("spool converted to a {pages}-page pdf"));
                return Ok(Outcome::next(events));
            }
            let by_groups = converted.afp.as_ref().is_some_and(|afp| afp.groups > 0);
            let burst = match burst_name {
                Some(name) if !by_groups => name,
                _ if by_groups => "afp-page-groups".to_string(),
                _ => String::new(),
            };
            let mut parts = Vec::with_capacity(stored.len());
            for (index, page_first, page_last, own) in stored {
                let mut metadata = doc.metadata.clone();
                metadata.insert("burst.rule".into(), burst.clone());
                metadata.insert("burst.part".into(), index.to_string());
                for (name, value) in own {
                    if name == "afp.warning" {
                        events.push(format!("afp warning in part {index}: {value}"));
                    }
                    metadata.insert(name, value);
                }
                parts.push(NewPart {
                    index,
                    page_first: i64::try_from(page_first).ok(),
                    page_last: i64::try_from(page_last).ok(),
                    pdf_key: Some(part_key(index, "pdf")),
                    text_key: Some(part_key(index, "txt")),
                    metadata,
                    stage: "extract".into(),
                    ..NewPart::default()
                });
            }
            if by_groups {
                events.push(format!(
                    "print run of {pages} pages cut into {} documents by its page groups",
                    parts.len()
                ));
            } else {
                events.push(format!(
                    "print run of {pages} pages cut into {} documents by burst rule {burst}",
                    parts.len()
                ));
            }
            Ok(Outcome::split(Status::Split, events, parts))
        })
    }
}

/// Gets the text: spools already have it from conversion; PDFs give their text layer.
pub struct Text;

impl Stage for Text {
    fn name(&self) -> &'static str {
        "text"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            if doc.text_key.is_some() {
                return Ok(Outcome::next(vec![
                    "text from the conversion (spool layout, or ocr of a scan)".into(),
                ]));
            }
            let pdf_key = doc
                .pdf_key
                .clone()
                .ok_or_else(|| StageError::Permanent("no pdf to take text from".into()))?;
            let bytes = std::sync::Arc::new(ctx.blobs.get(&pdf_key).await?);
            let pages = {
                let bytes = bytes.clone();
                blocking("pdf reader", move || {
                    pdf_pages_text(&bytes).map_err(|error| StageError::Permanent(error.to_string()))
                })
                .await?
            };
            let mut pages = pages;
            let empty: Vec<usize> = pages
                .iter()
                .enumerate()
                .filter(|(_, page)| page.trim().is_empty())
                .map(|(index, _)| index)
                .collect();
            let mut events = vec![format!("text layer of {} pages", pages.len())];
            if !empty.is_empty() && ctx.settings.ocr.pdf_pages {
                // A scan to PDF: read the pages without text, lay the words over them.
                let read = crate::pdfocr::ocr_pdf_pages(ctx, bytes, &empty).await?;
                for (index, text) in &read.texts {
                    if let Some(page) = pages.get_mut(*index) {
                        page.clone_from(text);
                    }
                }
                let words: Vec<Vec<rules::Word>> = (0..pages.len())
                    .map(|index| read.words.get(&index).cloned().unwrap_or_default())
                    .collect();
                crate::scan::store_words(ctx, doc, &words).await?;
                let known: Vec<f32> = read.confidences.values().flatten().copied().collect();
                if !known.is_empty() {
                    let mean = known.iter().sum::<f32>() / known.len() as f32;
                    doc.metadata
                        .insert("ocr.confidence".into(), format!("{mean:.1}"));
                }
                events.push(format!(
                    "{} pages without a text layer read by ocr ({}, {})",
                    read.texts.len(),
                    ctx.ocr.name(),
                    ctx.settings.ocr.languages
                ));
                events.extend(read.skipped.iter().cloned());
                if let Some(searchable) = read.searchable {
                    let key = derived_key(doc, "document.pdf");
                    ctx.blobs.put(&key, searchable).await?;
                    doc.pdf_key = Some(key);
                    events.push("searchable pdf: the ocr words laid over the pages".into());
                }
            } else if !empty.is_empty() {
                events.push(format!(
                    "{} pages have no text layer (ocr of pdf pages is off)",
                    empty.len()
                ));
            }
            let text_key = derived_key(doc, "text.txt");
            ctx.blobs
                .put(&text_key, pages.join("\x0c").into_bytes())
                .await?;
            doc.text_key = Some(text_key);
            doc.pages = i64::try_from(pages.len()).ok();
            Ok(Outcome::next(events))
        })
    }
}

/// Texts of a batch read ahead by a stage's `prepare`, by document id (a read failed here is
/// simply absent: `run` reads it again and reports the error).
#[derive(Default)]
struct TextCache {
    texts: Mutex<HashMap<i64, String>>,
}

impl TextCache {
    async fn fill(&self, ctx: &Context, docs: &[&Document]) -> Result<(), StageError> {
        let wanted: Vec<(i64, String)> = docs
            .iter()
            .filter_map(|doc| Some((doc.id, doc.text_key.clone()?)))
            .collect();
        let keys: Vec<String> = wanted.iter().map(|(_, key)| key.clone()).collect();
        let read = ctx
            .blobs
            .get_prefixes(&keys, ctx.settings.max_text_bytes)
            .await;
        let mut texts = self.lock()?;
        for ((doc_id, _), result) in wanted.into_iter().zip(read) {
            if let Ok((bytes, _)) = result {
                texts.insert(doc_id, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }

    /// The document's text, read ahead or now.
    async fn text(&self, ctx: &Context, doc: &Document) -> Result<String, StageError> {
        if let Some(text) = self.lock()?.remove(&doc.id) {
            return Ok(text);
        }
        load_text(ctx, doc).await
    }

    fn clear(&self) -> Result<(), StageError> {
        self.lock()?.clear();
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<i64, String>>, StageError> {
        self.texts
            .lock()
            .map_err(|_| StageError::Transient("text cache lock poisoned".into()))
    }
}

async fn load_text(ctx: &Context, doc: &Document) -> Result<String, StageError> {
    let Some(key) = doc.text_key.as_deref() else {
        return Ok(String::new());
    };
    let (bytes, _) = ctx
        .blobs
        .get_prefix(key, ctx.settings.max_text_bytes)
        .await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Runs the rules: document type, keys, where to attach it, or why it needs review.
#[derive(Default)]
pub struct Extract {
    texts: TextCache,
}

impl Stage for Extract {
    fn name(&self) -> &'static str {
        "extract"
    }

    fn prepare<'a>(
        &'a self,
        ctx: &'a Context,
        docs: &'a [&'a Document],
    ) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(self.texts.fill(ctx, docs))
    }

    fn flush<'a>(&'a self, _ctx: &'a Context) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async move { self.texts.clear() })
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            let text = self.texts.text(ctx, doc).await?;
            let pages: Vec<String> = text
                .split('\x0c')
                .map(|page| page.trim_end_matches('\n').to_string())
                .collect();
            let format = doc.format.clone().unwrap_or_default();
            // Scans: the OCR words with their places, for zone_mm keys and key confidences.
            let words = crate::scan::load_words(ctx, doc).await?;
            let evaluation = ctx.rules.evaluate(&rules::Input {
                source: &doc.source,
                format: &format,
                pages: &pages,
                metadata: &doc.metadata,
                words: words.as_deref(),
            });
            let mut events = Vec::new();
            match &evaluation.doc_type {
                Some(doc_type) => events.push(format!("document type {doc_type}")),
                None => events.push("no document type matched".into()),
            }
            for (name, key) in &evaluation.keys {
                let confidence = key
                    .confidence
                    .map_or(String::new(), |c| format!(", confidence {c:.0}"));
                events.push(format!(
                    "key {name} = {} (rule {}, page {}{confidence})",
                    key.value, key.rule, key.page
                ));
            }
            for problem in &evaluation.problems {
                events.push(format!("problem: {problem}"));
            }
            doc.doc_type = evaluation.doc_type.clone();
            doc.keys = evaluation
                .keys
                .iter()
                .map(|(name, key)| (name.clone(), key.value.clone()))
                .collect();
            doc.targets = evaluation
                .targets
                .iter()
                .map(|target| format!("{}:{}", target.kind.as_str(), target.value))
                .collect();
            doc.problems = evaluation.problems.clone();
            if ctx.settings.afp.review_missing_resources {
                if let Some(warning) = doc.metadata.get("afp.warning") {
                    doc.problems
                        .push(format!("afp drawn incompletely: {warning}"));
                }
            }
            if doc.doc_type.is_some() && doc.targets.is_empty() && doc.problems.is_empty() {
                doc.problems
                    .push("the rules give no record to attach this document to".into());
            }
            Ok(Outcome::next(events))
        })
    }
}

/// The addresses a client's record lists as its contacts: every `@` address in its extra
/// columns whose name mentions mail or contact (`email`, `contacts`, `contact_email` …),
/// separated by commas, semicolons or blanks.
fn client_contacts(client: &storage::Client) -> Vec<String> {
    client
        .extra
        .iter()
        .filter(|(column, _)| {
            let column = column.to_lowercase();
            column.contains("mail") || column.contains("contact")
        })
        .flat_map(|(_, value)| value.split([',', ';', ' ', '\t']))
        .map(|address| address.trim().trim_matches(['<', '>']).to_lowercase())
        .filter(|address| address.contains('@'))
        .collect()
}

/// A mailed document files only when its capture address's sender policy allows the sender
/// (the rules' `[[sender_policy]]`): a stranger's documents go to review, never to a client.
async fn check_sender(
    ctx: &Context,
    doc: &mut Document,
    events: &mut Vec<String>,
) -> Result<(), StageError> {
    let check = ctx.rules.sender_check(&doc.metadata);
    match &check {
        rules::SenderCheck::NotMail => {}
        rules::SenderCheck::Allowed { policy } => {
            events.push(format!("sender allowed by sender policy {policy}"));
        }
        rules::SenderCheck::IfClientContact { policy, sender } => {
            let clients: Vec<String> = doc
                .targets
                .iter()
                .filter_map(|target| target.strip_prefix("client:"))
                .map(str::to_string)
                .collect();
            if clients.is_empty() {
                doc.problems.extend(check.contact_refusal(None));
                return Ok(());
            }
            for code in clients {
                let contacts = match ctx.db.client(&code).await? {
                    Some(client) => client_contacts(&client),
                    None => Vec::new(),
                };
                if contacts.iter().any(|contact| contact == sender) {
                    events.push(format!(
                        "sender {sender} is a contact of client {code} (sender policy {policy})"
                    ));
                } else {
                    doc.problems.extend(check.contact_refusal(Some(&code)));
                }
            }
        }
        rules::SenderCheck::Refused { reason } => doc.problems.push(reason.clone()),
    }
    Ok(())
}

/// Files the document under its client, invoice or form records, or sends it to review.
#[derive(Default)]
pub struct Attach {
    records: Mutex<Option<BatchRecords>>,
}

/// The records a batch of documents to attach names, looked up at once by `prepare`.
/// A value outside them is looked up by itself.
struct BatchRecords {
    /// Each client code of the batch: whether it is a client.
    clients: HashMap<String, bool>,
    /// Each form id of the batch: whether it is a form.
    forms: HashMap<String, bool>,
    /// Each invoice number of the batch: the client of its record, if it has one.
    invoices: HashMap<String, Option<String>>,
}

impl Attach {
    fn records(&self) -> Result<std::sync::MutexGuard<'_, Option<BatchRecords>>, StageError> {
        self.records
            .lock()
            .map_err(|_| StageError::Transient("attach cache lock poisoned".into()))
    }

    async fn client_known(&self, ctx: &Context, code: &str) -> Result<bool, StageError> {
        if let Some(records) = self.records()?.as_ref() {
            if let Some(&known) = records.clients.get(code) {
                return Ok(known);
            }
        }
        Ok(ctx.db.client(code).await?.is_some())
    }

    async fn form_known(&self, ctx: &Context, form_id: &str) -> Result<bool, StageError> {
        if let Some(records) = self.records()?.as_ref() {
            if let Some(&known) = records.forms.get(form_id) {
                return Ok(known);
            }
        }
        Ok(ctx.db.form_exists(form_id).await?)
    }

    async fn invoice_client(
        &self,
        ctx: &Context,
        number: &str,
    ) -> Result<Option<String>, StageError> {
        if let Some(records) = self.records()?.as_ref() {
            if let Some(client) = records.invoices.get(number) {
                return Ok(client.clone());
            }
        }
        Ok(ctx.db.invoice_client(number).await?)
    }
}

impl Stage for Attach {
    fn name(&self) -> &'static str {
        "attach"
    }

    fn prepare<'a>(
        &'a self,
        ctx: &'a Context,
        docs: &'a [&'a Document],
    ) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async move {
            let mut wanted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            for target in docs.iter().flat_map(|doc| doc.targets.iter()) {
                if let Some((kind, value)) = target.split_once(':') {
                    wanted.entry(kind).or_default().insert(value.to_string());
                }
            }
            let list = |kind: &str| -> Vec<String> {
                wanted
                    .get(kind)
                    .map(|values| values.iter().cloned().collect())
                    .unwrap_or_default()
            };
            let (clients, forms, numbers) = (list("client"), list("form"), list("invoice"));
            let known_clients = ctx.db.clients_known(&clients).await?;
            let known_forms = ctx.db.forms_known(&forms).await?;
            let mut invoices = ctx.db.invoice_clients(&numbers).await?;
            let records = BatchRecords {
                clients: clients
                    .into_iter()
                    .map(|code| {
                        let known = known_clients.contains(&code);
                        (code, known)
                    })
                    .collect(),
                forms: forms
                    .into_iter()
                    .map(|form_id| {
                        let known = known_forms.contains(&form_id);
                        (form_id, known)
                    })
                    .collect(),
                invoices: numbers
                    .into_iter()
                    .map(|number| {
                        let client = invoices.remove(&number).flatten();
                        (number, client)
                    })
                    .collect(),
            };
            *self.records()? = Some(records);
            Ok(())
        })
    }

    fn flush<'a>(&'a self, _ctx: &'a Context) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async move {
            *self.records()? = None;
            Ok(())
        })
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            let mut events = Vec::new();
            check_sender(ctx, doc, &mut events).await?;
            let mut attachments = Vec::new();
            let mut client_code = None;
            let mut invoice_number = None;
            for target in &doc.targets {
                let Some((kind, value)) = target.split_once(':') else {
                    continue;
                };
                match kind {
                    "client" => {
                        if !self.client_known(ctx, value).await? {
                            doc.problems
                                .push(format!("client {value} is not in the clients table"));
                            continue;
                        }
                        client_code = Some(value.to_string());
                    }
                    "form" => {
                        if !self.form_known(ctx, value).await? {
                            doc.problems
                                .push(format!("form {value} is not in the forms table"));
                            continue;
                        }
                    }
                    "invoice" => invoice_number = Some(value.to_string()),
                    other => {
                        doc.problems
                            .push(format!("unknown attach target kind {other}"));
                        continue;
                    }
                }
                attachments.push(Attachment {
                    kind: kind.to_string(),
                    target: value.to_string(),
                    origin: format!("rules: {}", doc.doc_type.as_deref().unwrap_or("?")),
                });
            }
            if let (Some(number), Some(client)) = (&invoice_number, &client_code) {
                if let Some(other_client) = self
                    .invoice_client(ctx, number)
                    .await?
                    .filter(|c| c != client)
                {
                    doc.problems.push(format!("invoice {number} is already filed under client {other_client}, not {client}"));
                }
            }
            if !doc.problems.is_empty() {
                events.push(format!("to review: {}", doc.problems.join("; ")));
                return Ok(Outcome::next(events));
            }
            let invoice = invoice_number.map(|number| InvoiceRecord {
                number,
                client_code: client_code.clone(),
                date: doc
                    .keys
                    .get("invoice_date")
                    .or_else(|| doc.keys.get("date"))
                    .cloned(),
                total: doc
                    .keys
                    .get("total")
                    .or_else(|| doc.keys.get("amount"))
                    .cloned(),
            });
            for attachment in &attachments {
                events.push(format!("attached to {}", attachment.label()));
            }
            Ok(Outcome {
                finish: None,
                events,
                extras: CommitExtras {
                    attachments,
                    invoice,
                    parts: Vec::new(),
                },
            })
        })
    }
}

/// Puts the document in the search index, in batches: one tantivy commit per batch.
#[derive(Default)]
pub struct Index {
    pending: Mutex<Vec<IndexDoc>>,
    texts: TextCache,
    /// The batch's attachments, looked up at once by `prepare`.
    attachments: Mutex<Option<HashMap<i64, Vec<Attachment>>>>,
}

impl Index {
    fn attachments(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, Option<HashMap<i64, Vec<Attachment>>>>, StageError> {
        self.attachments
            .lock()
            .map_err(|_| StageError::Transient("index cache lock poisoned".into()))
    }
}

fn looks_iso_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && value.chars().filter(char::is_ascii_digit).count() == 8
}

impl Stage for Index {
    fn name(&self) -> &'static str {
        "index"
    }

    fn batch_size(&self) -> i64 {
        // One tantivy commit (segment write and sync) per batch: the larger, the fewer.
        256
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Context,
        doc: &'a mut Document,
    ) -> BoxFuture<'a, Result<Outcome, StageError>> {
        Box::pin(async move {
            let text = self.texts.text(ctx, doc).await?;
            let known = self
                .attachments()?
                .as_mut()
                .map(|batch| batch.remove(&doc.id).unwrap_or_default());
            let attachments = match known {
                Some(attachments) => attachments,
                None => ctx.db.attachments(doc.id).await?,
            };
            let entry = index_entry(doc, text, &attachments);
            self.pending
                .lock()
                .map_err(|_| StageError::Transient("index buffer lock poisoned".into()))?
                .push(entry);
            Ok(Outcome::next(vec!["indexed".into()]))
        })
    }

    fn prepare<'a>(
        &'a self,
        ctx: &'a Context,
        docs: &'a [&'a Document],
    ) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async move {
            let ids: Vec<i64> = docs.iter().map(|doc| doc.id).collect();
            *self.attachments()? = Some(ctx.db.attachments_of(&ids).await?);
            self.texts.fill(ctx, docs).await
        })
    }

    fn flush<'a>(&'a self, ctx: &'a Context) -> BoxFuture<'a, Result<(), StageError>> {
        Box::pin(async move {
            *self.attachments()? = None;
            self.texts.clear()?;
            let batch = std::mem::take(
                &mut *self
                    .pending
                    .lock()
                    .map_err(|_| StageError::Transient("index buffer lock poisoned".into()))?,
            );
            if batch.is_empty() {
                return Ok(());
            }
            let index = ctx.index.clone();
            blocking("search index", move || {
                index.upsert(&batch).map_err(StageError::from)
            })
            .await
        })
    }
}

/// What the index holds of a document: also used by `greffier reindex`.
pub async fn index_doc(ctx: &Context, doc: &Document) -> Result<IndexDoc, StageError> {
    let text = load_text(ctx, doc).await?;
    let attachments = ctx.db.attachments(doc.id).await?;
    Ok(index_entry(doc, text, &attachments))
}

/// The index entry of a document, its text and what it is filed under.
fn index_entry(doc: &Document, text: String, attachments: &[Attachment]) -> IndexDoc {
    let mut clients = BTreeSet::new();
    let mut invoices = BTreeSet::new();
    let mut forms = BTreeSet::new();
    let labels = doc
        .targets
        .iter()
        .cloned()
        .chain(attachments.iter().map(Attachment::label));
    for label in labels {
        match label.split_once(':') {
            Some(("client", value)) => clients.insert(value.to_string()),
            Some(("invoice", value)) => invoices.insert(value.to_string()),
            Some(("form", value)) => forms.insert(value.to_string()),
            _ => false,
        };
    }
    let status = if doc.problems.is_empty() {
        Status::Filed
    } else {
        Status::Review
    };
    IndexDoc {
        id: doc.id,
        text,
        source: doc.source.clone(),
        source_path: doc.source_path.clone(),
        format: doc.format.clone().unwrap_or_default(),
        doc_type: doc.doc_type.clone().unwrap_or_default(),
        status: status.as_str().to_string(),
        clients: clients.into_iter().collect(),
        invoices: invoices.into_iter().collect(),
        forms: forms.into_iter().collect(),
        dates: doc
            .keys
            .values()
            .filter(|value| looks_iso_date(value))
            .cloned()
            .collect(),
        keys: doc.keys.clone(),
        metadata: doc.metadata.clone(),
    }
}
