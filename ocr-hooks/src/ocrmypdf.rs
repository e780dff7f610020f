//! [`OcrMyPdf`]: a scanned PDF (or image) to a searchable PDF with ocrmypdf, failing loudly
//! where ocrmypdf would silently leave pages without text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::HookError;
use crate::ocr::check_languages;
use crate::runner::run_files;
use crate::spec::CommandSpec;

/// ocrmypdf's default per-page tesseract timeout (180 s) is replaced by this one.
pub const OCRMYPDF_PAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// `ocrmypdf -l LANGS --skip-text --tesseract-timeout SECS [--jobs N] EXTRA… INPUT OUTPUT`
/// with `OMP_THREAD_LIMIT=1`.
///
/// `--skip-text` leaves pages that already have text alone. ocrmypdf treats a page whose
/// tesseract run passed `--tesseract-timeout` as a warning ("took too long to OCR -
/// skipping"), exits 0 and writes the page without text; [`OcrMyPdf::make_searchable`] turns
/// that into [`HookError::OcrPagesTimedOut`] (transient) instead.
#[derive(Debug, Clone)]
pub struct OcrMyPdf {
    /// `ocrmypdf` (looked up in `PATH`) or a path.
    pub program: PathBuf,
    /// Given to ocrmypdf as `--tesseract-timeout`, for each page.
    pub page_timeout: Duration,
    /// The whole run; ocrmypdf and its children are killed after it.
    pub timeout: Duration,
    /// `--jobs`: pages OCRed at a time (ocrmypdf's default: all cores).
    pub jobs: Option<usize>,
    /// Put before the file names, e.g. `["--output-type", "pdf"]`, `["--rotate-pages"]`.
    pub extra_args: Vec<String>,
}

impl Default for OcrMyPdf {
    fn default() -> Self {
        OcrMyPdf {
            program: PathBuf::from("ocrmypdf"),
            page_timeout: OCRMYPDF_PAGE_TIMEOUT,
            timeout: Duration::from_secs(30 * 60),
            jobs: None,
            extra_args: Vec::new(),
        }
    }
}

impl OcrMyPdf {
    /// Writes the searchable PDF of `input` to `output` (a fresh path: ocrmypdf writes it).
    /// Errors: [`HookError::NotInstalled`] without ocrmypdf, [`HookError::OcrPagesTimedOut`]
    /// when tesseract gave up on some page, ocrmypdf's exit codes as [`HookError::Exit`].
    pub async fn make_searchable(
        &self,
        input: &Path,
        output: &Path,
        languages: &str,
    ) -> Result<(), HookError> {
        check_languages(languages)?;
        if self.page_timeout.is_zero() {
            // ocrmypdf reads a zero timeout as "do not OCR at all".
            return Err(HookError::BadRequest("the page timeout is zero".into()));
        }
        let mut args = vec![
            "-l".to_string(),
            languages.into(),
            "--skip-text".into(),
            "--tesseract-timeout".into(),
            format!("{:.3}", self.page_timeout.as_secs_f64()),
        ];
        if let Some(jobs) = self.jobs {
            args.extend(["--jobs".into(), jobs.to_string()]);
        }
        args.extend(self.extra_args.iter().cloned());
        args.extend(["{input}".into(), "{output}".into()]);
        let program = self.program.to_string_lossy().into_owned();
        let spec = CommandSpec::new(program.clone(), args)
            .with_timeout(self.timeout)
            .with_env("OMP_THREAD_LIMIT", "1");
        let done = match run_files(&spec, input, output).await {
            Err(HookError::ProgramNotFound { program, source }) => {
                return Err(HookError::NotInstalled {
                    engine: "ocrmypdf".into(),
                    program,
                    source,
                })
            }
            other => other?,
        };
        let pages = timed_out_pages(&String::from_utf8_lossy(&done.stderr));
        if pages.is_empty() {
            return Ok(());
        }
        // Do not leave a PDF that looks done behind.
        if let Err(e) = std::fs::remove_file(output) {
            tracing::warn!(path = %output.display(), error = %e, "could not remove the incomplete ocrmypdf output");
        }
        Err(HookError::OcrPagesTimedOut {
            program,
            pages,
            timeout: self.page_timeout,
        })
    }
}

/// The pages of ocrmypdf's "   3 [tesseract] took too long to OCR - skipping" warnings.
fn timed_out_pages(stderr: &str) -> Vec<u32> {
    let mut pages: Vec<u32> = stderr
        .lines()
        .filter(|l| l.contains("took too long to OCR"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    // A warning without a page number still means a page without text.
    if pages.is_empty() && stderr.contains("took too long to OCR") {
        pages.push(0);
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pages_tesseract_gave_up_on() {
        let stderr = "Opened a file\n    3 [tesseract] took too long to OCR - skipping\n   12 [tesseract] took too long to OCR - skipping\nPostprocessing...\n";
        assert_eq!(timed_out_pages(stderr), [3, 12]);
        assert_eq!(
            timed_out_pages("[tesseract] took too long to OCR - skipping"),
            [0]
        );
        assert!(timed_out_pages("    1 skipping all processing on this page\n").is_empty());
    }
}
