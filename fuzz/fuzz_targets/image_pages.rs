//! Untrusted bytes → `pipelines::image::image_pages` as TIFF, JPEG and PNG (the first byte
//! picks), then the PDF of the pages and one page's OCR bitmap, with small limits so a
//! claimed huge page is refused rather than decoded. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::image::{image_pages, images_to_pdf, page_as_pnm, ImageKind, ImageLimits};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = match selector % 3 {
        0 => ImageKind::Tiff,
        1 => ImageKind::Jpeg,
        _ => ImageKind::Png,
    };
    let limits = ImageLimits {
        max_pixels: 4_000_000,
        max_pages: 16,
    };
    if let Ok(pages) = image_pages(bytes, kind, &limits) {
        let _ = images_to_pdf(&pages, None);
    }
    let _ = page_as_pnm(bytes, kind, 0, &limits);
});
