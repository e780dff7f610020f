//! Scans in the pipeline: the convert step of TIFF, JPEG and PNG documents.
//!
//! Each image page becomes a PDF page holding the image as it came (G4 as CCITT, JPEG as
//! DCT: see [`crate::image`]), at its real resolution, with an invisible text layer where the
//! OCR engine read the words, so the stored PDF is searchable and `pdftotext` gives the text.
//! Pages are recognised concurrently (at most `[ocr] parallel` at a time), each with its own
//! timeout: a page that times out fails the stage with a transient error naming the page, so
//! the document is retried and then quarantined with the reason, never stored without its
//! text. The OCR text (pages separated by form feeds) is what the rules read; every page's
//! mean word confidence is kept as metadata (`ocr.confidence`, `ocr.page_confidence`), and
//! the words with their positions in millimetres (`ocr.words`) for the rules' `zone_mm` keys.
//!
//! A batch is cut into letters at separator sheets (a `GREFFIER-SEP` barcode or QR code, and
//! blank pages when configured: see [`crate::separator`]). The sheets are dropped; each letter
//! is a part of the batch with its own PDF, text and words, waiting for `extract`, inserted
//! with the batch's `split` in one transaction like a burst print run. A separator whose
//! barcode carries a key (`CLIENT:CL004712`) gives it to the letter after it as
//! `separator.<key>` metadata, which a rule reads with `field = "separator.client_number"`.

use std::path::PathBuf;
use std::time::Duration;

use storage::{Document, NewPart, Status};

use crate::image::{
    image_pages, images_to_pdf, page_as_pnm, ImageError, ImageKind, ImageLimits, PlacedWord,
};
use crate::separator::{page_separator, parse_pnm_limited, Separator, SeparatorConfig};
use crate::stages::{Outcome, StageError};
use crate::Context;

/// How documents are OCR'd.
#[derive(Debug, Clone)]
pub struct OcrSettings {
    /// Tesseract languages, `fra+eng` by default.
    pub languages: String,
    /// One page's OCR may take this long; then the page fails (transient: retried).
    pub page_timeout: Duration,
    /// Pages recognised at once (each tesseract is single-threaded): the cores by default.
    pub parallel: usize,
    pub limits: ImageLimits,
    /// OCR the pages of PDFs that have no text layer (scans to PDF); born-digital pages never.
    pub pdf_pages: bool,
    /// Separator sheets that cut a scanned batch into letters; `None` keeps batches whole.
    pub separators: Option<SeparatorConfig>,
    /// Pages OCR reads badly (mean word confidence under 60, no words, or mostly words taller
    /// than wide) are checked for
    /// being upside down or sideways (tesseract OSD), turned upright and read again; the PDF
    /// shows them upright too, the image bytes untouched. Upright pages cost no extra pass.
    pub orientation: bool,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            languages: "fra+eng".into(),
            page_timeout: Duration::from_secs(120),
            parallel: ocr_hooks::default_parallelism(),
            limits: ImageLimits::default(),
            pdf_pages: true,
            separators: Some(SeparatorConfig::default()),
            orientation: true,
        }
    }
}

/// The words of an OCR'd page in millimetres from its top-left corner, from its pixels at
/// `dpi_x` × `dpi_y`: what the rules' `zone_mm` keys read. Stored per document as
/// `derived/<id>/words.json`, one list per page.
pub(crate) fn page_words_mm(page: &ocr_hooks::OcrPage, dpi_x: f32, dpi_y: f32) -> Vec<rules::Word> {
    let (mx, my) = (25.4 / dpi_x.max(1.0), 25.4 / dpi_y.max(1.0));
    page.words
        .iter()
        .map(|word| rules::Word {
            text: word.text.clone(),
            x_mm: word.left as f32 * mx,
            y_mm: word.top as f32 * my,
            width_mm: word.width as f32 * mx,
            height_mm: word.height as f32 * my,
            confidence: word.confidence,
        })
        .collect()
}

/// Stores the words of every page and points the document's `ocr.words` metadata at them.
pub(crate) async fn store_words(
    ctx: &Context,
    doc: &mut Document,
    pages: &[Vec<rules::Word>],
) -> Result<(), StageError> {
    let key = format!("derived/{}/words.json", doc.id);
    let json = serde_json::to_vec(pages)
        .map_err(|error| StageError::Permanent(format!("cannot write the ocr words: {error}")))?;
    ctx.blobs.put(&key, json).await?;
    doc.metadata.insert("ocr.words".into(), key);
    Ok(())
}

/// The OCR words of a document, one list per page, when it has any.
pub(crate) async fn load_words(
    ctx: &Context,
    doc: &Document,
) -> Result<Option<Vec<Vec<rules::Word>>>, StageError> {
    let Some(key) = doc.metadata.get("ocr.words") else {
        return Ok(None);
    };
    let bytes = ctx.blobs.get(key).await?;
    let pages = serde_json::from_slice(&bytes)
        .map_err(|error| StageError::Permanent(format!("ocr words unreadable: {error}")))?;
    Ok(Some(pages))
}

/// A page whose words OCR read with less mean confidence than this (or no words at all) is
/// checked for being upside down or sideways.
const DOUBTFUL_CONFIDENCE: f32 = 60.0;

/// Whether a page may be upside down or sideways: OCR found no words, read them with little
/// confidence, or found mostly words taller than wide (lines read down a page on its side).
fn read_badly(page: &ocr_hooks::OcrPage) -> bool {
    if page
        .mean_confidence()
        .is_none_or(|c| c < DOUBTFUL_CONFIDENCE)
    {
        return true;
    }
    let long: Vec<_> = page
        .words
        .iter()
        .filter(|w| w.text.chars().count() >= 3)
        .collect();
    let standing = long.iter().filter(|w| w.height > w.width).count();
    !long.is_empty() && standing * 2 > long.len()
}

fn kind_of(format: Option<&str>) -> Option<ImageKind> {
    match format {
        Some("tiff") => Some(ImageKind::Tiff),
        Some("jpeg") => Some(ImageKind::Jpeg),
        Some("png") => Some(ImageKind::Png),
        _ => None,
    }
}

/// Whether the convert step of this format is [`convert_scan`].
pub(crate) fn is_scan(format: Option<&str>) -> bool {
    kind_of(format).is_some()
}

/// One page of a scan once read: its OCR, or the separator it is.
struct ReadPage {
    separator: Option<Separator>,
    text: String,
    layer: Vec<PlacedWord>,
    words: Vec<rules::Word>,
    confidence: Option<f32>,
}

/// A run of pages between separator sheets: one document of the batch.
struct Letter {
    first: usize,
    last: usize,
    /// Keys the separator before it carried (`CLIENT:CL004712` → `client_number`).
    keys: Vec<(String, String)>,
}

/// Cuts the pages at separator sheets (which are dropped); no separator gives one letter.
fn letters(read: &[ReadPage]) -> Vec<Letter> {
    let mut letters = Vec::new();
    let mut first: Option<usize> = None;
    let mut keys = Vec::new();
    for (index, page) in read.iter().enumerate() {
        let Some(separator) = &page.separator else {
            first.get_or_insert(index);
            continue;
        };
        if let Some(start) = first.take() {
            letters.push(Letter {
                first: start,
                last: index - 1,
                keys: std::mem::take(&mut keys),
            });
        }
        keys.clear();
        if let Separator::Barcode { key: Some(key), .. } = separator {
            keys.push(key.clone());
        }
    }
    if let Some(start) = first {
        letters.push(Letter {
            first: start,
            last: read.len() - 1,
            keys,
        });
    }
    letters
}

/// The separator a page's grey bitmap is, when separators are on.
fn find_separator(
    pnm: &[u8],
    config: Option<&SeparatorConfig>,
    max_pixels: u64,
) -> Option<Separator> {
    let config = config?;
    let page = parse_pnm_limited(pnm, max_pixels).ok()?;
    page_separator(&page, config)
}

fn separator_label(separator: &Separator) -> String {
    match separator {
        Separator::Barcode { value, .. } => format!("barcode {value}"),
        Separator::Blank { ink_ratio } => format!("blank page (ink {:.2} %)", ink_ratio * 100.0),
    }
}

/// Turns an image document into a searchable PDF and its OCR text; a batch with separator
/// sheets becomes one document per letter.
pub(crate) async fn convert_scan(ctx: &Context, doc: &mut Document) -> Result<Outcome, StageError> {
    let Some(kind) = kind_of(doc.format.as_deref()) else {
        return Err(StageError::Permanent("not an image format".into()));
    };
    let key = doc
        .original_key
        .clone()
        .ok_or_else(|| StageError::Permanent("document has no stored original".into()))?;
    let settings = ctx.settings.ocr.clone();
    let bytes = std::sync::Arc::new(ctx.blobs.get(&key).await?);
    // A letter cut from a batch is never cut again.
    let separators = settings
        .separators
        .clone()
        .filter(|_| doc.parent_id.is_none());

    // The pages as PDF can hold them, a plain grey bitmap of each for the OCR engine, and
    // which pages are separator sheets.
    let work = tempfile::tempdir()?;
    let dir = work.path().to_path_buf();
    let (pages, bitmaps, mut found, unreadable) = {
        let bytes = bytes.clone();
        let dir = dir.clone();
        let separators = separators.clone();
        let limits = settings.limits.clone();
        crate::stages::blocking("image reader", move || {
            let pages = image_pages(&bytes, kind, &limits)
                .map_err(|error| StageError::Permanent(format!("unreadable image: {error}")))?;
            let mut bitmaps: Vec<PathBuf> = Vec::with_capacity(pages.len());
            let mut found: Vec<Option<Separator>> = Vec::with_capacity(pages.len());
            let mut unreadable: Vec<usize> = Vec::new();
            for index in 0..pages.len() {
                let path = dir.join(format!("page-{:05}.pnm", index + 1));
                match page_as_pnm(&bytes, kind, index, &limits) {
                    Ok(pnm) => {
                        found.push(find_separator(&pnm, separators.as_ref(), limits.max_pixels));
                        std::fs::write(&path, pnm)?;
                    }
                    // A page only PDF readers decode (2-D G3): rendered from its own PDF below.
                    Err(ImageError::Unsupported { .. }) => {
                        found.push(None);
                        unreadable.push(index);
                    }
                    Err(error) => {
                        return Err(StageError::Permanent(format!(
                            "page {}: {error}",
                            index + 1
                        )))
                    }
                }
                bitmaps.push(path);
            }
            Ok((pages, bitmaps, found, unreadable))
        })
        .await?
    };
    if pages.is_empty() {
        return Err(StageError::Permanent("image has no page".into()));
    }
    for &index in &unreadable {
        let pdf = dir.join(format!("page-{:05}.pdf", index + 1));
        let page = pages[index].clone();
        let one_page = crate::stages::blocking("pdf writer", move || {
            images_to_pdf(std::slice::from_ref(&page), None)
                .map_err(|error| StageError::Permanent(format!("page {}: {error}", index + 1)))
        })
        .await?;
        tokio::fs::write(&pdf, one_page).await?;
        let dpi = pages[index].dpi_x.max(pages[index].dpi_y).round() as u32;
        crate::pdfocr::render_page(&pdf, 1, dpi, settings.page_timeout, &bitmaps[index]).await?;
        let pnm = tokio::fs::read(&bitmaps[index]).await?;
        let (config, max_pixels) = (separators.clone(), settings.limits.max_pixels);
        found[index] = crate::stages::blocking("separator finder", move || {
            Ok(find_separator(&pnm, config.as_ref(), max_pixels))
        })
        .await?;
    }

    // OCR every page but the separators, several at once.
    let readable: Vec<usize> = (0..pages.len())
        .filter(|&index| found[index].is_none())
        .collect();
    let paths: Vec<PathBuf> = readable
        .iter()
        .map(|&index| bitmaps[index].clone())
        .collect();
    let mut results = ocr_hooks::recognize_pages(
        ctx.ocr.as_ref(),
        &paths,
        &settings.languages,
        settings.page_timeout,
        settings.parallel.max(1),
    )
    .await;

    // Pages scanned upside down or sideways read badly: only those are checked (tesseract
    // OSD), turned upright and read again, so an upright batch costs no extra pass.
    let mut pages = pages;
    if settings.orientation {
        let skip: Vec<bool> = (0..pages.len())
            .map(|index| match readable.iter().position(|&i| i == index) {
                Some(position) => !matches!(&results[position], Ok(page) if read_badly(page)),
                None => true,
            })
            .collect();
        let turns = orientations(ctx, &bitmaps, &skip, &settings).await;
        let mut turned: Vec<usize> = Vec::new();
        for (index, turn) in turns.into_iter().enumerate() {
            if turn == 0 {
                continue;
            }
            let path = bitmaps[index].clone();
            let max_pixels = settings.limits.max_pixels;
            crate::stages::blocking("page turner", move || {
                let bytes = std::fs::read(&path)?;
                let upright = turn_pnm(&bytes, turn, max_pixels).map_err(|error| {
                    StageError::Permanent(format!("page {}: {error}", index + 1))
                })?;
                std::fs::write(&path, upright)?;
                Ok(())
            })
            .await?;
            if let Some(page) = pages.get_mut(index) {
                page.rotate = turn;
            }
            turned.push(index);
        }
        let again: Vec<PathBuf> = turned.iter().map(|&index| bitmaps[index].clone()).collect();
        let reread = ocr_hooks::recognize_pages(
            ctx.ocr.as_ref(),
            &again,
            &settings.languages,
            settings.page_timeout,
            settings.parallel.max(1),
        )
        .await;
        for (index, result) in turned.into_iter().zip(reread) {
            if let Some(position) = readable.iter().position(|&i| i == index) {
                results[position] = result;
            }
        }
    }
    let mut results = results.into_iter();
    let mut read: Vec<ReadPage> = Vec::with_capacity(pages.len());
    for (index, separator) in found.into_iter().enumerate() {
        if separator.is_some() {
            read.push(ReadPage {
                separator,
                text: String::new(),
                layer: Vec::new(),
                words: Vec::new(),
                confidence: None,
            });
            continue;
        }
        let Some(result) = results.next() else {
            return Err(StageError::Transient(format!(
                "ocr gave no result for page {}",
                index + 1
            )));
        };
        let page = result.map_err(|error| {
            let message = format!("ocr of page {}: {error}", index + 1);
            if error.is_transient() {
                StageError::Transient(message)
            } else {
                StageError::Permanent(message)
            }
        })?;
        // The engine saw the bitmap we gave it: its pixels are the image's pixels.
        // Turned pages were read upright: on its side, the axes' resolutions swap.
        let (dpi_x, dpi_y) = pages.get(index).map_or((300.0, 300.0), |image| {
            if image.sideways() {
                (image.dpi_y, image.dpi_x)
            } else {
                (image.dpi_x, image.dpi_y)
            }
        });
        read.push(ReadPage {
            separator: None,
            words: page_words_mm(&page, dpi_x, dpi_y),
            layer: page
                .words
                .iter()
                .map(|word| PlacedWord {
                    text: word.text.clone(),
                    left: word.left as f32,
                    top: word.top as f32,
                    width: word.width as f32,
                    height: word.height as f32,
                })
                .collect(),
            confidence: page.mean_confidence(),
            text: page.text(),
        });
    }

    let mut events = vec![format!(
        "{} scanned pages read (ocr {}, {})",
        pages.len(),
        ctx.ocr.name(),
        settings.languages
    )];
    for (index, page) in pages.iter().enumerate() {
        if page.rotate != 0 {
            events.push(format!(
                "page {} turned {}° to stand upright",
                index + 1,
                page.rotate
            ));
        }
    }
    for (index, page) in read.iter().enumerate() {
        if let Some(separator) = &page.separator {
            events.push(format!(
                "page {} is a separator: {}",
                index + 1,
                separator_label(separator)
            ));
        }
    }
    let letters = letters(&read);
    if letters.is_empty() {
        return Err(StageError::Permanent(
            "the batch holds only separator sheets".into(),
        ));
    }
    let pages = std::sync::Arc::new(pages);
    let read = std::sync::Arc::new(read);

    // One letter: the document itself.
    if letters.len() == 1 && read.iter().all(|page| page.separator.is_none()) {
        let (pdf, text, words) =
            letter_outputs(pages.clone(), read.clone(), 0, read.len() - 1).await?;
        let pdf_key = format!("derived/{}/document.pdf", doc.id);
        let text_key = format!("derived/{}/text.txt", doc.id);
        ctx.blobs.put(&pdf_key, pdf).await?;
        ctx.blobs.put(&text_key, text.into_bytes()).await?;
        doc.pdf_key = Some(pdf_key);
        doc.text_key = Some(text_key);
        doc.pages = i64::try_from(read.len()).ok();
        store_words(ctx, doc, &words).await?;
        confidence_metadata(
            &mut doc.metadata,
            read.iter().map(|page| page.confidence),
            &mut events,
        );
        events.push("searchable pdf: the scan with its ocr words laid over it".into());
        return Ok(Outcome {
            events,
            ..Outcome::default()
        });
    }

    // A batch: one document per letter, the separators dropped.
    let mut parts = Vec::with_capacity(letters.len());
    for (position, letter) in letters.iter().enumerate() {
        let index = position + 1;
        let (pdf, text, words) =
            letter_outputs(pages.clone(), read.clone(), letter.first, letter.last).await?;
        let base = format!("derived/{}/part-{index:05}", doc.id);
        let (pdf_key, text_key, words_key) = (
            format!("{base}.pdf"),
            format!("{base}.txt"),
            format!("{base}.words.json"),
        );
        ctx.blobs.put(&pdf_key, pdf).await?;
        ctx.blobs.put(&text_key, text.into_bytes()).await?;
        let json = serde_json::to_vec(&words).map_err(|error| {
            StageError::Permanent(format!("cannot write the ocr words: {error}"))
        })?;
        ctx.blobs.put(&words_key, json).await?;
        let mut metadata = doc.metadata.clone();
        metadata.insert("ocr.words".into(), words_key);
        metadata.insert("scan.letter".into(), index.to_string());
        for (name, value) in &letter.keys {
            metadata.insert(format!("separator.{name}"), value.clone());
        }
        let mut ignored = Vec::new();
        confidence_metadata(
            &mut metadata,
            read[letter.first..=letter.last]
                .iter()
                .map(|page| page.confidence),
            &mut ignored,
        );
        events.push(format!(
            "letter {index}: pages {}-{}{}",
            letter.first + 1,
            letter.last + 1,
            if letter.keys.is_empty() {
                String::new()
            } else {
                let keys: Vec<String> = letter
                    .keys
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(" ({})", keys.join(", "))
            }
        ));
        parts.push(NewPart {
            index,
            page_first: i64::try_from(letter.first + 1).ok(),
            page_last: i64::try_from(letter.last + 1).ok(),
            pdf_key: Some(pdf_key),
            text_key: Some(text_key),
            metadata,
            stage: "extract".into(),
            ..NewPart::default()
        });
    }
    doc.pages = i64::try_from(read.len()).ok();
    events.push(format!(
        "batch cut into {} letters at separator sheets",
        parts.len()
    ));
    Ok(Outcome::split(Status::Split, events, parts))
}

/// How far each page must turn clockwise to stand upright (0 for skipped pages, pages the
/// engine cannot tell, and unsure answers). A failed detection is logged, never fatal: the page is
/// then read as it is.
async fn orientations(
    ctx: &Context,
    bitmaps: &[PathBuf],
    skip: &[bool],
    settings: &OcrSettings,
) -> Vec<u16> {
    use futures::StreamExt;
    /// Below this, tesseract's orientation guess is not trusted.
    const MIN_CONFIDENCE: f32 = 2.0;
    let mut jobs: Vec<futures::future::BoxFuture<'_, u16>> = Vec::with_capacity(bitmaps.len());
    for (index, (path, &skip)) in bitmaps.iter().zip(skip).enumerate() {
        jobs.push(Box::pin(async move {
            if skip {
                return 0;
            }
            match ctx.ocr.orientation(path, settings.page_timeout).await {
                Ok(Some(found)) if found.confidence >= MIN_CONFIDENCE => found.rotate % 360,
                Ok(_) => 0,
                Err(error) => {
                    tracing::warn!(page = index + 1, %error, "page orientation not detected");
                    0
                }
            }
        }));
    }
    futures::stream::iter(jobs)
        .buffered(settings.parallel.max(1))
        .collect()
        .await
}

/// A grey PNM page turned `degrees` clockwise (90, 180 or 270), as 8-bit PNM (P5).
fn turn_pnm(bytes: &[u8], degrees: u16, max_pixels: u64) -> Result<Vec<u8>, String> {
    let page = parse_pnm_limited(bytes, max_pixels).map_err(|error| error.to_string())?;
    let (width, height) = (page.width as usize, page.height as usize);
    let pixel = |x: usize, y: usize| page.pixels[y * width + x];
    let (out_width, out_height) = match degrees {
        90 | 270 => (height, width),
        _ => (width, height),
    };
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..out_height {
        for x in 0..out_width {
            pixels.push(match degrees {
                // Clockwise: the new row y is the old column y, read bottom to top.
                90 => pixel(y, height - 1 - x),
                180 => pixel(width - 1 - x, height - 1 - y),
                270 => pixel(width - 1 - y, x),
                _ => pixel(x, y),
            });
        }
    }
    let mut out = format!("P5\n{out_width} {out_height}\n255\n").into_bytes();
    out.extend_from_slice(&pixels);
    Ok(out)
}

/// The searchable PDF, the text and the words of pages `first..=last`.
async fn letter_outputs(
    pages: std::sync::Arc<Vec<crate::image::ImagePage>>,
    read: std::sync::Arc<Vec<ReadPage>>,
    first: usize,
    last: usize,
) -> Result<(Vec<u8>, String, Vec<Vec<rules::Word>>), StageError> {
    crate::stages::blocking("pdf writer", move || {
        let range = first..=last;
        let layers: Vec<Vec<PlacedWord>> = read[range.clone()]
            .iter()
            .map(|page| page.layer.clone())
            .collect();
        let pdf = images_to_pdf(&pages[range.clone()], Some(&layers))
            .map_err(|error| StageError::Permanent(format!("cannot write the pdf: {error}")))?;
        let text = read[range.clone()]
            .iter()
            .map(|page| page.text.as_str())
            .collect::<Vec<_>>()
            .join("\x0c");
        let words = read[range].iter().map(|page| page.words.clone()).collect();
        Ok((pdf, text, words))
    })
    .await
}

/// `ocr.confidence` (mean of the pages') and `ocr.page_confidence` (each page's).
fn confidence_metadata(
    metadata: &mut std::collections::BTreeMap<String, String>,
    confidences: impl Iterator<Item = Option<f32>>,
    events: &mut Vec<String>,
) {
    let confidences: Vec<Option<f32>> = confidences.collect();
    let known: Vec<f32> = confidences.iter().flatten().copied().collect();
    if !known.is_empty() {
        let mean = known.iter().sum::<f32>() / known.len() as f32;
        metadata.insert("ocr.confidence".into(), format!("{mean:.1}"));
        events.push(format!("ocr mean word confidence {mean:.1}"));
    }
    let per_page: Vec<String> = confidences
        .iter()
        .map(|confidence| confidence.map_or("-".to_string(), |c| format!("{c:.0}")))
        .collect();
    metadata.insert("ocr.page_confidence".into(), per_page.join(" "));
    let blank = confidences.iter().filter(|c| c.is_none()).count();
    if blank > 0 {
        events.push(format!("{blank} pages have no text the ocr could read"));
    }
}
