//! How documents are printed: one JSON object per line, or a table for people.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use storage::{Db, Document};

/// The stable JSON shape of a document (the CLI contract in the README).
#[derive(Debug, Serialize)]
pub struct DocReport {
    pub id: i64,
    pub source_path: String,
    pub status: String,
    pub format: Option<String>,
    pub doc_type: Option<String>,
    pub pages: Option<i64>,
    pub blake3: Option<String>,
    pub keys: BTreeMap<String, String>,
    pub attached: Vec<String>,
    pub duplicate_of: Option<i64>,
    pub problems: Vec<String>,
    pub error: Option<String>,
    /// The print run this document was cut from, and its pages there.
    pub part_of: Option<i64>,
    pub page_first: Option<i64>,
    pub page_last: Option<i64>,
}

impl DocReport {
    pub async fn load(db: &Db, doc: &Document) -> anyhow::Result<DocReport> {
        Ok(DocReport::of(doc, &db.attachments(doc.id).await?))
    }

    /// The report of a document and what it is filed under.
    pub fn of(doc: &Document, attachments: &[storage::Attachment]) -> DocReport {
        let attached = attachments.iter().map(|a| a.label()).collect();
        DocReport {
            id: doc.id,
            source_path: doc.source_path.clone(),
            status: doc.status.to_string(),
            format: doc.format.clone(),
            doc_type: doc.doc_type.clone(),
            pages: doc.pages,
            blake3: doc.blake3.clone(),
            keys: doc.keys.clone(),
            attached,
            duplicate_of: doc.duplicate_of,
            problems: doc.problems.clone(),
            error: doc
                .last_error
                .clone()
                .filter(|_| doc.status == storage::Status::Quarantined),
            part_of: doc.parent_id,
            page_first: doc.page_first,
            page_last: doc.page_last,
        }
    }

    /// The source path, with the page range for a part of a print run.
    pub fn source_label(&self) -> String {
        match (self.page_first, self.page_last) {
            (Some(first), Some(last)) if first == last => format!("{} p{first}", self.source_path),
            (Some(first), Some(last)) => format!("{} p{first}-{last}", self.source_path),
            _ => self.source_path.clone(),
        }
    }

    /// What to say in the last column of the table.
    fn detail(&self) -> String {
        match self.status.as_str() {
            "filed" => self.attached.join(" "),
            "review" => self.problems.join("; "),
            "duplicate" => format!("duplicate of {}", self.duplicate_of.unwrap_or_default()),
            _ => self.error.clone().unwrap_or_default(),
        }
    }
}

pub fn print_json(reports: &[DocReport]) -> anyhow::Result<()> {
    for report in reports {
        print_json_line(report)?;
    }
    Ok(())
}

/// One report as a JSON line (`--json` output streams them).
pub fn print_json_line(report: &DocReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text
        .chars()
        .rev()
        .take(width.saturating_sub(1))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{kept}")
}

pub fn print_table(reports: &[DocReport]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    // The type column fits the longest type shown (rules name them freely).
    let type_width = reports
        .iter()
        .filter_map(|report| report.doc_type.as_deref())
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(0)
        .max(11);
    writeln!(
        out,
        "{:>5}  {:<11}  {:<10}  {:<type_width$}  {:>5}  {:<40}  filed under / reason",
        "id", "status", "format", "type", "pages", "source"
    )?;
    for report in reports {
        writeln!(
            out,
            "{:>5}  {:<11}  {:<10}  {:<type_width$}  {:>5}  {:<40}  {}",
            report.id,
            report.status,
            report.format.as_deref().unwrap_or("-"),
            report.doc_type.as_deref().unwrap_or("-"),
            report.pages.map_or("-".to_string(), |p| p.to_string()),
            clip(&report.source_label(), 40),
            report.detail()
        )?;
    }
    Ok(())
}

/// The summary printed after a batch: documents per status, formats, keys, records.
pub async fn print_summary(db: &Db, reports: &[DocReport]) -> anyhow::Result<()> {
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut formats: BTreeMap<&str, usize> = BTreeMap::new();
    let mut keys = 0;
    for report in reports {
        *statuses.entry(report.status.as_str()).or_default() += 1;
        *formats
            .entry(report.format.as_deref().unwrap_or("unknown"))
            .or_default() += 1;
        keys += report.keys.len();
    }
    let join = |map: &BTreeMap<&str, usize>| {
        map.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let records = db.record_counts().await?;
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    writeln!(out, "documents: {} ({})", reports.len(), join(&statuses))?;
    writeln!(out, "formats:   {}", join(&formats))?;
    writeln!(out, "keys:      {keys} extracted")?;
    writeln!(
        out,
        "records:   {} clients, {} invoices, {} attachments in the database",
        records.get("clients").unwrap_or(&0),
        records.get("invoices").unwrap_or(&0),
        records.get("attachments").unwrap_or(&0)
    )?;
    Ok(())
}
