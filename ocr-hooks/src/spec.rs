//! [`CommandSpec`]: the command line template and how its placeholders are filled in.

use std::path::Path;
use std::time::Duration;

use crate::error::HookError;

/// Placeholder replaced by the path of the input file.
pub const INPUT_PLACEHOLDER: &str = "{input}";
/// Placeholder replaced by the path of the output file.
pub const OUTPUT_PLACEHOLDER: &str = "{output}";

/// Timeout used by [`CommandSpec::new`] and [`CommandSpec::parse`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A command line template: program + args, where the arguments `{input}` and `{output}` are
/// replaced by temp file paths.
///
/// A placeholder may also be part of a longer argument (`-sOutputFile={output}`); every
/// occurrence is replaced. The program itself must not contain a placeholder. No shell is
/// involved: each argument is passed to the program as is.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    pub timeout: Duration,
    /// exit codes that mean "try again later" (e.g. a licence server busy); every other non-zero
    /// code is permanent
    pub transient_exit_codes: Vec<i32>,
    /// file name suffix for the input temp file, e.g. ".pdf"
    pub input_suffix: String,
    pub output_suffix: String,
    /// environment variables set for the child on top of ours (e.g. `OMP_THREAD_LIMIT=1`
    /// for tesseract)
    pub env: Vec<(String, String)>,
}

impl CommandSpec {
    /// A template with a 120 s timeout, no transient exit codes and no file name suffixes.
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        CommandSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_TIMEOUT,
            transient_exit_codes: Vec::new(),
            input_suffix: String::new(),
            output_suffix: String::new(),
            env: Vec::new(),
        }
    }

    /// Builds a template from a command line already split into words (e.g. a TOML array):
    /// the first element is the program, the rest are its arguments.
    pub fn parse(line: &[String]) -> Result<Self, HookError> {
        let (program, args) = line
            .split_first()
            .ok_or_else(|| HookError::BadTemplate("the command line is empty".into()))?;
        let spec = CommandSpec::new(program.clone(), args.iter().cloned());
        spec.validate()?;
        Ok(spec)
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_transient_exit_codes(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.transient_exit_codes = codes.into_iter().collect();
        self
    }

    /// File name suffixes of the input and output temp files, e.g. `(".pdf", ".txt")`; some
    /// tools pick their format from the extension.
    pub fn with_suffixes(mut self, input: impl Into<String>, output: impl Into<String>) -> Self {
        self.input_suffix = input.into();
        self.output_suffix = output.into();
        self
    }

    /// Sets one environment variable for the child (replacing an earlier one of that name).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    /// Whether some argument contains `{input}` (otherwise the input goes to stdin).
    pub fn uses_input(&self) -> bool {
        self.args.iter().any(|a| a.contains(INPUT_PLACEHOLDER))
    }

    /// Whether some argument contains `{output}` (otherwise the output is stdout).
    pub fn uses_output(&self) -> bool {
        self.args.iter().any(|a| a.contains(OUTPUT_PLACEHOLDER))
    }

    /// Checks what can be checked without running anything. The fields are public, so the
    /// runner calls this again before every run.
    pub fn validate(&self) -> Result<(), HookError> {
        if self.program.trim().is_empty() {
            return Err(HookError::BadTemplate("the program is empty".into()));
        }
        if self.program.contains(INPUT_PLACEHOLDER) || self.program.contains(OUTPUT_PLACEHOLDER) {
            return Err(HookError::BadTemplate(format!(
                "the program `{}` contains a placeholder",
                self.program
            )));
        }
        if self.timeout.is_zero() {
            return Err(HookError::BadTemplate("the timeout is zero".into()));
        }
        for suffix in [&self.input_suffix, &self.output_suffix] {
            if suffix.contains('/') || suffix.contains('\0') {
                return Err(HookError::BadTemplate(format!(
                    "the file suffix `{suffix}` is not a plain name"
                )));
            }
        }
        for (name, _) in &self.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(HookError::BadTemplate(format!(
                    "the environment variable name `{name}` is not valid"
                )));
            }
        }
        Ok(())
    }

    /// The arguments with the placeholders replaced by the given paths.
    pub(crate) fn render_args(&self, input: &Path, output: &Path) -> Vec<std::ffi::OsString> {
        // Paths need not be UTF-8, so the replacement works on bytes.
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let (input, output) = (input.as_os_str().as_bytes(), output.as_os_str().as_bytes());
        self.args
            .iter()
            .map(|arg| {
                let mut out = Vec::with_capacity(arg.len());
                let mut rest = arg.as_bytes();
                while !rest.is_empty() {
                    if rest.starts_with(INPUT_PLACEHOLDER.as_bytes()) {
                        out.extend_from_slice(input);
                        rest = &rest[INPUT_PLACEHOLDER.len()..];
                    } else if rest.starts_with(OUTPUT_PLACEHOLDER.as_bytes()) {
                        out.extend_from_slice(output);
                        rest = &rest[OUTPUT_PLACEHOLDER.len()..];
                    } else {
                        out.push(rest[0]);
                        rest = &rest[1..];
                    }
                }
                std::ffi::OsString::from_vec(out)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_has_defaults() {
        let spec = CommandSpec::new("tr", ["a-z", "A-Z"]);
        assert_eq!(spec.program, "tr");
        assert_eq!(spec.args, ["a-z", "A-Z"]);
        assert_eq!(spec.timeout, Duration::from_secs(120));
        assert!(spec.transient_exit_codes.is_empty());
        assert_eq!(spec.input_suffix, "");
        assert_eq!(spec.output_suffix, "");
        assert!(!spec.uses_input() && !spec.uses_output());
    }

    #[test]
    fn parse_takes_first_element_as_program() {
        let line: Vec<String> = ["cp", "{input}", "{output}"].map(String::from).to_vec();
        let spec = CommandSpec::parse(&line).unwrap();
        assert_eq!(spec.program, "cp");
        assert_eq!(spec.args, ["{input}", "{output}"]);
        assert!(spec.uses_input() && spec.uses_output());
    }

    #[test]
    fn parse_rejects_bad_templates() {
        for line in [vec![], vec![String::new()], vec!["{input}".to_string()]] {
            let err = CommandSpec::parse(&line).unwrap_err();
            assert!(matches!(err, HookError::BadTemplate(_)), "{err:?}");
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn builders_set_fields() {
        let spec = CommandSpec::new("x", Vec::<String>::new())
            .with_timeout(Duration::from_secs(3))
            .with_transient_exit_codes([75, 111])
            .with_suffixes(".pdf", ".txt");
        assert_eq!(spec.timeout, Duration::from_secs(3));
        assert_eq!(spec.transient_exit_codes, [75, 111]);
        assert_eq!(
            (spec.input_suffix.as_str(), spec.output_suffix.as_str()),
            (".pdf", ".txt")
        );
        assert!(spec
            .clone()
            .with_timeout(Duration::ZERO)
            .validate()
            .is_err());
        assert!(spec.with_suffixes("../x", "").validate().is_err());
    }

    #[test]
    fn placeholders_are_replaced_inside_arguments() {
        let spec = CommandSpec::new(
            "gs",
            ["-sOutputFile={output}", "{input}", "-q", "{input}{input}"],
        );
        let args = spec.render_args(Path::new("/t/in.pdf"), Path::new("/t/out.png"));
        assert_eq!(
            args,
            [
                "-sOutputFile=/t/out.png",
                "/t/in.pdf",
                "-q",
                "/t/in.pdf/t/in.pdf"
            ]
        );
    }
}
