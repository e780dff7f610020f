//! [`Tesseract`] (its command line, TSV output, OSD) and [`CommandEngine`] (any program with
//! `{input}` `{output}` `{lang}` placeholders that writes TSV, hOCR or text).

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::error::HookError;
use crate::hocr::parse_hocr;
use crate::ocr::{check_languages, run_ocr, OcrEngine, OcrPage, OcrRequest, Orientation};
use crate::spec::CommandSpec;
use crate::tsv::{parse_osd, parse_text, parse_tsv};

/// Placeholder replaced by the request's languages (`fra+eng`) in a [`CommandEngine`].
pub const LANG_PLACEHOLDER: &str = "{lang}";

/// tesseract through its command line: `tesseract IMAGE stdout -l LANGS [--dpi N] EXTRA… tsv`,
/// with `OMP_THREAD_LIMIT=1` (tesseract's OpenMP threads thrash when pages already run in
/// parallel: 5.8× slower on 2 cores).
#[derive(Debug, Clone)]
pub struct Tesseract {
    /// `tesseract` (looked up in `PATH`) or a path.
    pub program: PathBuf,
    /// Put before the `tsv` config, e.g. `["--psm", "6"]` or `["--oem", "1"]`.
    pub extra_args: Vec<String>,
    /// Environment for every run; [`Tesseract::new`] sets `OMP_THREAD_LIMIT=1`.
    pub env: Vec<(String, String)>,
}

impl Default for Tesseract {
    fn default() -> Self {
        Tesseract::new()
    }
}

impl Tesseract {
    pub fn new() -> Self {
        Tesseract {
            program: PathBuf::from("tesseract"),
            extra_args: Vec::new(),
            env: vec![("OMP_THREAD_LIMIT".into(), "1".into())],
        }
    }

    fn spec(&self, args: Vec<String>, timeout: Duration) -> CommandSpec {
        let mut spec = CommandSpec::new(self.program.to_string_lossy(), args).with_timeout(timeout);
        spec.env = self.env.clone();
        spec
    }

    async fn run(
        &self,
        spec: &CommandSpec,
        image: &Path,
    ) -> Result<crate::ocr::OcrOutput, HookError> {
        match run_ocr(spec, image).await {
            Err(HookError::ProgramNotFound { program, source }) => Err(HookError::NotInstalled {
                engine: "tesseract".into(),
                program,
                source,
            }),
            Err(HookError::Exit { stderr, .. })
                if missing_language(stderr.as_bytes()).is_some() =>
            {
                Err(missing_language_error(stderr.as_bytes()))
            }
            Err(e) => Err(e),
            // With `fra+xyz` tesseract warns about xyz, carries on with fra and exits 0:
            // OCR in fewer languages than asked is an error too.
            Ok(out) if missing_language(&out.stderr).is_some() => {
                Err(missing_language_error(&out.stderr))
            }
            Ok(out) => Ok(out),
        }
    }
}

/// The language named by tesseract's "Failed loading language 'xyz'" line.
fn missing_language(stderr: &[u8]) -> Option<String> {
    const MARK: &str = "Failed loading language '";
    let text = String::from_utf8_lossy(stderr);
    let start = text.find(MARK)? + MARK.len();
    let end = text[start..].find('\'')?;
    Some(text[start..start + end].to_owned())
}

fn missing_language_error(stderr: &[u8]) -> HookError {
    HookError::MissingLanguage {
        engine: "tesseract".into(),
        language: missing_language(stderr).unwrap_or_default(),
    }
}

impl OcrEngine for Tesseract {
    fn name(&self) -> &str {
        "tesseract"
    }

    fn recognize<'a>(
        &'a self,
        request: OcrRequest<'a>,
    ) -> BoxFuture<'a, Result<OcrPage, HookError>> {
        Box::pin(async move {
            check_languages(request.languages)?;
            let mut args = vec![
                "{input}".to_string(),
                "stdout".into(),
                "-l".into(),
                request.languages.into(),
            ];
            if let Some(dpi) = request.dpi {
                args.extend(["--dpi".into(), dpi.to_string()]);
            }
            args.extend(self.extra_args.iter().cloned());
            args.push("tsv".into());
            let spec = self.spec(args, request.timeout);
            let out = self.run(&spec, request.image).await?;
            parse_tsv(&out.text).map_err(|reason| HookError::BadOutput {
                program: spec.program.clone(),
                reason,
            })
        })
    }

    /// `tesseract IMAGE stdout --psm 0 -l osd`. `Ok(None)` when tesseract finds too few
    /// characters to tell, and when the `osd` data is not installed (logged as a warning:
    /// pages are then never turned).
    fn orientation<'a>(
        &'a self,
        image: &'a Path,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Option<Orientation>, HookError>> {
        Box::pin(async move {
            let args = ["{input}", "stdout", "--psm", "0", "-l", "osd"]
                .map(String::from)
                .to_vec();
            let spec = self.spec(args, timeout);
            match self.run(&spec, image).await {
                Ok(out) => parse_osd(&out.text)
                    .map(Some)
                    .map_err(|reason| HookError::BadOutput {
                        program: spec.program.clone(),
                        reason,
                    }),
                Err(HookError::Exit { stderr, .. }) if stderr.contains("Too few characters") => {
                    Ok(None)
                }
                Err(HookError::MissingLanguage { language, .. }) if language == "osd" => {
                    tracing::warn!("tesseract has no osd data (tesseract-ocr-osd): page orientation is not detected");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// What a [`CommandEngine`]'s program writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// tesseract's TSV columns.
    Tsv,
    /// hOCR (`ocr_page`, `ocr_carea`, `ocr_par`, `ocr_line`, `ocrx_word` with `bbox` and
    /// `x_wconf`).
    Hocr,
    /// Plain text: words without positions, so zero boxes and confidence 0.
    Text,
}

/// A generic OCR hook: a program and arguments where `{input}` is the page image, `{output}`
/// the result file (without it, stdout is the result) and `{lang}` the languages. The page
/// timeout replaces the template's. [`CommandEngine::new`] sets `OMP_THREAD_LIMIT=1`, as pages
/// already run in parallel.
#[derive(Debug, Clone)]
pub struct CommandEngine {
    pub name: String,
    pub spec: CommandSpec,
    pub format: OutputFormat,
}

impl CommandEngine {
    /// `spec` is checked now ([`CommandSpec::validate`]); it must have `{input}`.
    pub fn new(
        name: impl Into<String>,
        spec: CommandSpec,
        format: OutputFormat,
    ) -> Result<Self, HookError> {
        spec.validate()?;
        if !spec.uses_input() {
            return Err(HookError::BadTemplate(
                "an ocr command needs the `{input}` placeholder".into(),
            ));
        }
        let mut spec = spec;
        if !spec.env.iter().any(|(n, _)| n == "OMP_THREAD_LIMIT") {
            spec = spec.with_env("OMP_THREAD_LIMIT", "1");
        }
        Ok(CommandEngine {
            name: name.into(),
            spec,
            format,
        })
    }
}

impl OcrEngine for CommandEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn recognize<'a>(
        &'a self,
        request: OcrRequest<'a>,
    ) -> BoxFuture<'a, Result<OcrPage, HookError>> {
        Box::pin(async move {
            check_languages(request.languages)?;
            let mut spec = self.spec.clone().with_timeout(request.timeout);
            for arg in &mut spec.args {
                *arg = arg.replace(LANG_PLACEHOLDER, request.languages);
            }
            let out = run_ocr(&spec, request.image).await?;
            let parsed = match self.format {
                OutputFormat::Tsv => parse_tsv(&out.text),
                OutputFormat::Hocr => parse_hocr(&out.text),
                OutputFormat::Text => Ok(parse_text(&out.text)),
            };
            parsed.map_err(|reason| HookError::BadOutput {
                program: spec.program.clone(),
                reason,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_missing_language() {
        let stderr = b"Error opening data file /usr/share/tesseract-ocr/5/tessdata/xyz.traineddata\nPlease make sure\nFailed loading language 'xyz'\nTesseract couldn't load any languages!\n";
        assert_eq!(missing_language(stderr).as_deref(), Some("xyz"));
        assert_eq!(missing_language(b"Warning. Invalid resolution 0 dpi"), None);
    }

    #[test]
    fn command_engine_needs_input() {
        let spec = CommandSpec::new("ocr", ["-"]);
        assert!(matches!(
            CommandEngine::new("x", spec, OutputFormat::Text),
            Err(HookError::BadTemplate(_))
        ));
    }
}
