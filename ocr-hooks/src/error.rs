//! [`HookError`] and the transient / permanent classification.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a hook run failed. [`HookError::is_transient`] tells whether trying again later may help.
///
/// Messages are lowercase without a trailing period; the underlying `io::Error`, when there is
/// one, is the [`source`](std::error::Error::source), not part of the message.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The template is unusable (empty program, placeholder in the program, zero timeout…).
    /// Permanent.
    #[error("bad command template: {0}")]
    BadTemplate(String),

    /// The program does not exist (or is not on `PATH`). Permanent.
    #[error("program `{program}` not found")]
    ProgramNotFound {
        program: String,
        #[source]
        source: io::Error,
    },

    /// The program exists but cannot be executed (permissions, not an executable format).
    /// Permanent.
    #[error("program `{program}` is not executable")]
    NotExecutable {
        program: String,
        #[source]
        source: io::Error,
    },

    /// Spawning failed because the system is short of a resource (EAGAIN, ENOMEM, EMFILE,
    /// ENFILE). Transient.
    #[error("could not start `{program}`: out of resources")]
    SpawnResources {
        program: String,
        #[source]
        source: io::Error,
    },

    /// Spawning failed for another reason. Permanent.
    #[error("could not start `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },

    /// The program ran longer than the template's timeout; it and its process group were
    /// killed. Transient.
    #[error("`{program}` timed out after {} ms", timeout.as_millis())]
    Timeout { program: String, timeout: Duration },

    /// The program was killed by a signal it did not get from us (e.g. the OOM killer).
    /// Transient.
    #[error("`{program}` was killed by signal {signal}{}", tail_suffix(stderr))]
    Signal {
        program: String,
        signal: i32,
        stderr: String,
    },

    /// The program exited with one of the template's transient exit codes. Transient.
    #[error("`{program}` exited with transient code {code}{}", tail_suffix(stderr))]
    TransientExit {
        program: String,
        code: i32,
        stderr: String,
    },

    /// The program exited with any other non-zero code. `stderr` holds the last ~500 bytes of
    /// its stderr. Permanent.
    #[error("`{program}` exited with code {code}{}", tail_suffix(stderr))]
    Exit {
        program: String,
        code: i32,
        stderr: String,
    },

    /// The program exited with 0 but the template has `{output}` and the file was not written.
    /// Permanent.
    #[error("`{program}` did not write its output file {}", path.display())]
    OutputMissing { program: String, path: PathBuf },

    /// The OCR engine's program is missing: `engine` names the engine (`tesseract`), so the
    /// message reads "tesseract is not installed". Permanent.
    #[error("{engine} is not installed: program `{program}` not found")]
    NotInstalled {
        engine: String,
        program: String,
        #[source]
        source: io::Error,
    },

    /// The OCR engine has no data for a requested language (tesseract: no
    /// `<language>.traineddata`). Permanent.
    #[error("{engine} has no data for language `{language}`")]
    MissingLanguage { engine: String, language: String },

    /// The OCR request itself is unusable (languages with odd characters, empty). Permanent.
    #[error("bad ocr request: {0}")]
    BadRequest(String),

    /// The program exited with 0 but its output cannot be parsed (not UTF-8, not the expected
    /// TSV or hOCR). Permanent.
    #[error("`{program}` wrote output that cannot be read: {reason}")]
    BadOutput { program: String, reason: String },

    /// ocrmypdf finished, but tesseract passed its per-page timeout on `pages` (numbered from 1;
    /// 0: ocrmypdf did not say which) and those pages have no text. The output is removed.
    /// Transient.
    #[error("`{program}`: tesseract timed out after {:.1} s on {}, which would have no text", timeout.as_secs_f64(), page_list(pages))]
    OcrPagesTimedOut {
        program: String,
        pages: Vec<u32>,
        timeout: Duration,
    },

    /// One page of [`recognize_pages`](crate::recognize_pages) failed; `index` counts from 1.
    /// Transient when `error` is.
    #[error("page {index} ({}): {error}", path.display())]
    Page {
        index: usize,
        path: PathBuf,
        error: Box<HookError>,
    },

    /// Reading or writing the files around the run failed (temp dir, input, output).
    /// Transient when the cause is resource exhaustion (disk full, quota, too many files,
    /// memory), permanent otherwise.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl HookError {
    /// Whether the same run may succeed later (timeout, resources, signal, configured exit
    /// code). Everything else is permanent: retrying would fail the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            HookError::SpawnResources { .. }
            | HookError::Timeout { .. }
            | HookError::Signal { .. }
            | HookError::TransientExit { .. }
            | HookError::OcrPagesTimedOut { .. } => true,
            HookError::Io { source, .. } => is_resource_exhaustion(source, true),
            HookError::Page { error, .. } => error.is_transient(),
            HookError::BadTemplate(_)
            | HookError::ProgramNotFound { .. }
            | HookError::NotExecutable { .. }
            | HookError::Spawn { .. }
            | HookError::Exit { .. }
            | HookError::OutputMissing { .. }
            | HookError::NotInstalled { .. }
            | HookError::MissingLanguage { .. }
            | HookError::BadRequest(_)
            | HookError::BadOutput { .. } => false,
        }
    }

    /// Classifies an error from spawning the program.
    pub(crate) fn from_spawn(program: &str, source: io::Error) -> Self {
        let program = program.to_owned();
        if is_resource_exhaustion(&source, false) {
            return HookError::SpawnResources { program, source };
        }
        match source.kind() {
            io::ErrorKind::NotFound => HookError::ProgramNotFound { program, source },
            io::ErrorKind::PermissionDenied => HookError::NotExecutable { program, source },
            _ if source.raw_os_error() == Some(libc::ENOEXEC) => {
                HookError::NotExecutable { program, source }
            }
            _ => HookError::Spawn { program, source },
        }
    }

    /// The error itself, or for [`HookError::Page`] the page's underlying error.
    pub fn root(&self) -> &HookError {
        match self {
            HookError::Page { error, .. } => error.root(),
            other => other,
        }
    }

    /// Whether this is (or, for a page, wraps) a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.root(),
            HookError::Timeout { .. } | HookError::OcrPagesTimedOut { .. }
        )
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        HookError::Io {
            context: context.into(),
            source,
        }
    }
}

/// EAGAIN, ENOMEM, EMFILE, ENFILE; with `storage`, also ENOSPC and EDQUOT.
fn is_resource_exhaustion(err: &io::Error, storage: bool) -> bool {
    match err.raw_os_error() {
        Some(libc::EAGAIN | libc::ENOMEM | libc::EMFILE | libc::ENFILE) => true,
        Some(libc::ENOSPC | libc::EDQUOT) => storage,
        _ => false,
    }
}

/// "page 3", "pages 3, 12", "a page" (0: unknown).
fn page_list(pages: &[u32]) -> String {
    match pages {
        [] | [0] => "a page".into(),
        [one] => format!("page {one}"),
        many => {
            let numbers: Vec<String> = many.iter().map(u32::to_string).collect();
            format!("pages {}", numbers.join(", "))
        }
    }
}

fn tail_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// Maximum number of stderr bytes kept in an error message.
pub(crate) const STDERR_TAIL: usize = 500;

/// The last ~[`STDERR_TAIL`] bytes of `stderr`, cut at a character boundary, lossily decoded,
/// trimmed, with a trailing period removed so the whole message has none.
pub(crate) fn stderr_tail(stderr: &[u8]) -> String {
    let mut start = stderr.len().saturating_sub(STDERR_TAIL);
    // Do not start in the middle of a UTF-8 sequence (at most 3 continuation bytes).
    let limit = (start + 3).min(stderr.len());
    while start < limit && (stderr[start] & 0xC0) == 0x80 {
        start += 1;
    }
    let text = String::from_utf8_lossy(&stderr[start..]);
    let text = text.trim();
    let text = text.strip_suffix('.').unwrap_or(text).trim_end();
    let mut out = String::with_capacity(text.len() + 4);
    if start > 0 {
        out.push('…');
    }
    out.push_str(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_end_at_a_char_boundary() {
        let mut stderr = "é".repeat(400).into_bytes(); // 800 bytes
        stderr.extend_from_slice(b"fatal: boom.\n");
        let tail = stderr_tail(&stderr);
        assert!(tail.starts_with('…'));
        assert!(tail.ends_with("fatal: boom"));
        assert!(!tail.contains('\u{FFFD}'));
        assert!(tail.len() <= STDERR_TAIL + '…'.len_utf8());
    }

    #[test]
    fn short_stderr_is_kept_whole() {
        assert_eq!(stderr_tail(b"  no such page\n"), "no such page");
        assert_eq!(stderr_tail(b""), "");
    }

    #[test]
    fn messages_are_lowercase_without_period() {
        let errors = [
            HookError::Exit {
                program: "tesseract".into(),
                code: 3,
                stderr: "cannot read".into(),
            },
            HookError::TransientExit {
                program: "x".into(),
                code: 75,
                stderr: String::new(),
            },
            HookError::Timeout {
                program: "x".into(),
                timeout: Duration::from_millis(300),
            },
            HookError::BadTemplate("the program is empty".into()),
            HookError::OcrPagesTimedOut {
                program: "ocrmypdf".into(),
                pages: vec![3, 12],
                timeout: Duration::from_millis(500),
            },
        ];
        for err in errors {
            let msg = err.to_string();
            assert_eq!(msg, msg.to_lowercase());
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn spawn_errors_are_classified() {
        let e = |code| HookError::from_spawn("p", io::Error::from_raw_os_error(code));
        assert!(matches!(e(libc::ENOENT), HookError::ProgramNotFound { .. }));
        assert!(matches!(e(libc::EACCES), HookError::NotExecutable { .. }));
        assert!(matches!(e(libc::ENOEXEC), HookError::NotExecutable { .. }));
        for code in [libc::EAGAIN, libc::ENOMEM, libc::EMFILE, libc::ENFILE] {
            assert!(e(code).is_transient(), "{code}");
        }
        assert!(!e(libc::E2BIG).is_transient());
        assert!(HookError::io("x", io::Error::from_raw_os_error(libc::ENOSPC)).is_transient());
        assert!(!HookError::io("x", io::Error::from_raw_os_error(libc::ENOENT)).is_transient());
    }
}
