//! Untrusted bytes from an LPD peer → `capture::lpd::protocol` (`parse_command`,
//! `parse_subcommand`, `parse_control_file`): never panics, and what parses re-serialises
//! into a line that parses to the same value.
//!
//! Input: byte 0 picks the mode, the rest is what the peer sends.
//! - 0: one command line; 1: one subcommand line; 2: one control file; 3: `FileName::parse`
//!   and its accessors.
//! - anything else: a whole connection as the receiver frames it (`server::connection` and
//!   `receive_jobs`, without sockets or spool): a command line, then for a receive-job command
//!   subcommand lines, each control file's `count` bytes and zero octet, each data file's
//!   bytes and zero octet, a count-0 data file running to the end. The session logic itself
//!   is crate-private and needs an `Inbox` (storage), so it is not driven here.
#![no_main]

use capture::lpd::protocol::{
    check_name, escape, parse_command, parse_control_file, parse_subcommand, Command, ControlFile,
    DataLength, FileName, ProtocolError, Subcommand, MAX_CONTROL_FILE, MAX_LINE, MAX_NAME,
};
use libfuzzer_sys::fuzz_target;

fn assert_name(name: &str) {
    assert!(
        check_name("name", name.as_bytes()).is_ok(),
        "a parsed name fails check_name: {name:?}"
    );
    assert!(!name.is_empty() && name.len() <= MAX_NAME);
}

fn command_line(command: &Command) -> Vec<u8> {
    let (code, words): (u8, Vec<&str>) = match command {
        Command::PrintWaiting { queue } => (1, vec![queue]),
        Command::ReceiveJob { queue } => (2, vec![queue]),
        Command::QueueState { queue, long, list } => (
            if *long { 4 } else { 3 },
            std::iter::once(queue.as_str())
                .chain(list.iter().map(String::as_str))
                .collect(),
        ),
        Command::RemoveJobs { queue, agent, list } => (
            5,
            [queue.as_str(), agent.as_str()]
                .into_iter()
                .chain(list.iter().map(String::as_str))
                .collect(),
        ),
    };
    let mut line = vec![code];
    line.extend_from_slice(words.join(" ").as_bytes());
    line.push(b'\n');
    line
}

fn check_command(line: &[u8]) -> Option<Command> {
    let parsed = parse_command(line);
    if line.len() > MAX_LINE {
        assert_eq!(parsed, Err(ProtocolError::LineTooLong));
    }
    match parsed {
        Ok(command) => {
            assert_name(command.queue());
            if let Command::QueueState { list, .. } | Command::RemoveJobs { list, .. } = &command {
                list.iter().for_each(|name| assert_name(name));
            }
            if let Command::RemoveJobs { agent, .. } = &command {
                assert_name(agent);
            }
            let again = command_line(&command);
            if again.len() <= MAX_LINE {
                assert_eq!(
                    parse_command(&again).as_ref(),
                    Ok(&command),
                    "command does not round-trip through {}",
                    escape(&again)
                );
            }
            Some(command)
        }
        Err(error) => {
            let _ = error.to_string();
            None
        }
    }
}

fn check_file_name(name: &FileName) {
    assert_name(name.as_str());
    assert_eq!(FileName::parse(name.as_str().as_bytes()).as_ref(), Ok(name));
    if let Some(number) = name.job_number() {
        assert!(!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(name.as_str().get(3..3 + number.len()), Some(number));
        if let Some(host) = name.host() {
            assert_eq!(name.as_str().len(), 3 + number.len() + host.len());
            assert!(name.as_str().ends_with(host));
        }
    } else {
        assert_eq!(name.host(), None);
    }
    let _ = name.to_string();
}

fn check_subcommand(line: &[u8]) -> Option<Subcommand> {
    match parse_subcommand(line) {
        Ok(subcommand) => {
            let again = match &subcommand {
                Subcommand::Abort => None,
                Subcommand::ControlFile { len, name } => {
                    assert!((1..=MAX_CONTROL_FILE).contains(len));
                    check_file_name(name);
                    Some(format!("\x02{len} {name}\n"))
                }
                Subcommand::DataFile { len, name } => {
                    check_file_name(name);
                    let count = match len {
                        DataLength::Exact(len) => {
                            assert_ne!(*len, 0);
                            *len
                        }
                        DataLength::UntilClose => 0,
                    };
                    Some(format!("\x03{count} {name}\n"))
                }
            };
            if let Some(again) = again {
                assert_eq!(
                    parse_subcommand(again.as_bytes()).as_ref(),
                    Ok(&subcommand),
                    "subcommand does not round-trip through {again:?}"
                );
            }
            Some(subcommand)
        }
        Err(error) => {
            let _ = error.to_string();
            None
        }
    }
}

fn check_control_file(bytes: &[u8]) -> Option<ControlFile> {
    match parse_control_file(bytes) {
        Ok(control) => {
            let values = [
                &control.host,
                &control.user,
                &control.job_name,
                &control.title,
                &control.class,
                &control.banner_user,
            ];
            for value in values.into_iter().flatten() {
                assert!(!value.is_empty(), "an attribute is Some(\"\")");
                assert_eq!(value.trim(), value, "an attribute is not trimmed");
                assert!(!value.chars().any(char::is_control));
            }
            for name in &control.source_names {
                assert!(!name.chars().any(char::is_control));
            }
            for (letter, text) in &control.other {
                assert!(letter.is_ascii_graphic() && !letter.is_ascii_lowercase());
                assert!(!text.chars().any(char::is_control));
            }
            control.unlinks.iter().for_each(check_file_name);
            let files = control.data_files();
            for (index, file) in files.iter().enumerate() {
                check_file_name(file);
                assert!(
                    !files[..index].contains(file),
                    "data_files() repeats a file"
                );
                let format = control
                    .format_of(file)
                    .expect("a printed file has a format");
                assert!(format.is_ascii_lowercase());
                if let Some(name) = control.source_name_of(file) {
                    assert!(control.source_names.iter().any(|n| n == name));
                }
            }
            assert_eq!(files.is_empty(), control.prints.is_empty());
            Some(control)
        }
        Err(error) => {
            let _ = error.to_string();
            None
        }
    }
}

/// The peer's bytes, consumed the way `server::Conn` reads them.
struct Peer<'a> {
    rest: &'a [u8],
}

impl<'a> Peer<'a> {
    /// A line with its LF; `None` at the end or when it would pass MAX_LINE (both end the
    /// connection in the server).
    fn line(&mut self) -> Option<&'a [u8]> {
        let end = self.rest.iter().position(|&b| b == b'\n')? + 1;
        if end > MAX_LINE {
            return None;
        }
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }

    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.rest.len())?;
        let (bytes, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(bytes)
    }

    fn zero(&mut self) -> bool {
        matches!(self.take(1), Some([0]))
    }
}

fn session(bytes: &[u8]) {
    let mut peer = Peer { rest: bytes };
    let Some(line) = peer.line() else { return };
    let Some(Command::ReceiveJob { .. }) = check_command(line) else {
        return;
    };
    while let Some(line) = peer.line() {
        let Some(subcommand) = check_subcommand(line) else {
            return;
        };
        match subcommand {
            Subcommand::Abort => {}
            Subcommand::ControlFile { len, .. } => {
                let Some(control) = peer.take(len) else {
                    return;
                };
                if !peer.zero() {
                    return;
                }
                if check_control_file(control).is_none() {
                    return;
                }
            }
            Subcommand::DataFile { len, .. } => match len {
                DataLength::Exact(len) => {
                    if peer.take(len).is_none() || !peer.zero() {
                        return;
                    }
                }
                DataLength::UntilClose => return,
            },
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            check_command(rest);
        }
        1 => {
            check_subcommand(rest);
        }
        2 => {
            check_control_file(rest);
        }
        3 => {
            if let Ok(name) = FileName::parse(rest) {
                check_file_name(&name);
            }
        }
        _ => session(rest),
    }
});
