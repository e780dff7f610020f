//! Mails in the pipeline: the convert step of a stored message (format `email`), which cuts
//! it into one document per attachment.
//!
//! The message stays a document of its own (status `split`, its original the `.eml`), with
//! the mail's headers and body as its text, indexed at once so that a search on the body
//! finds the mail and, through it, what it carried. Each attachment becomes a child
//! document with its own original (content-addressed, so the same PDF mailed twice is a
//! duplicate) that starts at `detect`, like any arrival: a PDF sent as
//! `application/octet-stream` is recognised by its bytes. The children are inserted in the
//! same transaction as the parent's `split`, so when the mail's document has settled every
//! document of the mail is durable: that is what the IMAP source waits for before it moves,
//! flags or deletes the mail on the server.
//!
//! Every child carries the mail's headers as metadata (`mail.from`, `mail.to`, `mail.cc`,
//! `mail.delivered_to`, `mail.plus`, `mail.subject`, `mail.message_id`, `mail.date`) and its
//! own (`mail.attachment`, `mail.attachment_original`, `mail.part`, `mail.content_type`,
//! `mail.via`), for the rules' conditions, keys and sender policy.

use std::collections::BTreeMap;

use storage::{Document, IndexDoc, NewPart, Status};

use crate::mail::{explode, Exploded, MailAddress, MailAttachment, MailPolicy, Via};
use crate::stages::{Outcome, StageError};
use crate::Context;

/// Whether a mail's body becomes a document of its own (rendered to PDF like a text spool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyDocument {
    /// Never: the body is only indexed with the mail.
    Never,
    /// Only when the mail carries no attachment (an HTML receipt, a typed letter).
    #[default]
    WhenNoAttachment,
    /// Always, beside the attachments.
    Always,
}

impl BodyDocument {
    pub fn from_name(name: &str) -> Option<BodyDocument> {
        match name {
            "never" => Some(BodyDocument::Never),
            "when-no-attachment" => Some(BodyDocument::WhenNoAttachment),
            "always" => Some(BodyDocument::Always),
            _ => None,
        }
    }
}

/// How mails are cut.
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    pub policy: MailPolicy,
    pub body: BodyDocument,
}

/// How many mails inside mails (an attached `.eml`, exploded again) are followed.
const MAX_MAIL_DEPTH: usize = 4;

/// Columns the body text is wrapped at before it is rendered.
const BODY_COLUMNS: usize = 100;

fn address_list(addresses: &[MailAddress]) -> String {
    addresses
        .iter()
        .map(|address| address.address.trim().to_lowercase())
        .filter(|address| !address.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mail's headers as metadata, shared by the mail and every document cut from it.
fn header_metadata(
    exploded: &Exploded,
    inherited: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let headers = &exploded.headers;
    let mut metadata = BTreeMap::new();
    let sender = headers.from.first().or(headers.sender.as_ref());
    if let Some(sender) = sender {
        metadata.insert("mail.from".into(), sender.address.trim().to_lowercase());
        if let Some(name) = sender
            .name
            .as_deref()
            .filter(|name| !name.trim().is_empty())
        {
            metadata.insert("mail.from_name".into(), name.trim().to_string());
        }
    }
    for (name, addresses) in [
        ("mail.to", &headers.to),
        ("mail.cc", &headers.cc),
        ("mail.delivered_to", &headers.delivered_to),
    ] {
        let list = address_list(addresses);
        if !list.is_empty() {
            metadata.insert(name.to_string(), list);
        }
    }
    // The plus tag of the capture address when the source names it, else of the first
    // recipient that has one.
    let capture = inherited
        .get("mail.capture")
        .map(|address| address.to_lowercase());
    let recipients = || {
        headers
            .delivered_to
            .iter()
            .chain(&headers.to)
            .chain(&headers.cc)
            .map(|address| address.address.trim())
    };
    let on_capture = capture.as_deref().and_then(|capture| {
        recipients().find_map(|address| {
            let tag = rules::plus_tag(address)?;
            (rules::strip_plus(address).to_lowercase() == capture).then_some(tag)
        })
    });
    if let Some(tag) = on_capture.or_else(|| recipients().find_map(rules::plus_tag)) {
        metadata.insert("mail.plus".into(), tag.to_string());
    }
    if let Some(subject) = headers.subject.as_deref() {
        metadata.insert("mail.subject".into(), subject.trim().to_string());
    }
    if let Some(id) = headers.message_id.as_deref() {
        metadata.insert("mail.message_id".into(), id.trim().to_string());
    }
    if let Some(date) = headers.date.as_deref() {
        metadata.insert("mail.date".into(), date.to_string());
    }
    metadata
}

/// A part's name for people: its file name, else its MIME part path.
fn part_label(name: &Option<String>, path: &str) -> String {
    match name {
        Some(name) => name.clone(),
        None => format!("part {path}"),
    }
}

fn via_name(via: &Via) -> String {
    match via {
        Via::Mime => "mime".into(),
        Via::Tnef => "tnef".into(),
        Via::Forwarded { depth } => format!("forwarded:{depth}"),
    }
}

/// Wraps long lines at word boundaries (HTML turned into text gives one line per paragraph).
fn wrap_text(text: &str, columns: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / columns.max(1));
    for line in text.lines() {
        let mut width = 0;
        for word in line.split(' ') {
            let word_width = word.chars().count();
            if width > 0 && width + 1 + word_width > columns {
                out.push('\n');
                width = 0;
            } else if width > 0 {
                out.push(' ');
                width += 1;
            }
            out.push_str(word);
            width += word_width;
        }
        out.push('\n');
    }
    out
}

/// The mail's own text: what the index holds of it.
fn mail_text(exploded: &Exploded, metadata: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (label, key) in [
        ("De", "mail.from"),
        ("À", "mail.to"),
        ("Cc", "mail.cc"),
        ("Date", "mail.date"),
        ("Objet", "mail.subject"),
    ] {
        if let Some(value) = metadata.get(key) {
            text.push_str(&format!("{label}: {value}\n"));
        }
    }
    if !exploded.attachments.is_empty() {
        let names: Vec<&str> = exploded
            .attachments
            .iter()
            .map(|attachment| attachment.safe_name.as_str())
            .collect();
        text.push_str(&format!("Pièces jointes: {}\n", names.join(", ")));
    }
    text.push('\n');
    if let Some(body) = exploded.body_text.as_deref() {
        text.push_str(body);
    }
    text
}

fn child_metadata(
    inherited: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    attachment: &MailAttachment,
) -> BTreeMap<String, String> {
    let mut metadata = inherited.clone();
    metadata.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    metadata.insert("mail.attachment".into(), attachment.safe_name.clone());
    if let Some(original) = &attachment.original_name {
        metadata.insert("mail.attachment_original".into(), original.clone());
    }
    metadata.insert("mail.part".into(), attachment.path.clone());
    metadata.insert("mail.content_type".into(), attachment.content_type.clone());
    metadata.insert("mail.via".into(), via_name(&attachment.via));
    metadata
}

/// Cuts a stored mail into its attachments (and body, per [`BodyDocument`]).
pub(crate) async fn explode_mail(ctx: &Context, doc: &mut Document) -> Result<Outcome, StageError> {
    let key = doc
        .original_key
        .clone()
        .ok_or_else(|| StageError::Permanent("document has no stored original".into()))?;
    let depth: usize = doc
        .metadata
        .get("mail.depth")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    if depth >= MAX_MAIL_DEPTH {
        return Err(StageError::Permanent(format!(
            "mail nested {depth} deep in attached mails, over the limit of {MAX_MAIL_DEPTH}"
        )));
    }
    let settings = ctx.settings.mail.clone();
    let bytes = ctx.blobs.get(&key).await?;
    let exploded = crate::stages::blocking("mail parser", move || {
        explode(&bytes, &settings.policy)
            .map_err(|error| StageError::Permanent(format!("unreadable mail: {error}")))
    })
    .await?;

    let inherited: BTreeMap<String, String> = doc
        .metadata
        .iter()
        .filter(|(name, _)| !name.starts_with("mail.") || name.as_str() == "mail.capture")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let headers = header_metadata(&exploded, &inherited);
    doc.metadata
        .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));

    let mut events = Vec::new();
    let mut parts = Vec::new();
    for attachment in &exploded.attachments {
        let original = ctx
            .blobs
            .store_original(attachment.bytes.as_slice())
            .await?;
        let mut metadata = child_metadata(&inherited, &headers, attachment);
        metadata.insert("mail.depth".into(), (depth + 1).to_string());
        events.push(format!(
            "attachment {} ({}, {} bytes, part {})",
            attachment.safe_name, attachment.content_type, original.size, attachment.path
        ));
        parts.push(NewPart {
            index: parts.len() + 1,
            source_path: Some(format!("{} › {}", doc.source_path, attachment.safe_name)),
            original: Some(original),
            metadata,
            stage: "detect".into(),
            ..NewPart::default()
        });
    }
    let body_wanted = match ctx.settings.mail.body {
        BodyDocument::Never => false,
        BodyDocument::WhenNoAttachment => parts.is_empty(),
        BodyDocument::Always => true,
    };
    let body = exploded
        .body_text
        .as_deref()
        .filter(|body| !body.trim().is_empty());
    if let (true, Some(body)) = (body_wanted, body) {
        let wrapped = wrap_text(body, BODY_COLUMNS);
        let original = ctx.blobs.store_original(wrapped.as_bytes()).await?;
        let mut metadata = inherited.clone();
        metadata.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        metadata.insert("mail.attachment".into(), "message.txt".into());
        metadata.insert("mail.part".into(), "body".into());
        metadata.insert("mail.via".into(), "body".into());
        metadata.insert("mail.depth".into(), (depth + 1).to_string());
        events.push(format!(
            "message body as a document ({} bytes)",
            original.size
        ));
        parts.push(NewPart {
            index: parts.len() + 1,
            source_path: Some(format!("{} › message.txt", doc.source_path)),
            original: Some(original),
            metadata,
            stage: "detect".into(),
            ..NewPart::default()
        });
    }
    for refused in &exploded.refused {
        events.push(format!(
            "refused {}: {}",
            part_label(&refused.name, &refused.path),
            refused.reason
        ));
    }
    for dropped in &exploded.dropped {
        events.push(format!(
            "inline part {} left out: {}",
            part_label(&dropped.name, &dropped.path),
            dropped.reason
        ));
    }
    for warning in &exploded.warnings {
        events.push(format!("mail warning: {warning}"));
    }
    if !exploded.refused.is_empty() {
        doc.problems.extend(exploded.refused.iter().map(|refused| {
            format!(
                "attachment {} refused: {}",
                part_label(&refused.name, &refused.path),
                refused.reason
            )
        }));
    }

    // A mail with a refused attachment waits in review, with the reasons, for a clerk.
    let status = if exploded.refused.is_empty() {
        Status::Split
    } else {
        Status::Review
    };
    // The mail's own text, indexed now: the mail leaves the pipeline here.
    let text = mail_text(&exploded, &doc.metadata);
    let text_key = format!("derived/{}/text.txt", doc.id);
    ctx.blobs.put(&text_key, text.clone().into_bytes()).await?;
    doc.text_key = Some(text_key);
    let entry = IndexDoc {
        id: doc.id,
        text,
        source: doc.source.clone(),
        source_path: doc.source_path.clone(),
        format: doc.format.clone().unwrap_or_default(),
        doc_type: "mail".into(),
        status: status.as_str().to_string(),
        metadata: doc.metadata.clone(),
        ..IndexDoc::default()
    };
    let index = ctx.index.clone();
    crate::stages::blocking("search index", move || {
        index.upsert(&[entry]).map_err(StageError::from)
    })
    .await?;

    events.push(format!(
        "mail cut into {} documents ({} attachments refused, {} inline parts left out)",
        parts.len(),
        exploded.refused.len(),
        exploded.dropped.len()
    ));
    Ok(Outcome::split(status, events, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_body_lines_are_wrapped_at_word_boundaries() {
        let line = "mot ".repeat(60);
        let wrapped = wrap_text(line.trim_end(), 20);
        assert!(wrapped.lines().all(|line| line.chars().count() <= 20));
        assert_eq!(wrapped.split_whitespace().count(), 60);
    }
}
