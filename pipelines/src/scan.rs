//! Scans in the pipeline: the convert step of TIFF, JPEG and PNG documents.
//!
//! Each image page becomes a PDF page holding the image as it came (G4 as CCITT, JPEG as
//! DCT: see [`crate::image`]), at its real resolution, with an invisible text layer where the
//! OCR engine read the words, so the stored PDF is searchable and `pdftotext` gives the text.
//! Pages are recognised concurrently (at most `[ocr] parallel` at a time), each with its own
//! timeout: a page that times out fails the stage with a transient error naming the page, so
//! the document is retried and then quarantined with the reason, never stored without its
//! text. The OCR text (pages separated by form feeds) is what the rules read; every page's
//! mean word confidence is kept as metadata (`ocr.confidence`, `ocr.page_confidence`).

use std::path::PathBuf;
use std::time::Duration;

use storage::Document;

use crate::image::{image_pages, images_to_pdf, page_as_pnm, ImageKind, ImageLimits, PlacedWord};
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
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            languages: "fra+eng".into(),
            page_timeout: Duration::from_secs(120),
            parallel: ocr_hooks::default_parallelism(),
            limits: ImageLimits::default(),
            pdf_pages: true,
        }
    }
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

/// Turns an image document into a searchable PDF and its OCR text.
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

    // The pages as PDF can hold them, and a plain grey bitmap of each for the OCR engine.
    let work = tempfile::tempdir()?;
    let dir = work.path().to_path_buf();
    let (pages, bitmaps) = {
        let bytes = bytes.clone();
        let limits = settings.limits.clone();
        crate::stages::blocking("image reader", move || {
            let pages = image_pages(&bytes, kind, &limits)
                .map_err(|error| StageError::Permanent(format!("unreadable image: {error}")))?;
            let mut bitmaps: Vec<PathBuf> = Vec::with_capacity(pages.len());
            for index in 0..pages.len() {
                let pnm = page_as_pnm(&bytes, kind, index, &limits).map_err(|error| {
                    StageError::Permanent(format!("page {}: {error}", index + 1))
                })?;
                let path = dir.join(format!("page-{:05}.pnm", index + 1));
                std::fs::write(&path, pnm)?;
                bitmaps.push(path);
            }
            Ok((pages, bitmaps))
        })
        .await?
    };
    if pages.is_empty() {
        return Err(StageError::Permanent("image has no page".into()));
    }

    let results = ocr_hooks::recognize_pages(
        ctx.ocr.as_ref(),
        &bitmaps,
        &settings.languages,
        settings.page_timeout,
        settings.parallel.max(1),
    )
    .await;
    let mut texts = Vec::with_capacity(results.len());
    let mut layers: Vec<Vec<PlacedWord>> = Vec::with_capacity(results.len());
    let mut confidences = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        let page = result.map_err(|error| {
            let message = format!("ocr of page {}: {error}", index + 1);
            if error.is_transient() {
                StageError::Transient(message)
            } else {
                StageError::Permanent(message)
            }
        })?;
        // The engine saw the bitmap we gave it: its pixels are the image's pixels.
        layers.push(
            page.words
                .iter()
                .map(|word| PlacedWord {
                    text: word.text.clone(),
                    left: word.left as f32,
                    top: word.top as f32,
                    width: word.width as f32,
                    height: word.height as f32,
                })
                .collect(),
        );
        confidences.push(page.mean_confidence());
        texts.push(page.text());
    }

    let pdf = crate::stages::blocking("pdf writer", move || {
        images_to_pdf(&pages, Some(&layers))
            .map_err(|error| StageError::Permanent(format!("cannot write the pdf: {error}")))
    })
    .await?;
    let page_count = texts.len();
    let pdf_key = format!("derived/{}/document.pdf", doc.id);
    let text_key = format!("derived/{}/text.txt", doc.id);
    ctx.blobs.put(&pdf_key, pdf).await?;
    ctx.blobs.put(&text_key, texts.join("\x0c").into_bytes()).await?;
    doc.pdf_key = Some(pdf_key);
    doc.text_key = Some(text_key);
    doc.pages = i64::try_from(page_count).ok();

    let known: Vec<f32> = confidences.iter().flatten().copied().collect();
    let mut events = vec![format!(
        "{page_count} scanned pages made a searchable pdf (ocr {}, {})",
        ctx.ocr.name(),
        settings.languages
    )];
    if !known.is_empty() {
        let mean = known.iter().sum::<f32>() / known.len() as f32;
        doc.metadata
            .insert("ocr.confidence".into(), format!("{mean:.1}"));
        events.push(format!("ocr mean word confidence {mean:.1}"));
    }
    let per_page: Vec<String> = confidences
        .iter()
        .map(|confidence| confidence.map_or("-".to_string(), |c| format!("{c:.0}")))
        .collect();
    doc.metadata
        .insert("ocr.page_confidence".into(), per_page.join(" "));
    let blank = confidences.iter().filter(|c| c.is_none()).count();
    if blank > 0 {
        events.push(format!("{blank} pages have no text the ocr could read"));
    }
    Ok(Outcome {
        events,
        ..Outcome::default()
    })
}
