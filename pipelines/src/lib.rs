//! The pipeline: the stages a document goes through after capture, and the workers that run
//! them off the documents queue.
//!
//! ```text
//! detect → dedupe → convert → text → extract → attach → index → filed | review
//! ```
//!
//! # Delivery guarantee
//!
//! At least once per stage, exactly once in effect. A worker claims a document with a lease,
//! runs one stage, and commits the stage's columns, its audit events and the next stage in
//! one transaction while it still holds the lease. A crash anywhere means the lease expires
//! and the stage runs again, so every stage is idempotent: derived blobs are keyed by
//! document id (overwritten, never duplicated), dedupe is deterministic, attachments are
//! upserts, the index deletes by id before adding.
//!
//! # Adding a stage
//!
//! Write a struct implementing [`Stage`] in `stages.rs`, and add it to [`Plan::standard`]:
//! that list is the only registration point.
//!
//! # Layout
//!
//! - `detect`: format detection by content ([`Format`], [`detect()`](detect::detect))
//! - `afp`: AFP (MO:DCA) print runs to PDF: structured fields, PTOCA text, IOCA images, page groups
//! - `charset`: UTF-8, Windows-1252 and EBCDIC decoding, code page guessing
//! - `ebcdic_tables`: EBCDIC tables generated from iconv (do not edit)
//! - `spool`: the page model and the streaming line-spool paginator (FCFC, form feeds, records)
//! - `scs`: the streaming SCS interpreter (IBM i printer data stream) into the page model
//! - `convert`: spool → PDF + text per document, cutting print runs with burst rules
//! - `explode`: the convert step of mails: one document per attachment, the mail indexed
//! - `pdf`: the streaming PDF writer for spool pages
//! - `pdftext`: the text layer of PDFs through lopdf
//! - `pdfocr`: OCR of PDF pages without a text layer, the words laid over a copy of the PDF
//! - `scan`: the convert step of scans: a searchable PDF (image + invisible OCR text) per image
//! - `stages`: the [`Stage`] trait, [`Plan`], and each stage
//! - `worker`: [`Worker`]: claim, run with a timeout, commit, retry with backoff, quarantine
//! - `mail`: e-mail explode (pure): headers, body text, attachments (TNEF, forwarded, limits)
//! - `image`: scanned images (TIFF, JPEG, PNG) to PDF pages, CCITT and JPEG kept as they are
//! - `separator`: separator sheets (barcode, QR code or blank page) in a scanned batch (pure)

pub mod afp;
pub mod charset;
pub mod convert;
pub mod detect;
pub mod ebcdic_tables;
mod explode;
pub mod image;
pub mod mail;
pub mod pdf;
mod pdfocr;
pub mod pdftext;
mod scan;
pub mod scs;
pub mod separator;
pub mod spool;
mod stages;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use detect::{Format, SpoolHints};
pub use explode::{BodyDocument, MailSettings};
pub use scan::OcrSettings;
pub use stages::index_doc;
pub use stages::{Outcome, Plan, Stage, StageError};
pub use worker::Worker;

/// Converts a line spool to a PDF file and a laid-out text file, streaming. Returns the
/// pages. The bench and `greffier` share this path with the convert stage.
pub fn convert_spool_file(
    input: &std::path::Path,
    layout: &spool::SpoolLayout,
    pdf_out: &std::path::Path,
    text_out: &std::path::Path,
) -> Result<usize, convert::ConvertError> {
    let work = tempfile::tempdir_in(pdf_out.parent().unwrap_or(std::path::Path::new(".")))?;
    let renderer = convert::Renderer::Text {
        layout: *layout,
        format: spool::PageFormat::default(),
    };
    let converted = convert::convert_run(input, &renderer, None, work.path(), |part| {
        convert::save_part_bytes(part.pdf, pdf_out)?;
        convert::save_part_bytes(part.text, text_out)
    })?;
    Ok(converted.pages)
}

/// Limits and timings of the pipeline.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Larger originals are quarantined (they are kept, never deleted).
    pub max_document_bytes: u64,
    /// How much text the rules and the index see of one document.
    pub max_text_bytes: u64,
    pub lease: Duration,
    pub stage_timeout: Duration,
    pub max_attempts: i64,
    /// Spool defaults when neither the bytes nor the source say.
    pub spool_defaults: SpoolHints,
    /// Per-source spool hints (`ccsid`, `record_length`, page size), by source name.
    pub source_hints: HashMap<String, SpoolHints>,
    /// How long an idle worker waits before looking at the queue again.
    pub poll_interval: Duration,
    /// How mails are cut into documents: limits, inline parts, the body.
    pub mail: MailSettings,
    /// How scans are read: languages, per-page timeout, pages at once, image limits.
    pub ocr: OcrSettings,
    /// How AFP runs are read: the resource folder, what a missing resource means.
    pub afp: AfpSettings,
}

/// How AFP runs are read.
#[derive(Debug, Clone)]
pub struct AfpSettings {
    /// Overlays and page segments the runs do not carry inline, as AFP files named after
    /// them (`O1INVBG1`, `O1INVBG1.afp`, `.ovl`, `.psg`).
    pub resource_dir: Option<std::path::PathBuf>,
    /// A document drawn without one of its resources goes to review with the warning
    /// ("missing overlay O1INVBG1"); else it is only recorded and shown.
    pub review_missing_resources: bool,
}

impl Default for AfpSettings {
    fn default() -> Self {
        AfpSettings {
            resource_dir: None,
            review_missing_resources: true,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_document_bytes: 256 << 20,
            max_text_bytes: 16 << 20,
            lease: Duration::from_secs(120),
            stage_timeout: Duration::from_secs(100),
            max_attempts: 5,
            spool_defaults: SpoolHints::default(),
            source_hints: HashMap::new(),
            poll_interval: Duration::from_millis(100),
            mail: MailSettings::default(),
            ocr: OcrSettings::default(),
            afp: AfpSettings::default(),
        }
    }
}

/// What every stage can use.
pub struct Context {
    pub db: storage::Db,
    pub blobs: storage::Blobs,
    pub index: Arc<storage::SearchIndex>,
    pub rules: Arc<rules::RuleSet>,
    /// The OCR engine scans are read with (tesseract by default, or a command hook).
    pub ocr: Arc<dyn ocr_hooks::OcrEngine>,
    pub settings: Settings,
}
