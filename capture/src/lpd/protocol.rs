//! The RFC 1179 wire format, parsed without any I/O: command lines, receive-job subcommand
//! lines and control files, from bytes to typed values.
//!
//! Every entry point takes arbitrary bytes and returns either a value or a [`ProtocolError`],
//! never panics: they are meant to be fuzzed (`parse_command`, `parse_subcommand`,
//! `parse_control_file`). Names that end up in document metadata or references are checked
//! here once: printable ASCII, no `/` or `\`, no leading `.`, at most [`MAX_NAME`] bytes.
//!
//! Wire summary (RFC 1179 §3–§7):
//!
//! - command line: one code octet, operands separated by spaces, LF. `01 queue` print waiting
//!   jobs, `02 queue` receive a job, `03 queue [list]` / `04 queue [list]` queue state short /
//!   long, `05 queue agent [list]` remove jobs.
//! - receive-job subcommand line: `01` abort, `02 count name` control file, `03 count name`
//!   data file. The file follows as `count` bytes and one zero octet. A data file with count
//!   `0` has an unspecified length (IBM i): it ends when the sender closes the connection.
//! - control file: one command per line, a letter and its operand. Upper case letters are
//!   attributes (`H` host, `P` user, `J` job name, `T` title, `C` class, `L` banner user,
//!   `N` source file name, `U` unlink), lower case letters print a data file in a format
//!   (`l` leave control characters, `f` formatted, `o` PostScript …).

use std::fmt;

/// The longest command or subcommand line accepted, LF included.
pub const MAX_LINE: usize = 4096;
/// The longest queue, file, user or list name accepted.
pub const MAX_NAME: usize = 255;
/// The largest control file accepted; real ones are a few hundred bytes.
pub const MAX_CONTROL_FILE: u64 = 64 * 1024;
/// The most digits a byte count may have (`u64::MAX` has 20).
const MAX_COUNT_DIGITS: usize = 20;

/// Why bytes are not valid RFC 1179.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("line not terminated by lf")]
    Unterminated,
    #[error("line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("line holds more than one lf")]
    EmbeddedLineFeed,
    #[error("empty line")]
    EmptyLine,
    #[error("unknown command code 0x{0:02x}")]
    UnknownCommand(u8),
    #[error("unknown receive-job subcommand 0x{0:02x}")]
    UnknownSubcommand(u8),
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("unexpected operand after the {0}")]
    TrailingOperand(&'static str),
    #[error("bad byte count {0:?}")]
    BadCount(String),
    #[error("empty control file")]
    EmptyControlFile,
    #[error("control file of {0} bytes is over the {MAX_CONTROL_FILE} byte limit")]
    ControlFileTooLarge(u64),
    #[error("bad {what} {name:?}: {reason}")]
    BadName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },
    #[error("control file line {line}: {reason}")]
    ControlFile { line: usize, reason: String },
}

/// A command, the first line of every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `01`: print any waiting jobs.
    PrintWaiting { queue: String },
    /// `02`: receive a job; receive-job subcommands follow.
    ReceiveJob { queue: String },
    /// `03` (short) and `04` (long): send the queue state, as text.
    QueueState {
        queue: String,
        long: bool,
        list: Vec<String>,
    },
    /// `05`: remove jobs.
    RemoveJobs {
        queue: String,
        agent: String,
        list: Vec<String>,
    },
}

impl Command {
    pub fn queue(&self) -> &str {
        match self {
            Command::PrintWaiting { queue }
            | Command::ReceiveJob { queue }
            | Command::QueueState { queue, .. }
            | Command::RemoveJobs { queue, .. } => queue,
        }
    }
}

/// A receive-job subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
    /// `01`: forget everything received for this job.
    Abort,
    /// `02 count name`: a control file of `len` bytes (never 0) follows.
    ControlFile { len: u64, name: FileName },
    /// `03 count name`: a data file follows.
    DataFile { len: DataLength, name: FileName },
}

/// How a data file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLength {
    /// `len` bytes, then one zero octet.
    Exact(u64),
    /// Count `0`: the data runs until the sender closes the connection (IBM i).
    UntilClose,
}

/// A control or data file name (`cfA123host`, `dfA123host`), checked by [`check_name`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileName(String);

impl FileName {
    pub fn parse(bytes: &[u8]) -> Result<FileName, ProtocolError> {
        check_name("file name", bytes).map(FileName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The job number: the digits after the three-letter prefix (`123` in `dfA123host`).
    pub fn job_number(&self) -> Option<&str> {
        let rest = self.0.get(3..)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0).then(|| &rest[..digits])
    }

    /// The host that originated the job: what follows the job number (`host` in `dfA123host`).
    pub fn host(&self) -> Option<&str> {
        let number = self.job_number()?;
        let host = self.0.get(3 + number.len()..)?;
        (!host.is_empty()).then_some(host)
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a control file says about a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlFile {
    /// `H`: the host the job came from.
    pub host: Option<String>,
    /// `P`: the user who submitted it.
    pub user: Option<String>,
    /// `J`: the job name.
    pub job_name: Option<String>,
    /// `T`: the title.
    pub title: Option<String>,
    /// `C`: the class.
    pub class: Option<String>,
    /// `L`: the user name on the banner page.
    pub banner_user: Option<String>,
    /// `N`: the source file names, in order (one per data file, before or after its print line).
    pub source_names: Vec<String>,
    /// Lower case lines: which data file to print, in which format.
    pub prints: Vec<PrintLine>,
    /// `U`: data files to remove after printing.
    pub unlinks: Vec<FileName>,
    /// Every other line (`A`, `D`, `Q`, `I`, `W`, `M`, fonts, IBM i `DESTOPT` lines …).
    pub other: Vec<(u8, String)>,
}

/// A print line: `l dfA123host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintLine {
    /// The format letter (`l`, `f`, `o` …).
    pub format: u8,
    pub data_file: FileName,
}

impl ControlFile {
    /// The data files the job prints, each once, in the order of their first print line.
    pub fn data_files(&self) -> Vec<&FileName> {
        let mut files: Vec<&FileName> = Vec::new();
        for print in &self.prints {
            if !files.contains(&&print.data_file) {
                files.push(&print.data_file);
            }
        }
        files
    }

    /// The format letter of the first print line of `data_file`.
    pub fn format_of(&self, data_file: &FileName) -> Option<u8> {
        self.prints
            .iter()
            .find(|print| &print.data_file == data_file)
            .map(|print| print.format)
    }

    /// The `N` source file name of `data_file`: the i-th `N` line names the i-th data file
    /// (BSD lpr and rlpr write it after the print line, LPRng before); a single `N` line
    /// names every data file.
    pub fn source_name_of(&self, data_file: &FileName) -> Option<&str> {
        let index = self
            .data_files()
            .iter()
            .position(|file| *file == data_file)?;
        match self.source_names.as_slice() {
            [only] => Some(only.as_str()),
            names => names.get(index).map(String::as_str),
        }
    }
}

/// Parses the first line of a connection, LF included.
pub fn parse_command(line: &[u8]) -> Result<Command, ProtocolError> {
    let (code, operands) = split_line(line)?;
    let mut operands = Operands::new(operands);
    let command = match code {
        0x01 => Command::PrintWaiting {
            queue: operands.queue()?,
        },
        0x02 => Command::ReceiveJob {
            queue: operands.queue()?,
        },
        0x03 | 0x04 => Command::QueueState {
            queue: operands.queue()?,
            long: code == 0x04,
            list: operands.list()?,
        },
        0x05 => Command::RemoveJobs {
            queue: operands.queue()?,
            agent: operands.name("agent")?,
            list: operands.list()?,
        },
        other => return Err(ProtocolError::UnknownCommand(other)),
    };
    if matches!(
        command,
        Command::PrintWaiting { .. } | Command::ReceiveJob { .. }
    ) {
        operands.end("queue name")?;
    }
    Ok(command)
}

/// Parses a receive-job subcommand line, LF included.
pub fn parse_subcommand(line: &[u8]) -> Result<Subcommand, ProtocolError> {
    let (code, operands) = split_line(line)?;
    let mut operands = Operands::new(operands);
    let subcommand = match code {
        0x01 => return Ok(Subcommand::Abort),
        0x02 => {
            let len = operands.count()?;
            if len == 0 {
                return Err(ProtocolError::EmptyControlFile);
            }
            if len > MAX_CONTROL_FILE {
                return Err(ProtocolError::ControlFileTooLarge(len));
            }
            Subcommand::ControlFile {
                len,
                name: FileName::parse(operands.next("control file name")?)?,
            }
        }
        0x03 => {
            let len = match operands.count()? {
                0 => DataLength::UntilClose,
                len => DataLength::Exact(len),
            };
            Subcommand::DataFile {
                len,
                name: FileName::parse(operands.next("data file name")?)?,
            }
        }
        other => return Err(ProtocolError::UnknownSubcommand(other)),
    };
    operands.end("file name")?;
    Ok(subcommand)
}

/// Parses a control file (its bytes, without the zero octet that follows them on the wire).
///
/// Operands are read as UTF-8, or as Latin-1 when they are not valid UTF-8; control characters
/// become spaces. A print or unlink line must name a valid data file; a line starting with a
/// byte that is not printable ASCII is an error. Empty lines and a CR before the LF are
/// tolerated.
pub fn parse_control_file(bytes: &[u8]) -> Result<ControlFile, ProtocolError> {
    let mut control = ControlFile::default();
    for (index, raw) in bytes.split(|&byte| byte == b'\n').enumerate() {
        let line_number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some((&letter, operand)) = raw.split_first() else {
            continue;
        };
        if !letter.is_ascii_graphic() {
            return Err(ProtocolError::ControlFile {
                line: line_number,
                reason: format!("bad command letter 0x{letter:02x}"),
            });
        }
        let file = |what: &'static str| {
            check_name(what, operand)
                .map(FileName)
                .map_err(|error| ProtocolError::ControlFile {
                    line: line_number,
                    reason: error.to_string(),
                })
        };
        match letter {
            b'H' => control.host = text_value(operand),
            b'P' => control.user = text_value(operand),
            b'J' => control.job_name = text_value(operand),
            b'T' => control.title = text_value(operand),
            b'C' => control.class = text_value(operand),
            b'L' => control.banner_user = text_value(operand),
            b'N' => control.source_names.push(text(operand)),
            b'U' => control.unlinks.push(file("unlinked file name")?),
            b'a'..=b'z' => control.prints.push(PrintLine {
                format: letter,
                data_file: file("data file name")?,
            }),
            other => control.other.push((other, text(operand))),
        }
    }
    Ok(control)
}

/// Checks a queue, file, agent or list name: 1 to [`MAX_NAME`] bytes of printable ASCII,
/// without `/` or `\`, not starting with `.` (so never `..`).
pub fn check_name(what: &'static str, bytes: &[u8]) -> Result<String, ProtocolError> {
    let bad = |reason| ProtocolError::BadName {
        what,
        name: escape(bytes),
        reason,
    };
    if bytes.is_empty() {
        return Err(bad("empty"));
    }
    if bytes.len() > MAX_NAME {
        return Err(bad("too long"));
    }
    if !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(bad("not printable ascii"));
    }
    if bytes.iter().any(|&byte| byte == b'/' || byte == b'\\') {
        return Err(bad("holds a path separator"));
    }
    if bytes.starts_with(b".") {
        return Err(bad("starts with a dot"));
    }
    Ok(bytes.iter().map(|&byte| char::from(byte)).collect())
}

/// Bytes for a log line or an error: printable ASCII as is, the rest escaped, at most 64 bytes.
pub fn escape(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(64)];
    let mut text = shown.escape_ascii().to_string();
    if bytes.len() > shown.len() {
        text.push('…');
    }
    text
}

/// Splits a line into its code octet and its operands, checking the terminating LF.
fn split_line(line: &[u8]) -> Result<(u8, &[u8]), ProtocolError> {
    if line.len() > MAX_LINE {
        return Err(ProtocolError::LineTooLong);
    }
    let body = line
        .strip_suffix(b"\n")
        .ok_or(ProtocolError::Unterminated)?;
    if body.contains(&b'\n') {
        return Err(ProtocolError::EmbeddedLineFeed);
    }
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    body.split_first()
        .map(|(&code, operands)| (code, operands))
        .ok_or(ProtocolError::EmptyLine)
}

/// The space-separated operands of a line.
struct Operands<'a> {
    words: std::vec::IntoIter<&'a [u8]>,
}

impl<'a> Operands<'a> {
    fn new(bytes: &'a [u8]) -> Operands<'a> {
        let words: Vec<&[u8]> = bytes
            .split(|&byte| byte == b' ' || byte == b'\t')
            .filter(|word| !word.is_empty())
            .collect();
        Operands {
            words: words.into_iter(),
        }
    }

    fn next(&mut self, what: &'static str) -> Result<&'a [u8], ProtocolError> {
        self.words.next().ok_or(ProtocolError::Missing(what))
    }

    fn name(&mut self, what: &'static str) -> Result<String, ProtocolError> {
        check_name(what, self.next(what)?)
    }

    fn queue(&mut self) -> Result<String, ProtocolError> {
        self.name("queue name")
    }

    fn count(&mut self) -> Result<u64, ProtocolError> {
        let digits = self.next("byte count")?;
        if digits.len() > MAX_COUNT_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ProtocolError::BadCount(escape(digits)));
        }
        digits.iter().try_fold(0u64, |total, &digit| {
            total
                .checked_mul(10)
                .and_then(|total| total.checked_add(u64::from(digit - b'0')))
                .ok_or_else(|| ProtocolError::BadCount(escape(digits)))
        })
    }

    fn list(&mut self) -> Result<Vec<String>, ProtocolError> {
        self.words
            .by_ref()
            .map(|word| check_name("list entry", word))
            .collect()
    }

    fn end(&mut self, after: &'static str) -> Result<(), ProtocolError> {
        match self.words.next() {
            None => Ok(()),
            Some(_) => Err(ProtocolError::TrailingOperand(after)),
        }
    }
}

/// An operand as text: UTF-8, else Latin-1; control characters become spaces; trimmed.
fn text(bytes: &[u8]) -> String {
    let decoded = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    };
    decoded
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn text_value(bytes: &[u8]) -> Option<String> {
    let value = text(bytes);
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> FileName {
        FileName(text.to_string())
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse_command(b"\x02QPRINT\n"),
            Ok(Command::ReceiveJob {
                queue: "QPRINT".into()
            })
        );
        assert_eq!(
            parse_command(b"\x01FACTURES\r\n"),
            Ok(Command::PrintWaiting {
                queue: "FACTURES".into()
            })
        );
        assert_eq!(
            parse_command(b"\x03Q1 root 12\n"),
            Ok(Command::QueueState {
                queue: "Q1".into(),
                long: false,
                list: vec!["root".into(), "12".into()]
            })
        );
        assert_eq!(
            parse_command(b"\x04Q1\n"),
            Ok(Command::QueueState {
                queue: "Q1".into(),
                long: true,
                list: vec![]
            })
        );
        assert_eq!(
            parse_command(b"\x05Q1 root 12 13\n"),
            Ok(Command::RemoveJobs {
                queue: "Q1".into(),
                agent: "root".into(),
                list: vec!["12".into(), "13".into()]
            })
        );
    }

    #[test]
    fn bad_commands_are_errors() {
        assert_eq!(
            parse_command(b"\x02QPRINT"),
            Err(ProtocolError::Unterminated)
        );
        assert_eq!(parse_command(b""), Err(ProtocolError::Unterminated));
        assert_eq!(parse_command(b"\n"), Err(ProtocolError::EmptyLine));
        assert_eq!(
            parse_command(b"\x02\n"),
            Err(ProtocolError::Missing("queue name"))
        );
        assert_eq!(
            parse_command(b"\x09Q\n"),
            Err(ProtocolError::UnknownCommand(0x09))
        );
        assert_eq!(
            parse_command(b"GET / HTTP/1.1\r\n"),
            Err(ProtocolError::UnknownCommand(b'G'))
        );
        assert_eq!(
            parse_command(b"\x02Q1 Q2\n"),
            Err(ProtocolError::TrailingOperand("queue name"))
        );
        assert_eq!(
            parse_command(b"\x02Q1\nmore\n"),
            Err(ProtocolError::EmbeddedLineFeed)
        );
        let long = [&[0x02][..], &[b'Q'; MAX_LINE][..], b"\n"].concat();
        assert_eq!(parse_command(&long), Err(ProtocolError::LineTooLong));
        let long_queue = [&[0x02][..], &[b'Q'; MAX_NAME + 1][..], b"\n"].concat();
        assert!(matches!(
            parse_command(&long_queue),
            Err(ProtocolError::BadName {
                reason: "too long",
                ..
            })
        ));
    }

    #[test]
    fn hostile_queue_names_are_refused() {
        for line in [
            &b"\x02../etc\n"[..],
            b"\x02a/b\n",
            b"\x02a\\b\n",
            b"\x02.hidden\n",
            b"\x02caf\xc3\xa9\n",
            b"\x02\xff\xfe\n",
            b"\x02q\x00\n",
        ] {
            assert!(
                matches!(parse_command(line), Err(ProtocolError::BadName { .. })),
                "{}",
                escape(line)
            );
        }
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse_subcommand(b"\x01\n"), Ok(Subcommand::Abort));
        assert_eq!(
            parse_subcommand(b"\x0263 cfA519vm\n"),
            Ok(Subcommand::ControlFile {
                len: 63,
                name: name("cfA519vm")
            })
        );
        assert_eq!(
            parse_subcommand(b"\x036 dfA519vm\n"),
            Ok(Subcommand::DataFile {
                len: DataLength::Exact(6),
                name: name("dfA519vm")
            })
        );
        assert_eq!(
            parse_subcommand(b"\x030 dfA001AS400\n"),
            Ok(Subcommand::DataFile {
                len: DataLength::UntilClose,
                name: name("dfA001AS400")
            })
        );
    }

    #[test]
    fn hostile_counts_are_errors() {
        for line in [
            &b"\x03-5 dfA001h\n"[..],
            b"\x03+5 dfA001h\n",
            b"\x035x dfA001h\n",
            b"\x030x10 dfA001h\n",
            b"\x031e9 dfA001h\n",
            b"\x0318446744073709551616 dfA001h\n",
            b"\x03999999999999999999999 dfA001h\n",
            b"\x03\xff dfA001h\n",
        ] {
            assert!(
                matches!(parse_subcommand(line), Err(ProtocolError::BadCount(_))),
                "{}",
                escape(line)
            );
        }
        assert_eq!(
            parse_subcommand(b"\x0318446744073709551615 dfA001h\n"),
            Ok(Subcommand::DataFile {
                len: DataLength::Exact(u64::MAX),
                name: name("dfA001h")
            })
        );
        assert_eq!(
            parse_subcommand(b"\x020 cfA001h\n"),
            Err(ProtocolError::EmptyControlFile)
        );
        assert_eq!(
            parse_subcommand(b"\x0299999999 cfA001h\n"),
            Err(ProtocolError::ControlFileTooLarge(99_999_999))
        );
        assert_eq!(
            parse_subcommand(b"\x03\n"),
            Err(ProtocolError::Missing("byte count"))
        );
        assert_eq!(
            parse_subcommand(b"\x0312\n"),
            Err(ProtocolError::Missing("data file name"))
        );
        assert_eq!(
            parse_subcommand(b"\x0312 dfA001h extra\n"),
            Err(ProtocolError::TrailingOperand("file name"))
        );
        assert_eq!(
            parse_subcommand(b"\x0412 dfA001h\n"),
            Err(ProtocolError::UnknownSubcommand(4))
        );
        assert_eq!(
            parse_subcommand(b"\x0312 dfA001h"),
            Err(ProtocolError::Unterminated)
        );
    }

    #[test]
    fn hostile_file_names_are_refused() {
        for line in [
            &b"\x0312 ../../etc/passwd\n"[..],
            b"\x0312 ..\n",
            b"\x0312 dfA/001\n",
            b"\x0312 dfA\\001\n",
            b"\x0312 df\xc3\xa9\n",
            b"\x0312 df\x80\x81\n",
            b"\x0312 df\x7f\n",
        ] {
            assert!(
                matches!(parse_subcommand(line), Err(ProtocolError::BadName { .. })),
                "{}",
                escape(line)
            );
        }
    }

    #[test]
    fn file_names_carry_job_number_and_host() {
        let file = name("dfA123as400.example.com");
        assert_eq!(file.job_number(), Some("123"));
        assert_eq!(file.host(), Some("as400.example.com"));
        let odd = name("job.bin");
        assert_eq!(odd.job_number(), None);
        assert_eq!(odd.host(), None);
        assert_eq!(name("cfA12").job_number(), Some("12"));
        assert_eq!(name("cfA12").host(), None);
        assert_eq!(name("c").job_number(), None);
    }

    #[test]
    fn rlpr_control_file_parses() {
        let control = parse_control_file(
            b"Hvm\nProot\nTmytitle\nJmyjob\nCvm\nLroot\nfdfA519vm\nUdfA519vm\nNa.txt\n",
        )
        .expect("valid control file");
        assert_eq!(control.host.as_deref(), Some("vm"));
        assert_eq!(control.user.as_deref(), Some("root"));
        assert_eq!(control.title.as_deref(), Some("mytitle"));
        assert_eq!(control.job_name.as_deref(), Some("myjob"));
        assert_eq!(control.class.as_deref(), Some("vm"));
        assert_eq!(control.banner_user.as_deref(), Some("root"));
        assert_eq!(control.data_files(), vec![&name("dfA519vm")]);
        assert_eq!(control.format_of(&name("dfA519vm")), Some(b'f'));
        assert_eq!(control.source_name_of(&name("dfA519vm")), Some("a.txt"));
        assert_eq!(control.unlinks, vec![name("dfA519vm")]);
    }

    #[test]
    fn lprng_control_file_pairs_names_with_files() {
        let control = parse_control_file(
            b"Hlocalhost\nProot\nJjj\nCA\nLroot\nTtt\nAroot@localhost+720\nD2026-12-04\nQQ1\n\
              Na.txt\nldfA720localhost\nldfA720localhost\nNb.txt\nldfB720localhost\n\
              UdfA720localhost\nUdfB720localhost\n",
        )
        .expect("valid control file");
        assert_eq!(
            control.data_files(),
            vec![&name("dfA720localhost"), &name("dfB720localhost")]
        );
        assert_eq!(
            control.source_name_of(&name("dfA720localhost")),
            Some("a.txt")
        );
        assert_eq!(
            control.source_name_of(&name("dfB720localhost")),
            Some("b.txt")
        );
        assert_eq!(control.source_name_of(&name("dfC720localhost")), None);
        assert!(control.other.contains(&(b'Q', "Q1".to_string())));
    }

    #[test]
    fn control_file_text_is_lenient_and_names_are_strict() {
        let control = parse_control_file(b"Tfacture \xe9t\xe9\r\nPjos\xc3\xa9\n\nJa\x07b\nHx")
            .expect("valid control file");
        assert_eq!(control.title.as_deref(), Some("facture été"));
        assert_eq!(control.user.as_deref(), Some("josé"));
        assert_eq!(control.job_name.as_deref(), Some("a b"));
        assert_eq!(control.host.as_deref(), Some("x"));
        assert!(control.prints.is_empty());

        assert!(matches!(
            parse_control_file(b"Hx\nl../../etc/passwd\n"),
            Err(ProtocolError::ControlFile { line: 2, .. })
        ));
        assert!(matches!(
            parse_control_file(b"U/etc/passwd\n"),
            Err(ProtocolError::ControlFile { line: 1, .. })
        ));
        assert!(matches!(
            parse_control_file(b"Hx\n\x00\x01\x02"),
            Err(ProtocolError::ControlFile { line: 2, .. })
        ));
        assert!(matches!(
            parse_control_file(b"l\n"),
            Err(ProtocolError::ControlFile { line: 1, .. })
        ));
        assert_eq!(parse_control_file(b""), Ok(ControlFile::default()));
    }

    #[test]
    fn random_bytes_never_panic() {
        // A tiny deterministic generator: enough to walk every branch with odd bytes.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next() % 6 {
                    0 => b'\n',
                    1 => b' ',
                    2 => (next() % 6) as u8,
                    3 => b'0' + (next() % 10) as u8,
                    _ => next() as u8,
                })
                .collect();
            let _ = parse_control_file(&bytes);
            let line = [bytes.as_slice(), b"\n"].concat();
            let _ = parse_command(&line);
            let _ = parse_subcommand(&line);
        }
    }
}
