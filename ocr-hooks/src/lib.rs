//! Runs an external command (tesseract, ocrmypdf, fop, ghostscript…) on one document, safely.
//!
//! A [`CommandSpec`] is a command line template: a program and its arguments, where
//! `{input}` and `{output}` stand for file paths. [`run`] takes the input as bytes and
//! returns the result in memory; [`run_files`] works on files the caller owns. No shell is
//! involved. The crate depends on no other crate of the workspace and is Unix-only.
//!
//! # Guarantees
//!
//! - **The child never outlives the call.** It is spawned in its own process group; the
//!   whole group (so also a shell's children) gets SIGKILL on timeout, when the returned
//!   future is dropped, and right after the child exits (leftover background processes).
//! - **Temp files are removed.** Each call works in a fresh `tempfile::TempDir` (also the
//!   child's working directory and `TMPDIR`), removed on success, on error and on drop.
//! - **Output is bounded.** stdout and stderr are read concurrently with feeding stdin, so big
//!   outputs cannot deadlock; at most [`CAPTURE_LIMIT`] bytes of each are kept and the rest is
//!   drained. [`run_files`] streams stdout to the output file without a cap.
//! - **Errors say whether to retry.** [`HookError::is_transient`]: timeouts, resource
//!   exhaustion at spawn, deaths by signal and the template's transient exit codes are
//!   transient; a missing program, other exit codes, a missing output file and bad templates
//!   are permanent. Exit errors carry the last ~500 bytes of stderr.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use ocr_hooks::{run, CommandSpec};
//!
//! # async fn demo(pdf: &[u8]) -> Result<(), ocr_hooks::HookError> {
//! let spec = CommandSpec::new("ocrmypdf", ["--skip-text", "{input}", "{output}"])
//!     .with_timeout(Duration::from_secs(300))
//!     .with_suffixes(".pdf", ".pdf");
//! match run(&spec, pdf).await {
//!     Ok(out) => println!("{} bytes of searchable pdf", out.output.unwrap_or_default().len()),
//!     Err(e) if e.is_transient() => println!("retry later: {e}"),
//!     Err(e) => println!("give up: {e}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Without `{input}` the input goes to stdin, without `{output}` the result is stdout:
//! `CommandSpec::new("tr", ["a-z", "A-Z"])`.
//!
//! # OCR
//!
//! [`OcrEngine`] recognises one page image into words with boxes and confidences
//! ([`OcrPage`]) and tells how to turn a page upright ([`Orientation`]). Engines:
//! [`Tesseract`] (command line, TSV, OSD) and [`CommandEngine`] (any program writing TSV, hOCR
//! or text, with `{input}` `{output}` `{lang}` placeholders). [`recognize_pages`] runs pages
//! concurrently in order, each with its own timeout; a timed-out page is a transient error
//! naming the page, never a page without text. [`OcrMyPdf`] makes a searchable PDF with
//! ocrmypdf and fails where ocrmypdf would silently leave a page without text.
//!
//! # Layout
//!
//! - `spec`: [`CommandSpec`], the template, its builders, validation and placeholder filling.
//! - `error`: [`HookError`], the transient / permanent classification and the stderr tail.
//! - `runner`: [`run`], [`run_files`] and [`HookOutput`]: spawn, feed, capture, timeout, cleanup.
//! - `capture`: reading the child's pipes with a cap ([`CAPTURE_LIMIT`]) while draining the rest.
//! - `ocr`: the OCR types, [`OcrEngine`] and [`recognize_pages`].
//! - `tesseract`: [`Tesseract`] and [`CommandEngine`].
//! - `ocrmypdf`: [`OcrMyPdf`].
//! - `tsv`, `hocr`: the parsers of the engines' outputs (TSV, plain text, OSD report, hOCR).
//! - `group`: the guard that SIGKILLs the child's process group when dropped.

mod capture;
mod error;
mod group;
mod hocr;
mod ocr;
mod ocrmypdf;
mod runner;
mod spec;
mod tesseract;
mod tsv;

pub use capture::CAPTURE_LIMIT;
pub use error::HookError;
pub use futures_util::future::BoxFuture;
pub use ocr::{
    default_parallelism, recognize_pages, OcrEngine, OcrPage, OcrRequest, OcrWord, Orientation,
};
pub use ocrmypdf::{OcrMyPdf, OCRMYPDF_PAGE_TIMEOUT};
pub use runner::{run, run_files, HookOutput};
pub use spec::{CommandSpec, DEFAULT_TIMEOUT, INPUT_PLACEHOLDER, OUTPUT_PLACEHOLDER};
pub use tesseract::{CommandEngine, OutputFormat, Tesseract, LANG_PLACEHOLDER};
