use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Where a document is in its life. `Processing` documents are in the queue; the others are final
/// until someone retries, attaches or re-drives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Processing,
    Filed,
    Review,
    Duplicate,
    Quarantined,
    /// A print run cut into parts (one document per invoice); the parts are filed, not the run.
    Split,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Processing,
        Status::Filed,
        Status::Review,
        Status::Duplicate,
        Status::Quarantined,
        Status::Split,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "processing",
            Status::Filed => "filed",
            Status::Review => "review",
            Status::Duplicate => "duplicate",
            Status::Quarantined => "quarantined",
            Status::Split => "split",
        }
    }

    /// Whether the document has left the queue.
    pub fn is_settled(self) -> bool {
        self != Status::Processing
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown status {text:?}"))
    }
}

/// What a source hands to the inbox, besides the bytes.
#[derive(Debug, Clone, Default)]
pub struct NewArrival {
    /// The configured source name (`cli`, `spool-in` …).
    pub source: String,
    /// Unique within the source: what makes a second hand-over of the same arrival a no-op.
    pub source_ref: String,
    /// Where it came from, for people (a path, later a mailbox and uid, an LPD job).
    pub source_path: String,
    /// Groups the documents of one `greffier ingest` so the command can wait for them.
    pub batch: Option<String>,
    /// Free-form attributes (later: spool attributes, mail headers), usable by rules.
    pub metadata: BTreeMap<String, String>,
}

/// One row of `documents`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: i64,
    pub source: String,
    pub source_ref: String,
    pub source_path: String,
    pub batch: Option<String>,
    pub blake3: Option<String>,
    pub size: i64,
    pub original_key: Option<String>,
    pub format: Option<String>,
    pub status: Status,
    /// The stage that runs next, while `status` is `processing`.
    pub stage: Option<String>,
    pub duplicate_of: Option<i64>,
    pub pages: Option<i64>,
    pub pdf_key: Option<String>,
    pub text_key: Option<String>,
    pub doc_type: Option<String>,
    pub keys: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    /// Why the document is in review.
    pub problems: Vec<String>,
    /// Where the rules want the document filed: `client:CL004711`, `invoice:FA-2024-000201`.
    pub targets: Vec<String>,
    pub attempts: i64,
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    /// The stage that quarantined the document, where `greffier retry` sends it back.
    pub failed_stage: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The print run this document was cut from, and its pages there (1-based, inclusive).
    pub parent_id: Option<i64>,
    pub page_first: Option<i64>,
    pub page_last: Option<i64>,
}

/// One line of a document's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub at: i64,
    pub stage: String,
    pub message: String,
}

/// A document filed under a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// `client`, `invoice` or `form`.
    pub kind: String,
    pub target: String,
    /// `rules: <rule>` or `manual`.
    pub origin: String,
}

impl Attachment {
    /// `client:CL004711`, the form the CLI prints and takes.
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind, self.target)
    }
}

/// A client record (imported from the ERP, e.g. a CSV export).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Client {
    pub code: String,
    pub name: String,
    pub extra: BTreeMap<String, String>,
}
