//! Image-only PDF pages (what a copier's "scan to PDF" makes): each page without a text
//! layer is rendered to a grey bitmap (`pdftoppm`, run through `ocr-hooks` with a timeout),
//! OCR'd, and its words are laid over the page as an invisible text layer in a copy of the
//! PDF; the original stays untouched. Pages that already have text (born-digital) are never
//! OCR'd.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use lopdf::{dictionary, Dictionary, Object, ObjectId, Stream};
use ocr_hooks::{CommandSpec, OcrPage};

use crate::stages::StageError;
use crate::Context;

/// The resolution pages are rendered at for OCR.
const RENDER_DPI: u32 = 300;

/// What OCR made of a PDF's pages without text.
pub(crate) struct PdfOcr {
    /// The OCR text of each page it read, by 0-based page index.
    pub texts: BTreeMap<usize, String>,
    /// The mean word confidence of each page it read.
    pub confidences: BTreeMap<usize, Option<f32>>,
    /// The words of each page it read, in millimetres from the page's top-left corner.
    pub words: BTreeMap<usize, Vec<rules::Word>>,
    /// A copy of the PDF with the invisible text layer; `None` when no page could carry it
    /// (all rotated, say), in which case the text is still used.
    pub searchable: Option<Vec<u8>>,
    /// Pages whose words could not be laid over them, with why.
    pub skipped: Vec<String>,
}

fn hook_error(what: String, error: ocr_hooks::HookError) -> StageError {
    let message = format!("{what}: {error}");
    if error.is_transient() {
        StageError::Transient(message)
    } else {
        StageError::Permanent(message)
    }
}

/// OCRs the given pages (0-based) of a PDF and lays their words over them.
pub(crate) async fn ocr_pdf_pages(
    ctx: &Context,
    pdf: Arc<Vec<u8>>,
    pages: &[usize],
) -> Result<PdfOcr, StageError> {
    let settings = &ctx.settings.ocr;
    let work = tempfile::tempdir()?;
    let input = work.path().join("input.pdf");
    tokio::fs::write(&input, pdf.as_slice()).await?;
    let mut bitmaps: Vec<PathBuf> = Vec::with_capacity(pages.len());
    for &page in pages {
        let bitmap = work.path().join(format!("page-{:05}.pgm", page + 1));
        render_page(&input, page + 1, RENDER_DPI, settings.page_timeout, &bitmap).await?;
        bitmaps.push(bitmap);
    }
    let results = ocr_hooks::recognize_pages(
        ctx.ocr.as_ref(),
        &bitmaps,
        &settings.languages,
        settings.page_timeout,
        settings.parallel.max(1),
    )
    .await;
    let mut read: Vec<(usize, OcrPage)> = Vec::with_capacity(pages.len());
    for (result, &page) in results.into_iter().zip(pages) {
        let ocr = result.map_err(|error| hook_error(format!("ocr of page {}", page + 1), error))?;
        read.push((page, ocr));
    }
    let mut texts = BTreeMap::new();
    let mut confidences = BTreeMap::new();
    let mut words = BTreeMap::new();
    for (page, ocr) in &read {
        texts.insert(*page, ocr.text());
        confidences.insert(*page, ocr.mean_confidence());
        let dpi = RENDER_DPI as f32;
        words.insert(*page, crate::scan::page_words_mm(ocr, dpi, dpi));
    }
    let (searchable, skipped) = crate::stages::blocking("pdf text layer", move || {
        overlay(&pdf, &read).map_err(|reason| {
            StageError::Permanent(format!("cannot add the ocr text layer: {reason}"))
        })
    })
    .await?;
    Ok(PdfOcr {
        texts,
        confidences,
        words,
        searchable,
        skipped,
    })
}

/// Renders page `number` (1-based) of a PDF file to a grey PNM at `dpi` with poppler's
/// `pdftoppm`, through `ocr-hooks` (its own process group, killed at `timeout`).
pub(crate) async fn render_page(
    pdf: &std::path::Path,
    number: usize,
    dpi: u32,
    timeout: std::time::Duration,
    bitmap: &std::path::Path,
) -> Result<(), StageError> {
    let (number, dpi) = (number.to_string(), dpi.to_string());
    // Without an output root, pdftoppm writes the one page to stdout: the output file.
    let spec = CommandSpec::new(
        "pdftoppm",
        ["-r", &dpi, "-gray", "-f", &number, "-l", &number, "{input}"],
    )
    .with_timeout(timeout);
    ocr_hooks::run_files(&spec, pdf, bitmap)
        .await
        .map_err(|error| hook_error(format!("rendering page {number}"), error))?;
    Ok(())
}

fn number(object: &Object) -> Option<f32> {
    match object {
        Object::Integer(value) => Some(*value as f32),
        Object::Real(value) => Some(*value),
        _ => None,
    }
}

/// A page attribute, looked up through the page tree (MediaBox, CropBox, Rotate and
/// Resources are inheritable).
fn inherited(doc: &lopdf::Document, page: ObjectId, name: &[u8]) -> Option<Object> {
    let mut current = page;
    for _ in 0..64 {
        let dict = doc.get_dictionary(current).ok()?;
        if let Ok(value) = dict.get(name) {
            return Some(value.clone());
        }
        current = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn resolve(doc: &lopdf::Document, object: Object) -> Object {
    match object {
        Object::Reference(id) => doc.get_object(id).cloned().unwrap_or(Object::Null),
        other => other,
    }
}

fn page_box(doc: &lopdf::Document, page: ObjectId) -> Option<[f32; 4]> {
    let object = inherited(doc, page, b"CropBox").or_else(|| inherited(doc, page, b"MediaBox"))?;
    let Object::Array(values) = resolve(doc, object) else {
        return None;
    };
    let numbers: Vec<f32> = values.iter().filter_map(number).collect();
    let [x0, y0, x1, y1] = numbers.as_slice() else {
        return None;
    };
    Some([x0.min(*x1), y0.min(*y1), x0.max(*x1), y0.max(*y1)])
}

/// The invisible words of one page, in its user space (pixels at [`RENDER_DPI`] from the
/// top-left of its crop box).
fn text_operators(ocr: &OcrPage, crop: [f32; 4]) -> String {
    let scale = 72.0 / RENDER_DPI as f32;
    let mut content = String::from("q BT 3 Tr\n");
    crate::image::invisible_words(
        &mut content,
        "GreffierOcr",
        ocr.words.iter().map(|word| crate::image::WordBox {
            text: &word.text,
            left: crop[0] + word.left as f32 * scale,
            bottom: crop[3] - (word.top + word.height) as f32 * scale,
            width: word.width as f32 * scale,
            height: word.height as f32 * scale,
        }),
    );
    content.push_str("ET Q\n");
    content
}

/// A copy of the PDF with each OCR'd page's words laid over it, invisibly.
fn overlay(
    pdf: &[u8],
    read: &[(usize, OcrPage)],
) -> Result<(Option<Vec<u8>>, Vec<String>), String> {
    let mut doc =
        lopdf::Document::load_mem(pdf).map_err(|error| error.to_string().to_lowercase())?;
    let page_ids: Vec<ObjectId> = doc.get_pages().into_values().collect();
    let font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Courier",
        "Encoding" => "WinAnsiEncoding",
    });
    let mut skipped = Vec::new();
    let mut laid = 0;
    for (page, ocr) in read {
        let Some(&page_id) = page_ids.get(*page) else {
            skipped.push(format!("page {} is not in the pdf", page + 1));
            continue;
        };
        let rotate = inherited(&doc, page_id, b"Rotate")
            .and_then(|value| number(&resolve(&doc, value)))
            .unwrap_or(0.0);
        if rotate.rem_euclid(360.0) != 0.0 {
            skipped.push(format!(
                "page {} is turned {rotate}°: its text is used, not laid over it",
                page + 1
            ));
            continue;
        }
        let Some(crop) = page_box(&doc, page_id) else {
            skipped.push(format!("page {} has no page box", page + 1));
            continue;
        };
        let mut resources = match inherited(&doc, page_id, b"Resources").map(|r| resolve(&doc, r)) {
            Some(Object::Dictionary(resources)) => resources,
            _ => Dictionary::new(),
        };
        let mut fonts = match resources.get(b"Font").cloned().map(|f| resolve(&doc, f)) {
            Ok(Object::Dictionary(fonts)) => fonts,
            _ => Dictionary::new(),
        };
        fonts.set("GreffierOcr", font);
        resources.set("Font", fonts);
        let layer = doc.add_object(Stream::new(
            Dictionary::new(),
            text_operators(ocr, crop).into_bytes(),
        ));
        let page_dict = doc
            .get_object_mut(page_id)
            .and_then(Object::as_dict_mut)
            .map_err(|error| error.to_string().to_lowercase())?;
        let contents = match page_dict.get(b"Contents").cloned() {
            Ok(Object::Array(mut streams)) => {
                streams.push(Object::Reference(layer));
                Object::Array(streams)
            }
            Ok(existing @ Object::Reference(_)) => {
                Object::Array(vec![existing, Object::Reference(layer)])
            }
            _ => Object::Array(vec![Object::Reference(layer)]),
        };
        page_dict.set("Contents", contents);
        page_dict.set("Resources", resources);
        laid += 1;
    }
    if laid == 0 {
        return Ok((None, skipped));
    }
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|error| error.to_string().to_lowercase())?;
    Ok((Some(out), skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_map_from_render_pixels_to_the_crop_box() {
        let page = OcrPage {
            width: 2480,
            height: 3508,
            words: vec![ocr_hooks::OcrWord {
                text: "Facture".into(),
                left: 300,
                top: 600,
                width: 420,
                height: 60,
                confidence: 95.0,
                block: 1,
                paragraph: 1,
                line: 1,
            }],
        };
        let ops = text_operators(&page, [0.0, 0.0, 595.0, 842.0]);
        // 300 px at 300 dpi = 72 pt from the left; the word's bottom 660 px = 158.4 pt down.
        assert!(ops.contains(" 72.000 "), "{ops}");
        assert!(ops.contains("3 Tr"));
        assert!(ops.contains("<46616374757265> Tj"), "{ops}");
    }

    #[test]
    fn a_pdf_that_cannot_be_read_is_an_error_not_a_panic() {
        assert!(overlay(b"%PDF-1.4 garbage", &[]).is_err());
    }
}
