//! Untrusted AFP (MO:DCA) bytes → `pipelines::afp::render` → every page through
//! `AfpPdfWriter` into a Vec and `AfpPage::text`, the convert stage's AFP path without the
//! files. Never panics: a damaged run is an `AfpError`, never a crash, a hang or unbounded
//! memory.
//!
//! Input: the whole run as is (seeds are real AFP files). Images are decoded with small
//! limits (4 Mpx, 16 pages) so a claimed huge image is refused rather than decoded.
//! Checks what the sink sees against the summary: pages numbered 1, 2, …, as many pages
//! written as rendered, and when the run renders, one `group_end` per page group.
#![no_main]

use std::io;

use libfuzzer_sys::fuzz_target;
use pipelines::afp::page::AfpPage;
use pipelines::afp::pdf::AfpPdfWriter;
use pipelines::afp::{render, AfpOptions, Group, PageSink};
use pipelines::image::ImageLimits;

struct Sink {
    pdf: AfpPdfWriter<Vec<u8>>,
    pages: usize,
    groups_ended: usize,
    text_bytes: usize,
}

impl PageSink for Sink {
    fn page(&mut self, page: &AfpPage, group: Option<&Group>) -> io::Result<()> {
        self.pages += 1;
        assert_eq!(page.number, self.pages, "pages are numbered 1, 2, …");
        if let Some(group) = group {
            assert!(
                group.number > self.groups_ended,
                "page {} is in page group {}, which already ended",
                page.number,
                group.number
            );
        }
        self.text_bytes += page.text().len();
        self.pdf.add_page(page)?;
        assert_eq!(self.pdf.pages(), self.pages, "pages written vs delivered");
        Ok(())
    }

    fn group_end(&mut self, group: &Group) -> io::Result<()> {
        self.groups_ended += 1;
        assert_eq!(
            group.number, self.groups_ended,
            "page groups end in order, once each"
        );
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let options = AfpOptions {
        image_limits: ImageLimits {
            max_pixels: 4_000_000,
            max_pages: 16,
        },
        ..AfpOptions::default()
    };
    let mut sink = Sink {
        pdf: AfpPdfWriter::new(Vec::new()).expect("AfpPdfWriter::new into a Vec"),
        pages: 0,
        groups_ended: 0,
        text_bytes: 0,
    };
    match render(data, &options, &mut sink) {
        Ok(summary) => {
            assert!(summary.pages > 0, "Ok with no page (NoPage is the error)");
            assert_eq!(
                summary.pages, sink.pages,
                "summary pages vs pages delivered"
            );
            assert_eq!(
                summary.groups, sink.groups_ended,
                "summary page groups vs groups ended"
            );
        }
        Err(error) => {
            // Every refusal says why; an i/o error cannot come from a slice into a Vec.
            assert!(
                !matches!(error, pipelines::afp::AfpError::Io(_)),
                "i/o error reading a slice: {error}"
            );
            assert!(!error.to_string().is_empty());
        }
    }
    // The pages delivered before an error still make a PDF.
    let pages = sink.pdf.pages();
    let pdf = sink.pdf.finish().expect("finish into a Vec");
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert_eq!(pages, sink.pages);
    std::hint::black_box(sink.text_bytes);
});
