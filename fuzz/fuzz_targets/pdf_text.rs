//! Untrusted bytes → `pipelines::pdftext::pdf_pages_text` (lopdf), the text stage's reader for
//! PDFs. Errors are fine; panics, hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pages) = pipelines::pdftext::pdf_pages_text(data) {
        assert!(!pages.is_empty(), "Ok with no pages");
    }
});
