//! Content sniffing: does a file start like an e-mail message?

/// Header fields (lowercase) that mark a message; two distinct ones must appear.
const MAIL_FIELDS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "received",
    "return-path",
    "delivered-to",
    "content-type",
];

/// Header fields looked at, at most.
const MAX_FIELDS: usize = 32;

/// True when `head` (the first bytes of a file) is an RFC 5322 message: it opens with header
/// fields (after an optional mbox `From ` line), and among its first 32 fields at least two
/// distinct ones of From, To, Subject, Date, Message-ID, MIME-Version, Received, Return-Path,
/// Delivered-To and Content-Type appear. A text file opening with one such line is not mail.
pub fn looks_like_mail(head: &[u8]) -> bool {
    let mut lines = head.split(|&byte| byte == b'\n').peekable();
    if lines
        .peek()
        .is_some_and(|first| first.starts_with(b"From "))
    {
        lines.next();
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut fields = 0;
    let mut first = true;
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let is_continuation = line[0] == b' ' || line[0] == b'\t';
        if is_continuation {
            if first {
                return false;
            }
            continue;
        }
        first = false;
        let Some(name) = field_name(line) else {
            break;
        };
        fields += 1;
        if let Some(known) = MAIL_FIELDS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name))
        {
            if !seen.contains(known) {
                seen.push(known);
            }
        }
        if seen.len() >= 2 {
            return true;
        }
        if fields >= MAX_FIELDS {
            break;
        }
    }
    false
}

/// The field name of a header line (`Name: value`): printable ASCII without `:`, then `:`.
fn field_name(line: &[u8]) -> Option<&str> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    let name = name.strip_suffix(b" ").unwrap_or(name);
    if name.is_empty() || !name.iter().all(|&byte| (33..=126).contains(&byte)) {
        return None;
    }
    std::str::from_utf8(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_mail() {
        assert!(looks_like_mail(b"From: a@b.c\r\nTo: d@e.f\r\n\r\nbody"));
        assert!(looks_like_mail(
            b"From someone@example.com Sat Jan  3 01:05:34 1996\nReturn-Path: <x@y>\nReceived: from a\n\tby b\nSubject: hi\n"
        ));
        assert!(looks_like_mail(
            b"X-Mailer: foo\nX-Other: bar\nMIME-Version: 1.0\nContent-Type: text/plain\n"
        ));
    }

    #[test]
    fn other_files_are_not_mail() {
        assert!(!looks_like_mail(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"));
        assert!(!looks_like_mail(
            b"Subject: quarterly report\nThe figures are below.\nFrom: me\n"
        ));
        assert!(!looks_like_mail(b"Subject: one\nSubject: two\n\nbody"));
        assert!(!looks_like_mail(b"1FACTURE N: 42\n DATE: 2026-01-01\n"));
        assert!(!looks_like_mail(b" From: a\nTo: b\n"));
        assert!(!looks_like_mail(b""));
        assert!(!looks_like_mail(b"Subject: x\n\nFrom: a\nTo: b\n"));
    }
}
