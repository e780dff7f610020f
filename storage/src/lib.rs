//! Everything Greffier persists: the documents queue and the records (sqlx: SQLite or
//! PostgreSQL), the blobs (object_store: a local folder, memory, later S3), and the search
//! index (tantivy).
//!
//! # Delivery guarantee
//!
//! The `documents` table is the queue. [`Db::insert_arrival`] is idempotent on
//! `(source, source_ref)`: a source that crashed after storing an arrival but before
//! acknowledging it can hand the same arrival again and gets the same row back. A stage's
//! outputs and the next stage are committed in one transaction, guarded by the lease of the
//! worker that claimed the document ([`Db::commit`]): a worker that lost its lease commits
//! nothing. Originals are content-addressed (`originals/<blake3>`) and written once.
//!
//! # Layout
//!
//! - `db`: [`Db`], connecting (SQLite or PostgreSQL by URL) and the embedded migrations
//! - `model`: [`Document`], [`Status`], [`Event`] and the record types
//! - `queue`: arrivals, claim with lease, commit, retry later, quarantine, re-drive
//! - `records`: clients, forms, invoices and attachments
//! - `blobs`: [`Blobs`], streaming content-addressed originals and derived artifacts
//! - `index`: [`SearchIndex`], the tantivy schema, batch upserts and queries
//! - `journal`: the mail journal of the IMAP source ([`MailKey`] → claimed, captured, done,
//!   failed, refused), claims with leases so two processes never fetch one message
//! - `error`: [`StorageError`], each variant says whether a retry can help

mod blobs;
mod db;
mod error;
mod index;
mod journal;
mod model;
mod queue;
mod records;

pub use blobs::{Blobs, StoredOriginal};
pub use db::{Backend, Db};
pub use error::StorageError;
pub use index::{IndexDoc, SearchHit, SearchIndex};
pub use journal::{MailEntry, MailKey, MailPending, MailState};
pub use model::{Attachment, Client, Document, Event, NewArrival, Status};
pub use queue::{Claim, CommitExtras, InvoiceRecord, NewPart, QueueCounts, StageCommit};

/// Milliseconds since the Unix epoch, the one time unit stored in the database.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
