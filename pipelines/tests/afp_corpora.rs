//! Every AFP we have, rendered or refused with a reason, never a panic: the public corpora
//! (`../shared/corpora/afp/`: afplib's test data), the FOP research samples
//! (`../shared/samples/ibmi/afp/*.afp`) and the repository's samples (`samples/afp/*.afp`).
//! A run that renders gives parts whose PDFs lopdf loads with the pages the part says; a run
//! that is refused says why. Then a deterministic mutation fuzzer over the repository's
//! samples through `pipelines::afp::render`.
//!
//! `cargo test -p pipelines --test afp_corpora -- --nocapture` prints the table.

use std::io::{self, BufReader};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pipelines::afp::convert::convert_afp;
use pipelines::afp::page::AfpPage;
use pipelines::afp::pdf::AfpPdfWriter;
use pipelines::afp::{render, AfpOptions, Group, PageSink};
use pipelines::convert::PartBytes;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `dir` (relative to the workspace root), sorted; with `ext`, only those whose
/// name ends with it. A missing folder fails the test: CI has ../shared beside the checkout.
fn files(dir: &str, ext: Option<&str>) -> Vec<PathBuf> {
    let path = root().join(dir);
    let entries = match std::fs::read_dir(&path) {
        Ok(entries) => entries,
        Err(error) => panic!(
            "missing AFP corpus folder {dir} ({}): {error}; ../shared must sit beside the checkout",
            path.display()
        ),
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .filter(|path| {
            ext.is_none_or(|ext| {
                path.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case(ext))
            })
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no AFP in {dir}");
    files
}

fn corpus() -> Vec<PathBuf> {
    let mut all = files("../shared/corpora/afp", None);
    all.extend(files("../shared/samples/ibmi/afp", Some("afp")));
    all.extend(files("samples/afp", Some("afp")));
    all
}

/// What one part held: its page range and the pages lopdf counts in its PDF.
struct PartCheck {
    index: usize,
    pages: usize,
    pdf_pages: Result<usize, String>,
    warnings: Option<String>,
}

enum Outcome {
    Rendered {
        pages: usize,
        groups: usize,
        parts: Vec<PartCheck>,
    },
    Refused(String),
}

fn convert(path: &Path) -> Outcome {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let file = std::fs::File::open(path).expect("the corpus file opens");
    let mut parts = Vec::new();
    let result = convert_afp(
        BufReader::new(file),
        &AfpOptions::default(),
        None,
        scratch.path(),
        |part| {
            let bytes = match part.pdf {
                PartBytes::Memory(bytes) => bytes,
                PartBytes::File(path) => std::fs::read(path)?,
            };
            let pdf_pages = lopdf::Document::load_mem(&bytes)
                .map(|document| document.get_pages().len())
                .map_err(|error| error.to_string());
            let warnings = part
                .metadata
                .iter()
                .find(|(name, _)| name == "afp.warning")
                .map(|(_, value)| value.clone());
            parts.push(PartCheck {
                index: part.index,
                pages: (part.page_last + 1).saturating_sub(part.page_first),
                pdf_pages,
                warnings,
            });
            Ok::<(), io::Error>(())
        },
    );
    match result {
        Ok(converted) => Outcome::Rendered {
            pages: converted.pages,
            groups: converted.afp.map_or(0, |summary| summary.groups),
            parts,
        },
        Err(error) => Outcome::Refused(error.to_string()),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".to_string())
}

#[test]
fn every_corpus_afp_renders_or_is_refused_with_a_reason() {
    let root = root();
    let mut failures = Vec::new();
    let mut table = vec![format!("{:<58} {:>7}  result", "file", "bytes")];
    for path in corpus() {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let size = std::fs::metadata(&path).map_or(0, |meta| meta.len());
        let result = match catch_unwind(AssertUnwindSafe(|| convert(&path))) {
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                failures.push(format!("{name}: PANIC: {message}"));
                format!("PANIC: {message}")
            }
            Ok(Outcome::Refused(message)) => {
                if message.trim().is_empty() {
                    failures.push(format!("{name}: refused with an empty message"));
                }
                format!("refused: {message}")
            }
            Ok(Outcome::Rendered {
                pages,
                groups,
                parts,
            }) => {
                if pages == 0 {
                    failures.push(format!("{name}: rendered without a page"));
                }
                let in_parts: usize = parts.iter().map(|part| part.pages).sum();
                if in_parts != pages {
                    failures.push(format!(
                        "{name}: {pages} pages rendered but the parts hold {in_parts}"
                    ));
                }
                for part in &parts {
                    match &part.pdf_pages {
                        Ok(count) if *count == part.pages => {}
                        Ok(count) => failures.push(format!(
                            "{name}: part {} says {} pages, its PDF has {count}",
                            part.index, part.pages
                        )),
                        Err(error) => failures.push(format!(
                            "{name}: part {}: lopdf cannot load its PDF: {error}",
                            part.index
                        )),
                    }
                }
                let mut warnings: Vec<&str> = Vec::new();
                for part in &parts {
                    for warning in part.warnings.iter().flat_map(|w| w.split("; ")) {
                        if !warnings.contains(&warning) {
                            warnings.push(warning);
                        }
                    }
                }
                let mut result = format!(
                    "rendered: {pages} page(s), {groups} page group(s), {} part(s)",
                    parts.len()
                );
                if !warnings.is_empty() {
                    result.push_str(&format!("; warnings: {}", warnings.join("; ")));
                }
                result
            }
        };
        table.push(format!("{name:<58} {size:>7}  {result}"));
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "AFP corpus failures:\n{}",
        failures.join("\n")
    );
}

/// Inputs the fuzzers found panicking (`tests/fuzz.sh`'s `afp_render`, minimised with
/// `cargo fuzz tmin`): each must now render or be refused.
#[test]
fn fuzzer_crashes_render_or_are_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/afp-crashes");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("missing {}: {error}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    let options = fuzz_options();
    let mut failures = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).expect("the crash input reads");
        let name = path.file_name().map_or("?".into(), |n| n.to_string_lossy());
        match catch_unwind(AssertUnwindSafe(|| exercise(&bytes, &options))) {
            Ok(()) => println!("{name}: no panic"),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                println!("{name}: PANIC: {message}");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fuzzer crash inputs still panic:\n{}",
        failures.join("\n")
    );
}

/// Small image limits: a claimed huge image is refused rather than decoded.
fn fuzz_options() -> AfpOptions {
    AfpOptions {
        image_limits: pipelines::image::ImageLimits {
            max_pixels: 4_000_000,
            max_pages: 16,
        },
        ..AfpOptions::default()
    }
}

// A deterministic mutation fuzzer (the same xorshift and mutations as robustness.rs, plus
// AFP's own bytes and big-endian lengths), on stable in every test run.

mod common;
use common::Rng;

/// 0x5A introduces a structured field; D3 A8/A9 begin and end, AF page, CE resource, EE a no-op
/// field, 2B D3 a PTOCA control sequence. Lengths and counts are set to edge values too.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    common::mutate(
        rng,
        input,
        &[
            0x5A, 0xD3, 0xA8, 0xA9, 0xAF, 0xCE, 0xEE, 0x2B, 0x0C, 0x25, 0xFF, 0x00,
        ],
        true,
    )
}

/// Writes every page's PDF and reads its text, as the convert stage does.
struct Sink {
    pdf: AfpPdfWriter<Vec<u8>>,
}

impl PageSink for Sink {
    fn page(&mut self, page: &AfpPage, _group: Option<&Group>) -> io::Result<()> {
        std::hint::black_box(page.text());
        self.pdf.add_page(page)
    }

    fn group_end(&mut self, _group: &Group) -> io::Result<()> {
        Ok(())
    }
}

fn exercise(bytes: &[u8], options: &AfpOptions) {
    let mut sink = Sink {
        pdf: AfpPdfWriter::new(Vec::new()).expect("AfpPdfWriter into a Vec"),
    };
    if let Err(error) = render(bytes, options, &mut sink) {
        assert!(!error.to_string().is_empty());
    }
    let pdf = sink.pdf.finish().expect("finish into a Vec");
    assert!(pdf.starts_with(b"%PDF-1.4"));
}

#[test]
fn mutated_samples_never_panic() {
    let rounds: usize = std::env::var("GREFFIER_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let options = fuzz_options();
    let samples = files("samples/afp", Some("afp"));
    let mut crashes = Vec::new();
    for (index, path) in samples.iter().enumerate() {
        let seed = std::fs::read(path).expect("the sample reads");
        let mut rng = Rng(0x9E3779B97F4A7C15 ^ (index as u64 + 1).wrapping_mul(0xD1B54A32D192ED03));
        for round in 0..rounds {
            let input = mutate(&mut rng, &seed);
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| exercise(&input, &options))) {
                let keep = std::env::temp_dir().join(format!(
                    "afp-mutation-{}-{round}.afp",
                    path.file_stem().map_or("x".into(), |s| s.to_string_lossy())
                ));
                let _ = std::fs::write(&keep, &input);
                crashes.push(format!(
                    "{} round {round}: {} (input kept in {})",
                    path.strip_prefix(root()).unwrap_or(path).display(),
                    panic_message(payload.as_ref()),
                    keep.display()
                ));
                if crashes.len() >= 20 {
                    break;
                }
            }
        }
    }
    assert!(
        crashes.is_empty(),
        "mutated AFP samples panicked:\n{}",
        crashes.join("\n")
    );
}
