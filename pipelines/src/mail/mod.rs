//! E-mail capture: a message "exploded" into its headers, its text and the attachments a
//! clerk would want filed. Pure: bytes in, owned values out, no I/O.
//!
//! Parsing is mail-parser's (MIME structure, transfer encodings, RFC 2047/2231 names,
//! charsets); this module decides what is an attachment, applies the limits of a
//! [`MailPolicy`], unpacks TNEF (`winmail.dat`, see [`tnef`]), descends into forwarded
//! messages, names every part safely ([`safe_file_name`]) and refuses archive bombs
//! (`zipcheck`).
//!
//! What is an attachment: every leaf part that is not body text, whatever its declared type
//! or disposition. Body text is a `text/plain` or `text/html` part with no file name whose
//! disposition is not `attachment`. `message/rfc822` parts are walked into (their text goes to
//! [`Exploded::body_text`] after the main body); TNEF parts are replaced by the files inside.
//! uuencoded blocks inside text bodies are not looked for.
//!
//! Part paths are IMAP-style section numbers (`1`, `2.1`), with `/rfc822.` between a forwarded
//! message's part and the sections inside it (`2/rfc822.1.2`) and `/tnef.<n>` for the n-th file
//! of a TNEF part (`3/tnef.2`).

mod names;
mod sniff;
pub mod tnef;
mod walk;
pub mod zipcheck;

use thiserror::Error;

pub use names::{extension_for, safe_file_name};
pub use sniff::looks_like_mail;

/// Limits and choices of [`explode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPolicy {
    /// A bigger message is refused as a whole ([`MailError::TooLarge`]).
    pub max_message_bytes: u64,
    /// A bigger decoded part is refused (listed in [`Exploded::refused`]); the mail is not.
    pub max_attachment_bytes: u64,
    /// Decoded attachments taken from one mail, at most.
    pub max_total_bytes: u64,
    /// Levels of forwarded messages (`message/rfc822`) walked into.
    pub max_depth: usize,
    /// MIME parts read, at most (containers included); the rest is refused.
    pub max_parts: usize,
    /// A zip whose central directory declares more bytes once unpacked (or more than 200
    /// times its size, past 1 MiB) is refused as an archive bomb.
    pub max_archive_expansion: u64,
    /// Which inline parts are kept.
    pub inline: InlinePolicy,
    /// Safe names are at most this many characters.
    pub max_name_chars: usize,
}

impl Default for MailPolicy {
    fn default() -> Self {
        MailPolicy {
            max_message_bytes: 50 << 20,
            max_attachment_bytes: 25 << 20,
            max_total_bytes: 100 << 20,
            max_depth: 8,
            max_parts: 500,
            max_archive_expansion: 1 << 30,
            inline: InlinePolicy::default(),
            max_name_chars: 120,
        }
    }
}

/// What happens to inline parts (`Content-Disposition: inline`, or none with a Content-ID):
/// signature logos are dropped, documents are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// Inline parts of these content types (lowercase) are always kept; a part whose bytes
    /// start with `%PDF-` is kept whatever its declared type.
    pub always_keep: Vec<String>,
    /// Content types (lowercase) or type prefixes ending in `/` treated as images: kept only
    /// from `min_image_bytes` on.
    pub image_types: Vec<String>,
    /// Smaller inline images are dropped.
    pub min_image_bytes: u64,
}

impl Default for InlinePolicy {
    fn default() -> Self {
        InlinePolicy {
            always_keep: vec!["application/pdf".to_string()],
            image_types: vec!["image/".to_string()],
            min_image_bytes: 20 << 10,
        }
    }
}

impl InlinePolicy {
    /// An inline policy that keeps every inline part.
    pub fn keep_all() -> Self {
        InlinePolicy {
            min_image_bytes: 0,
            ..InlinePolicy::default()
        }
    }
}

/// A message, exploded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exploded {
    /// The top-level message's headers.
    pub headers: MailHeaders,
    /// The text body (from `text/plain`, else converted from HTML), followed by the text of each
    /// forwarded message under a line `---- forwarded message: <subject> ----`.
    pub body_text: Option<String>,
    /// The top-level message's HTML body.
    pub body_html: Option<String>,
    /// Taken attachments, in message order, depth first.
    pub attachments: Vec<MailAttachment>,
    /// Parts not taken because of a limit.
    pub refused: Vec<Refused>,
    /// Inline parts dropped by the inline policy.
    pub dropped: Vec<Dropped>,
    /// MIME defects worth showing (undecodable names, bad encodings, unreadable TNEF …).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailHeaders {
    pub from: Vec<MailAddress>,
    pub sender: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    /// `Delivered-To` and `X-Original-To`, in that order.
    pub delivered_to: Vec<MailAddress>,
    pub reply_to: Vec<MailAddress>,
    pub subject: Option<String>,
    /// Without the angle brackets.
    pub message_id: Option<String>,
    /// RFC 3339.
    pub date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub name: Option<String>,
    /// As written, trimmed.
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Attachment,
    Inline,
    None,
}

/// How an attachment was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Mime,
    Tnef,
    /// Inside a forwarded message, `depth` `message/rfc822` levels down (1 = directly forwarded).
    Forwarded {
        depth: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// 1-based position among taken attachments.
    pub index: usize,
    /// Part path: `2`, `3.1`, `3/tnef.2`, `2/rfc822.1.2`.
    pub path: String,
    /// Safe on every file system, never empty, at most `max_name_chars` characters.
    pub safe_name: String,
    /// The decoded name as the sender meant it; None when the part had none.
    pub original_name: Option<String>,
    /// Declared, lowercased (`application/octet-stream` when nothing was declared).
    pub content_type: String,
    pub disposition: Disposition,
    pub via: Via,
    /// Decoded content.
    pub bytes: Vec<u8>,
}

/// A part not taken because of a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub name: Option<String>,
    pub path: String,
    pub content_type: String,
    /// Decoded size, when it was decoded.
    pub size: Option<u64>,
    /// Lowercase, starts with the kind: `too large`, `over the total`, `archive bomb`,
    /// `too deep`, `too many parts`.
    pub reason: String,
}

/// An inline part dropped by the inline policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub name: Option<String>,
    pub path: String,
    pub content_type: String,
    pub size: u64,
    pub reason: String,
}

/// Why a message could not be exploded at all.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MailError {
    #[error("message too large: {bytes} bytes, over the {limit}-byte limit")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("not an e-mail message: no header fields could be read")]
    NotMail,
    #[error("unreadable message: the mime parser gave up on its multipart structure")]
    ParserFailed,
}

/// Explodes a raw RFC 5322 message (an mbox `From ` first line is allowed).
pub fn explode(raw: &[u8], policy: &MailPolicy) -> Result<Exploded, MailError> {
    let size = raw.len() as u64;
    if size > policy.max_message_bytes {
        return Err(MailError::TooLarge {
            bytes: size,
            limit: policy.max_message_bytes,
        });
    }
    walk::explode_message(skip_mbox_line(raw), policy)
}

/// Without the mbox separator line (`From sender date`), when there is one.
fn skip_mbox_line(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    match memchr::memchr(b'\n', raw) {
        Some(end) => &raw[end + 1..],
        None => raw,
    }
}
