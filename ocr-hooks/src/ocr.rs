//! The OCR layer: [`OcrEngine`], its request and result types, and [`recognize_pages`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use crate::error::HookError;
use crate::runner::run_files;
use crate::spec::CommandSpec;

/// One page to recognise.
#[derive(Debug, Clone, Copy)]
pub struct OcrRequest<'a> {
    /// A PNG, PNM, TIFF or JPEG file holding one page.
    pub image: &'a Path,
    /// Languages joined by `+`, tesseract style: `"fra+eng"`.
    pub languages: &'a str,
    /// The image's resolution when known (tesseract guesses it otherwise).
    pub dpi: Option<u32>,
    /// The whole run for this page; the engine's process is killed after it.
    pub timeout: Duration,
}

/// A recognised word. Coordinates are pixels of the image, origin top-left.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrWord {
    pub text: String,
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// 0 to 100; 0 also when the engine gives none ([`OutputFormat::Text`](crate::OutputFormat)).
    pub confidence: f32,
    /// Block, paragraph and line numbers as the engine gave them (reading order).
    pub block: u32,
    pub paragraph: u32,
    pub line: u32,
}

/// The words of one page, in the engine's reading order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OcrPage {
    /// Page size in pixels (0 when the engine does not tell).
    pub width: u32,
    pub height: u32,
    pub words: Vec<OcrWord>,
}

impl OcrPage {
    /// The page as text: the words of a line joined by spaces, lines by `'\n'`, and a blank
    /// line between paragraphs and between blocks.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut previous: Option<&OcrWord> = None;
        for word in &self.words {
            if let Some(prev) = previous {
                let separator = if (prev.block, prev.paragraph) != (word.block, word.paragraph) {
                    "\n\n"
                } else if prev.line != word.line {
                    "\n"
                } else {
                    " "
                };
                out.push_str(separator);
            }
            out.push_str(&word.text);
            previous = Some(word);
        }
        out
    }

    /// The mean of the words' confidences, `None` for a page without words.
    pub fn mean_confidence(&self) -> Option<f32> {
        if self.words.is_empty() {
            return None;
        }
        let sum: f64 = self.words.iter().map(|w| f64::from(w.confidence)).sum();
        Some((sum / self.words.len() as f64) as f32)
    }
}

/// How a page must be turned to be upright.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    /// 0, 90, 180 or 270: degrees to turn the page **clockwise** to make it upright. A page
    /// that was turned 90° clockwise (text running top to bottom) needs `rotate: 270`.
    /// This is tesseract's `Rotate:` line of `--psm 0` ("clockwise rotation needed to make
    /// the page upright", `TessBaseAPI::GetOsdText`), not its `Orientation in degrees:`.
    pub rotate: u16,
    /// The engine's own confidence figure (tesseract: unbounded, ~2 and more is usable).
    pub confidence: f32,
}

/// An OCR engine: recognises one page image at a time. Implementations must kill their work
/// when the returned future is dropped (the runner's process groups do).
pub trait OcrEngine: Send + Sync {
    /// A short name for logs and errors (`tesseract`).
    fn name(&self) -> &str;

    fn recognize<'a>(
        &'a self,
        request: OcrRequest<'a>,
    ) -> BoxFuture<'a, Result<OcrPage, HookError>>;

    /// How to turn the page upright; `None` when the engine cannot tell.
    fn orientation<'a>(
        &'a self,
        image: &'a Path,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Option<Orientation>, HookError>> {
        let _ = (image, timeout);
        Box::pin(async { Ok(None) })
    }
}

/// The number of cores, the default for [`recognize_pages`]'s `parallel` (1 if unknown).
pub fn default_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Extra time given to an engine past a page's timeout before [`recognize_pages`] drops its
/// future itself (which kills its process): the engine's own timeout should fire first.
const TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Recognises `pages` concurrently, at most `parallel` at a time (0: [`default_parallelism`]),
/// and returns the results in the order of `pages`.
///
/// Each page has its own `timeout`, counted from its start. Every error is a
/// [`HookError::Page`] naming the page (index from 1 and path); a timed-out page is a
/// transient error ([`HookError::is_timeout`]), never an empty page.
pub async fn recognize_pages(
    engine: &dyn OcrEngine,
    pages: &[PathBuf],
    languages: &str,
    timeout: Duration,
    parallel: usize,
) -> Vec<Result<OcrPage, HookError>> {
    let parallel = if parallel == 0 {
        default_parallelism()
    } else {
        parallel
    };
    // Each page's future is boxed as `Send`, in a plain vector: callers hold this future across
    // awaits inside other `Send` futures (the pipeline's stages), which a stream of
    // closure-made futures cannot prove for every lifetime.
    let mut jobs: Vec<BoxFuture<'_, Result<OcrPage, HookError>>> = Vec::with_capacity(pages.len());
    for (i, path) in pages.iter().enumerate() {
        jobs.push(
        Box::pin(async move {
        let request = OcrRequest {
            image: path,
            languages,
            dpi: None,
            timeout,
        };
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(timeout + TIMEOUT_GRACE, engine.recognize(request)).await {
            Ok(result) => result,
            // The engine ignored its timeout; dropping its future killed its work.
            Err(_) => Err(HookError::Timeout {
                program: engine.name().to_owned(),
                timeout,
            }),
        };
        tracing::debug!(page = i + 1, path = %path.display(), elapsed_ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "ocr page done");
        result.map_err(|error| HookError::Page {
            index: i + 1,
            path: path.clone(),
            error: Box::new(error),
        })
        })
    );
    }
    stream::iter(jobs).buffered(parallel).collect().await
}

/// Checks a `+`-joined language list: non-empty names of ASCII letters, digits, `_` and `-`.
pub(crate) fn check_languages(languages: &str) -> Result<(), HookError> {
    let ok = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if languages.split('+').all(ok) {
        Ok(())
    } else {
        Err(HookError::BadRequest(format!(
            "the languages `{languages}` are not names joined by `+`"
        )))
    }
}

/// What an OCR program run produced: its output (file or stdout) as text, and its stderr.
pub(crate) struct OcrOutput {
    pub text: String,
    pub stderr: Vec<u8>,
}

/// Runs `spec` on `image`. Without `{output}` in the template the program's stdout is the
/// result, streamed to a temp file (no size cap, unlike [`run`](crate::run)'s capture).
pub(crate) async fn run_ocr(spec: &CommandSpec, image: &Path) -> Result<OcrOutput, HookError> {
    let dir = tempfile::Builder::new()
        .prefix("ocr-hooks-out-")
        .tempdir()
        .map_err(|e| HookError::io("could not create the temp directory", e))?;
    let output = dir.path().join(format!("output{}", spec.output_suffix));
    let done = run_files(spec, image, &output).await?;
    let bytes = tokio::fs::read(&output)
        .await
        .map_err(|e| HookError::io("could not read the ocr output", e))?;
    let text = String::from_utf8(bytes).map_err(|_| HookError::BadOutput {
        program: spec.program.clone(),
        reason: "not utf-8".into(),
    })?;
    Ok(OcrOutput {
        text,
        stderr: done.stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, block: u32, paragraph: u32, line: u32, confidence: f32) -> OcrWord {
        OcrWord {
            text: text.into(),
            left: 0,
            top: 0,
            width: 0,
            height: 0,
            confidence,
            block,
            paragraph,
            line,
        }
    }

    #[test]
    fn text_joins_words_lines_and_paragraphs() {
        let page = OcrPage {
            width: 10,
            height: 10,
            words: vec![
                word("Facture", 1, 1, 1, 90.0),
                word("FA-1", 1, 1, 1, 80.0),
                word("du", 1, 1, 2, 70.0),
                word("Total", 1, 2, 1, 60.0),
                word("Merci", 2, 1, 1, 50.0),
            ],
        };
        assert_eq!(page.text(), "Facture FA-1\ndu\n\nTotal\n\nMerci");
        assert_eq!(page.mean_confidence(), Some(70.0));
        assert_eq!(OcrPage::default().text(), "");
        assert_eq!(OcrPage::default().mean_confidence(), None);
    }

    #[test]
    fn languages_are_checked() {
        assert!(check_languages("fra+eng").is_ok());
        assert!(check_languages("chi_sim").is_ok());
        for bad in ["", "fra+", "fra eng", "{input}", "../x"] {
            assert!(
                matches!(check_languages(bad), Err(HookError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
