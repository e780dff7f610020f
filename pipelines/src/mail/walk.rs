//! The walk over mail-parser's tree: body text, candidates, limits, TNEF and forwarded mail.
//!
//! The walk is iterative (an explicit stack), so neither deep multipart nesting nor deep
//! forwarding can overflow the call stack.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::html::html_to_text;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Addr, Address, Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};

use super::names::{decode_8bit, fallback_name, safe_file_name};
use super::{
    tnef, zipcheck, Disposition, Dropped, Exploded, MailAddress, MailAttachment, MailError,
    MailHeaders, MailPolicy, Refused, Via,
};

const TNEF_TYPES: &[&str] = &["application/ms-tnef", "application/vnd.ms-tnef"];

/// One part waiting to be looked at.
struct Pending<'m, 'x> {
    message: &'m Message<'x>,
    part_id: u32,
    path: String,
    /// `message/rfc822` levels above this part.
    depth: usize,
    /// Which body text section (0: the top-level message, then one per forwarded message).
    section: usize,
}

/// The text of one message: the top-level one or a forwarded one.
#[derive(Default)]
struct BodySection {
    title: Option<String>,
    plain: Vec<String>,
    html: Vec<String>,
}

/// A decoded leaf part about to be taken, refused or dropped.
struct Candidate<'b> {
    path: String,
    original_name: Option<String>,
    content_type: String,
    disposition: Disposition,
    has_content_id: bool,
    via: Via,
    bytes: Cow<'b, [u8]>,
}

struct Explosion<'p> {
    policy: &'p MailPolicy,
    out: Exploded,
    total_bytes: u64,
}

pub(super) fn explode_message(raw: &[u8], policy: &MailPolicy) -> Result<Exploded, MailError> {
    // mail-parser 0.11.9 has `debug_assert!`s on its own multipart bookkeeping that some
    // malformed messages trip (found by the mail_explode fuzz target); release builds skip
    // them. Caught here so a debug build refuses the message instead of failing the worker.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .map_err(|_| MailError::ParserFailed)?;
    let message = parsed
        .filter(|message| !message.parts.is_empty())
        .ok_or(MailError::NotMail)?;
    if message.parts[0].headers.is_empty() {
        return Err(MailError::NotMail);
    }

    let mut explosion = Explosion {
        policy,
        out: Exploded {
            headers: read_headers(&message),
            ..Exploded::default()
        },
        total_bytes: 0,
    };
    let mut sections = vec![BodySection::default()];
    let mut stack = vec![Pending {
        message: &message,
        part_id: 0,
        path: String::new(),
        depth: 0,
        section: 0,
    }];
    let mut parts_seen = 0usize;

    while let Some(pending) = stack.pop() {
        parts_seen += 1;
        if parts_seen > policy.max_parts {
            explosion.refuse_rest(&pending, stack.len());
            break;
        }
        let Some(part) = pending.message.parts.get(pending.part_id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Multipart(children) => {
                for (position, &child) in children.iter().enumerate().rev() {
                    stack.push(Pending {
                        message: pending.message,
                        part_id: child,
                        path: child_path(&pending.path, position + 1),
                        depth: pending.depth,
                        section: pending.section,
                    });
                }
            }
            PartType::Message(forwarded) => {
                let path = leaf_path(&pending.path);
                let depth = pending.depth + 1;
                if depth > policy.max_depth {
                    explosion.refuse_too_deep(part, &path, policy.max_depth);
                    continue;
                }
                if forwarded.parts.is_empty() {
                    continue;
                }
                sections.push(BodySection {
                    title: Some(forwarded.subject().unwrap_or("").to_string()),
                    ..BodySection::default()
                });
                let forwarded_root_path = format!("{path}/rfc822");
                stack.push(Pending {
                    message: forwarded,
                    part_id: 0,
                    path: forwarded_root_path,
                    depth,
                    section: sections.len() - 1,
                });
            }
            PartType::Text(text) | PartType::Html(text) if is_body(part) => {
                let section = &mut sections[pending.section];
                match part.body {
                    PartType::Html(_) => section.html.push(text.to_string()),
                    _ => section.plain.push(text.to_string()),
                }
                if part.is_encoding_problem {
                    let path = leaf_path(&pending.path);
                    explosion.out.warnings.push(format!(
                        "part {path}: body text with an undecodable transfer encoding, read as is"
                    ));
                }
            }
            _ if content_type_of(part) == "message/rfc822"
                && pending.depth + 1 > policy.max_depth =>
            {
                explosion.refuse_too_deep(part, &leaf_path(&pending.path), policy.max_depth);
            }
            _ => {
                if content_type_of(part) == "message/rfc822" {
                    let path = leaf_path(&pending.path);
                    explosion.out.warnings.push(format!(
                        "part {path}: forwarded message not read (encoded forwards nested too deep for the parser, or unreadable), taken as an attachment"
                    ));
                }
                let candidate = explosion.candidate(&pending, part);
                explosion.consider(candidate, true);
            }
        }
    }

    let Explosion { mut out, .. } = explosion;
    let (body_text, body_html) = assemble_bodies(sections);
    out.body_text = body_text;
    out.body_html = body_html;
    Ok(out)
}

impl Explosion<'_> {
    /// Reads a leaf part's name, type and decoded bytes, with warnings for its defects.
    fn candidate<'b>(
        &mut self,
        pending: &Pending<'b, '_>,
        part: &'b MessagePart<'_>,
    ) -> Candidate<'b> {
        let path = leaf_path(&pending.path);
        let content_type = content_type_of(part);
        let original_name = self.part_name(pending.message, part, &path);
        if part.is_encoding_problem {
            self.out.warnings.push(format!(
                "part {path}: undecodable content transfer encoding (bad base64 or quoted-printable), taken as the raw bytes"
            ));
        }
        if content_type == "message/partial" {
            self.out.warnings.push(format!(
                "part {path}: message/partial fragment taken as is (fragments are not reassembled)"
            ));
        }
        let bytes = leaf_bytes(pending.message, part);
        let via = match pending.depth {
            0 => Via::Mime,
            depth => Via::Forwarded { depth },
        };
        Candidate {
            path,
            original_name,
            content_type,
            disposition: disposition_of(part),
            has_content_id: part.content_id().is_some(),
            via,
            bytes,
        }
    }

    /// Takes, unpacks (TNEF), refuses or drops one candidate. `apply_inline` is false for the
    /// files inside a TNEF part, which have no disposition of their own.
    fn consider(&mut self, candidate: Candidate<'_>, apply_inline: bool) {
        if is_tnef(&candidate) {
            self.unpack_tnef(candidate);
            return;
        }
        let size = candidate.bytes.len() as u64;
        let limits = self.policy;
        if size > limits.max_attachment_bytes {
            let reason = format!(
                "too large: {size} bytes, over the {}-byte limit for one attachment",
                limits.max_attachment_bytes
            );
            self.refuse(&candidate, Some(size), reason);
            return;
        }
        if self.total_bytes.saturating_add(size) > limits.max_total_bytes {
            let reason = format!(
                "over the total: {size} more bytes would pass the {}-byte limit for the attachments of one mail",
                limits.max_total_bytes
            );
            self.refuse(&candidate, Some(size), reason);
            return;
        }
        if let Some(reason) = zipcheck::bomb_reason(&candidate.bytes, limits.max_archive_expansion)
        {
            self.refuse(&candidate, Some(size), reason);
            return;
        }
        if apply_inline {
            if let Some(reason) = self.inline_drop_reason(&candidate) {
                self.out.dropped.push(Dropped {
                    name: candidate.original_name,
                    path: candidate.path,
                    content_type: candidate.content_type,
                    size,
                    reason,
                });
                return;
            }
        }
        self.take(candidate);
    }

    fn take(&mut self, candidate: Candidate<'_>) {
        let index = self.out.attachments.len() + 1;
        self.total_bytes = self
            .total_bytes
            .saturating_add(candidate.bytes.len() as u64);
        let cleaned = candidate
            .original_name
            .as_deref()
            .map(|name| safe_file_name(name, self.policy.max_name_chars))
            .unwrap_or_default();
        let safe_name = if cleaned.is_empty() {
            safe_file_name(
                &fallback_name(index, &candidate.content_type),
                self.policy.max_name_chars,
            )
        } else {
            cleaned
        };
        self.out.attachments.push(MailAttachment {
            index,
            path: candidate.path,
            safe_name,
            original_name: candidate.original_name,
            content_type: candidate.content_type,
            disposition: candidate.disposition,
            via: candidate.via,
            bytes: candidate.bytes.into_owned(),
        });
    }

    fn refuse(&mut self, candidate: &Candidate<'_>, size: Option<u64>, reason: String) {
        self.out.refused.push(Refused {
            name: candidate.original_name.clone(),
            path: candidate.path.clone(),
            content_type: candidate.content_type.clone(),
            size,
            reason,
        });
    }

    fn refuse_too_deep(&mut self, part: &MessagePart<'_>, path: &str, max_depth: usize) {
        self.out.refused.push(Refused {
            name: part.attachment_name().map(str::to_string),
            path: path.to_string(),
            content_type: content_type_of(part),
            size: None,
            reason: format!(
                "too deep: forwarded message nested more than {max_depth} levels, not read"
            ),
        });
    }

    fn refuse_rest(&mut self, first_unread: &Pending<'_, '_>, also_pending: usize) {
        let path = leaf_path(&first_unread.path);
        self.out.refused.push(Refused {
            name: None,
            path,
            content_type: String::new(),
            size: None,
            reason: format!(
                "too many parts: more than {} in the message; this part, {also_pending} waiting and any below them are not read",
                self.policy.max_parts
            ),
        });
    }

    fn inline_drop_reason(&self, candidate: &Candidate<'_>) -> Option<String> {
        let is_inline = match candidate.disposition {
            Disposition::Inline => true,
            Disposition::None => candidate.has_content_id,
            Disposition::Attachment => false,
        };
        if !is_inline {
            return None;
        }
        let inline = &self.policy.inline;
        let content_type = candidate.content_type.as_str();
        if candidate.bytes.starts_with(b"%PDF-")
            || inline.always_keep.iter().any(|kept| kept == content_type)
        {
            return None;
        }
        let is_image = inline
            .image_types
            .iter()
            .any(|image| match image.strip_suffix('/') {
                Some(prefix) => content_type.split('/').next() == Some(prefix),
                None => image == content_type,
            });
        let size = candidate.bytes.len() as u64;
        if is_image && size < inline.min_image_bytes {
            return Some(format!(
                "small inline image: {size} bytes, under {} (a logo or signature image)",
                inline.min_image_bytes
            ));
        }
        None
    }

    /// Replaces a TNEF part by the files inside; keeps it as is when it cannot be read.
    fn unpack_tnef(&mut self, container: Candidate<'_>) {
        let files = match tnef::attachments(&container.bytes) {
            Ok(files) => files,
            Err(error) => {
                self.out.warnings.push(format!(
                    "part {}: winmail.dat could not be unpacked ({error}), kept as is",
                    container.path
                ));
                self.keep_tnef_container(container);
                return;
            }
        };
        if files.is_empty() {
            self.out.warnings.push(format!(
                "part {}: winmail.dat holds no attachments (only an outlook rich-text body, not extracted)",
                container.path
            ));
            return;
        }
        for (position, file) in files.into_iter().enumerate() {
            let content_type = file
                .mime_type
                .unwrap_or_else(|| "application/octet-stream".to_string());
            let inner = Candidate {
                path: format!("{}/tnef.{}", container.path, position + 1),
                original_name: file.name,
                content_type,
                disposition: Disposition::Attachment,
                has_content_id: false,
                via: Via::Tnef,
                bytes: Cow::Owned(file.bytes),
            };
            self.consider(inner, false);
        }
    }

    /// The unreadable TNEF part itself goes through the usual checks (not unpacked again).
    fn keep_tnef_container(&mut self, container: Candidate<'_>) {
        let size = container.bytes.len() as u64;
        if size > self.policy.max_attachment_bytes {
            let reason = format!(
                "too large: {size} bytes, over the {}-byte limit for one attachment",
                self.policy.max_attachment_bytes
            );
            self.refuse(&container, Some(size), reason);
            return;
        }
        if self.total_bytes.saturating_add(size) > self.policy.max_total_bytes {
            let reason = format!(
                "over the total: {size} more bytes would pass the {}-byte limit for the attachments of one mail",
                self.policy.max_total_bytes
            );
            self.refuse(&container, Some(size), reason);
            return;
        }
        self.take(container);
    }

    /// The part's decoded file name; what mail-parser could not decode is read again from the
    /// raw header bytes.
    fn part_name(
        &mut self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        path: &str,
    ) -> Option<String> {
        let parsed = part
            .attachment_name()
            .filter(|name| !name.trim().is_empty());
        if let Some(name) = parsed {
            if !name.contains(char::REPLACEMENT_CHARACTER) {
                return Some(name.to_string());
            }
        }
        let recovered = name_from_raw_headers(message, part);
        let best = match (recovered, parsed) {
            (Some(recovered), _) if !recovered.contains(char::REPLACEMENT_CHARACTER) => {
                return Some(recovered)
            }
            (Some(recovered), None) => recovered,
            (_, Some(parsed)) => parsed.to_string(),
            (None, None) => return None,
        };
        self.out.warnings.push(format!(
            "part {path}: the attachment's name could not be fully decoded"
        ));
        Some(best)
    }
}

/// A text/plain or text/html part without a file name and not marked as an attachment.
fn is_body(part: &MessagePart<'_>) -> bool {
    let content_type = content_type_of(part);
    if content_type != "text/plain" && content_type != "text/html" {
        return false;
    }
    if disposition_of(part) == Disposition::Attachment {
        return false;
    }
    part.attachment_name().is_none()
}

fn is_tnef(candidate: &Candidate<'_>) -> bool {
    if candidate.via == Via::Tnef {
        return false;
    }
    TNEF_TYPES.contains(&candidate.content_type.as_str())
        || candidate
            .bytes
            .starts_with(&tnef::TNEF_SIGNATURE.to_le_bytes())
}

/// `type/subtype`, lowercased; `text/plain` when the part declares none (RFC 2045), and
/// `application/octet-stream` when the declaration has no subtype.
fn content_type_of(part: &MessagePart<'_>) -> String {
    let Some(declared) = part.content_type() else {
        return match part.body {
            PartType::Message(_) => "message/rfc822".to_string(),
            _ => "text/plain".to_string(),
        };
    };
    match declared.subtype() {
        Some(subtype) => format!("{}/{}", declared.ctype(), subtype).to_ascii_lowercase(),
        None => "application/octet-stream".to_string(),
    }
}

fn disposition_of(part: &MessagePart<'_>) -> Disposition {
    let Some(disposition) = part.content_disposition() else {
        return Disposition::None;
    };
    if disposition.is_attachment() {
        Disposition::Attachment
    } else if disposition.is_inline() {
        Disposition::Inline
    } else {
        Disposition::None
    }
}

/// The part's content after the transfer decoding, before any charset conversion: text
/// attachments are given as the sender's bytes, as binary ones are.
fn leaf_bytes<'b>(message: &'b Message<'_>, part: &'b MessagePart<'_>) -> Cow<'b, [u8]> {
    let text = match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            return Cow::Borrowed(bytes.as_ref())
        }
        PartType::Text(text) | PartType::Html(text) => text,
        PartType::Message(_) | PartType::Multipart(_) => return Cow::Borrowed(&[]),
    };
    let start = part.offset_body as usize;
    let end = part.offset_end as usize;
    let Some(raw) = message.raw_message.get(start..end.max(start)) else {
        return Cow::Borrowed(text.as_bytes());
    };
    let declared_base64 = part
        .content_transfer_encoding()
        .is_some_and(|encoding| encoding.trim().eq_ignore_ascii_case("base64"));
    if part.is_encoding_problem && declared_base64 {
        return Cow::Owned(lenient_base64_decode(raw));
    }
    let decoded = match part.encoding {
        Encoding::None => return Cow::Borrowed(raw),
        Encoding::Base64 => base64_decode(raw),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
    };
    match decoded {
        Some(bytes) => Cow::Owned(bytes),
        None => Cow::Borrowed(text.as_bytes()),
    }
}

/// Base64 the way lenient decoders read it: characters outside the alphabet are skipped, the
/// first `=` or boundary line ends the data. For parts mail-parser found undecodable (a stray
/// character, a missing boundary).
fn lenient_base64_decode(encoded: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(encoded.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    let mut at_line_start = true;
    for (position, &byte) in encoded.iter().enumerate() {
        // A boundary line (base64 never starts a line with `-`): the part ends there.
        if at_line_start && byte == b'-' && encoded.get(position + 1) == Some(&b'-') {
            break;
        }
        at_line_start = byte == b'\n';
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            decoded.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    decoded
}

/// Re-reads the part's name from its raw header bytes, for what mail-parser could not decode:
/// raw 8-bit names (read as UTF-8, else Windows-1252) and Outlook's encoded words inside a
/// quoted parameter folded onto the next line (`name=\r\n\t"=?iso-8859-1?Q?...?=\r\n =?...?="`).
fn name_from_raw_headers(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    for (field, parameter) in [
        ("content-disposition", "filename"),
        ("content-type", "name"),
    ] {
        let Some(header) = part
            .headers
            .iter()
            .find(|header| header.name.as_str().eq_ignore_ascii_case(field))
        else {
            continue;
        };
        let start = header.offset_start as usize;
        let end = header.offset_end as usize;
        let Some(raw_value) = message.raw_message.get(start..end.max(start)) else {
            continue;
        };
        let unfolded = unfold(&decode_8bit(raw_value));
        let Some(value) = parameter_value(&unfolded, parameter) else {
            continue;
        };
        let decoded = decode_encoded_words(&value);
        if !decoded.trim().is_empty() {
            return Some(decoded);
        }
    }
    None
}

/// A header value on one line: line breaks removed, the folding white space kept.
fn unfold(value: &str) -> String {
    value.replace("\r\n", "").replace('\n', "")
}

/// The value of `parameter` in a `type; key=value; key="quoted value"` header value.
fn parameter_value(header_value: &str, parameter: &str) -> Option<String> {
    let mut rest = header_value;
    loop {
        let semicolon = rest.find(';')?;
        rest = &rest[semicolon + 1..];
        let (key, after_key) = rest.split_once('=')?;
        let value_text = after_key.trim_start();
        let (value, remainder) = match value_text.strip_prefix('"') {
            Some(quoted) => read_quoted(quoted),
            None => {
                let end = value_text.find(';').unwrap_or(value_text.len());
                (value_text[..end].trim().to_string(), &value_text[end..])
            }
        };
        if key.trim().eq_ignore_ascii_case(parameter) {
            return Some(value);
        }
        rest = remainder;
    }
}

/// A quoted string's content (backslash escapes undone) and what follows its closing quote.
fn read_quoted(quoted: &str) -> (String, &str) {
    let mut value = String::new();
    let mut characters = quoted.char_indices();
    while let Some((position, character)) = characters.next() {
        match character {
            '"' => return (value, &quoted[position + 1..]),
            '\\' => {
                if let Some((_, escaped)) = characters.next() {
                    value.push(escaped);
                }
            }
            _ => value.push(character),
        }
    }
    (value, "")
}

/// RFC 2047 encoded words decoded by mail-parser, as it does for an unstructured field.
fn decode_encoded_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let synthetic = format!("Subject: {value}\r\n\r\n");
    MessageParser::default()
        .parse_headers(synthetic.as_bytes())
        .and_then(|parsed| parsed.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string())
}

fn child_path(parent: &str, position: usize) -> String {
    if parent.is_empty() {
        return position.to_string();
    }
    format!("{parent}.{position}")
}

/// The path of a part that is not a child of a multipart: the top-level message's single
/// body is section `1`, as is a forwarded message's.
fn leaf_path(path: &str) -> String {
    if path.is_empty() {
        "1".to_string()
    } else if path.ends_with("/rfc822") {
        format!("{path}.1")
    } else {
        path.to_string()
    }
}

fn assemble_bodies(sections: Vec<BodySection>) -> (Option<String>, Option<String>) {
    let mut sections = sections.into_iter();
    let Some(main) = sections.next() else {
        return (None, None);
    };
    let body_html = (!main.html.is_empty()).then(|| main.html.join("\n"));
    let mut body_text = section_text(&main);
    for forwarded in sections {
        let Some(text) = section_text(&forwarded) else {
            continue;
        };
        let mut joined = body_text.take().unwrap_or_default();
        if !joined.is_empty() && !joined.ends_with('\n') {
            joined.push('\n');
        }
        let title = forwarded.title.as_deref().unwrap_or("");
        joined.push_str(&format!("\n---- forwarded message: {title} ----\n"));
        joined.push_str(&text);
        body_text = Some(joined);
    }
    (body_text, body_html)
}

fn section_text(section: &BodySection) -> Option<String> {
    if !section.plain.is_empty() {
        return Some(section.plain.join("\n"));
    }
    if !section.html.is_empty() {
        return Some(html_to_text(&section.html.join("\n")));
    }
    None
}

fn read_headers(message: &Message<'_>) -> MailHeaders {
    let mut delivered_to = Vec::new();
    for field in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(field) {
            delivered_to.extend(addresses_in_text(value));
        }
    }
    MailHeaders {
        from: addresses(message.from()),
        sender: addresses(message.sender()).into_iter().next(),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        delivered_to,
        reply_to: addresses(message.reply_to()),
        subject: message.subject().map(str::to_string),
        message_id: message.message_id().map(str::to_string),
        date: message.date().map(|date| date.to_rfc3339()),
    }
}

fn addresses(address: Option<&Address<'_>>) -> Vec<MailAddress> {
    let Some(address) = address else {
        return Vec::new();
    };
    let listed: Vec<&Addr<'_>> = match address {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|group| group.addresses.iter())
            .collect(),
    };
    listed
        .into_iter()
        .filter_map(|addr| {
            let written = addr.address.as_deref()?.trim();
            if written.is_empty() {
                return None;
            }
            Some(MailAddress {
                name: addr
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_string),
                address: written.to_string(),
            })
        })
        .collect()
}

/// Delivered-To and X-Original-To are read as text by mail-parser: `a@b`, `<a@b>` or a list.
fn addresses_in_text(value: &HeaderValue<'_>) -> Vec<MailAddress> {
    let texts: Vec<&str> = match value {
        HeaderValue::Text(text) => vec![text.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(|text| text.as_ref()).collect(),
        HeaderValue::Address(address) => return addresses(Some(address)),
        _ => Vec::new(),
    };
    texts
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(|item| {
            item.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
        })
        .filter(|item| !item.is_empty())
        .map(|item| MailAddress {
            name: None,
            address: item.to_string(),
        })
        .collect()
}
