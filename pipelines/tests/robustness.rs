//! Untrusted bytes never panic the detector, the spool paginator, the PDF writer, the PDF
//! text reader or the AFP renderer. A deterministic mutation fuzzer over real inputs (the
//! shipped samples, JTOpen SCS and FOP AFP from ../shared) and random bytes. cargo-fuzz
//! needs a nightly toolchain, which this project's machines don't have; these run on stable
//! in every test run.

use std::path::Path;

use pipelines::detect::{detect, Format, SpoolHints, SNIFF_BYTES};
use pipelines::pdf::PdfWriter;
use pipelines::spool::paginate;

mod common;
use common::Rng;

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    common::mutate(
        rng,
        input,
        &[
            0x0C, b'\n', b'\r', 0x25, 0x15, b'1', b'+', 0x2B, 0x5A, 0xFF, 0x00,
        ],
        false,
    )
}

/// Takes AFP pages and drops them.
struct DiscardPages;

impl pipelines::afp::PageSink for DiscardPages {
    fn page(
        &mut self,
        _page: &pipelines::afp::page::AfpPage,
        _group: Option<&pipelines::afp::Group>,
    ) -> std::io::Result<()> {
        Ok(())
    }

    fn group_end(&mut self, _group: &pipelines::afp::Group) -> std::io::Result<()> {
        Ok(())
    }
}

fn exercise(bytes: &[u8]) {
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    match detect(sample, bytes.len() as u64, &SpoolHints::default()) {
        Ok(Format::TextSpool(layout)) => {
            let mut writer =
                PdfWriter::new(Vec::new(), layout.lines_per_page, layout.columns).unwrap();
            let _ = paginate(bytes, &layout, |page| writer.add_page(page));
            let pdf = writer.finish().unwrap();
            assert!(pdf.starts_with(b"%PDF-1.4"));
        }
        Ok(Format::Pdf) => {
            let _ = pipelines::pdftext::pdf_pages_text(bytes);
        }
        Ok(Format::Afp) => {
            let options = pipelines::afp::AfpOptions {
                image_limits: pipelines::image::ImageLimits {
                    max_pixels: 4_000_000,
                    max_pages: 16,
                },
                ..Default::default()
            };
            let _ = pipelines::afp::render(bytes, &options, &mut DiscardPages);
        }
        Ok(_) | Err(_) => {}
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "samples/spools",
        "samples/pdf",
        "../shared/samples/ibmi/scs",
        "../shared/samples/ibmi/afp",
        "../shared/samples/ibmi/text",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            panic!("missing corpus folder {dir}")
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.push(std::fs::read(entry.path()).unwrap());
            }
        }
    }
    assert!(files.len() > 10);
    files
}

#[test]
fn mutated_real_inputs_never_panic() {
    let corpus = corpus();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let rounds: usize = std::env::var("GREFFIER_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for round in 0..rounds {
        let seed = &corpus[round % corpus.len()];
        let input = mutate(&mut rng, seed);
        exercise(&input);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xD1B54A32D192ED03);
    for _ in 0..500 {
        let len = rng.below(4096);
        let input: Vec<u8> = (0..len).map(|_| (rng.next() >> 32) as u8).collect();
        exercise(&input);
    }
}
