//! Capture: sources that turn outside input into documents, through the [`Inbox`].
//!
//! # Delivery guarantee
//!
//! At least once from the source, exactly once in the queue. A source hands each arrival to
//! [`Inbox::accept`], which streams the original into the blob store (content-addressed,
//! written once) and inserts the document row, idempotent on `(source, source_ref)`. Only
//! after `accept` returns does the source acknowledge the arrival: delete or move the file,
//! or record it in its ledger (later: flag the mail, ack the LPD job). A crash before the
//! acknowledgement makes the source hand the same arrival again, which `accept` recognises.
//! Nothing is ever deleted before its document is committed.
//!
//! # Adding a source
//!
//! Implement [`Source`] in a new module with its own config struct, call `Inbox::accept` for
//! each arrival and acknowledge only after it returns `Ok`.
//!
//! # Layout
//!
//! - `inbox`: [`Inbox`], the one door into the queue
//! - `folder`: [`FolderSource`], spool and scanner drop folders (notify events + rescans,
//!   stability check, `after = delete | move:<dir> | keep`)
//! - `paths`: [`ingest_paths`], one-shot capture of files and folders given on the command line
//! - `lpd`: [`LpdSource`], an LPD (RFC 1179) receiver for IBM i remote output queues and LPR
//!   clients; its pure wire parser is `lpd::protocol`
//! - `imap`: [`ImapSource`], IMAP capture mailboxes (IDLE or polling, a journal in the
//!   database so each message is captured once, the server action only once it settled)
//! - `names`: which file names are never taken (hidden, temporary, partial)
//! - `sidecar`: spool attributes from a JSON side-car beside the spool (`splf.*` metadata)

mod folder;
pub mod imap;
mod inbox;
pub mod lpd;
mod names;
mod paths;
pub mod sidecar;

use futures::future::BoxFuture;
use tokio::sync::watch;

pub use folder::{After, FolderConfig, FolderSource};
pub use imap::{ImapAction, ImapConfig, ImapSecurity, ImapSource};
pub use inbox::{Accepted, Inbox};
pub use lpd::{LpdConfig, LpdSource, QueueProfile};
pub use names::is_ignored_name;
pub use paths::{ingest_paths, PathArrival};

/// An error of a source as a whole (a single bad file never stops a source).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("storage error: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot watch {path}: {reason}")]
    Watch { path: String, reason: String },
}

/// A watcher that turns outside input into documents.
pub trait Source: Send {
    /// The configured name, stored as `documents.source`.
    fn name(&self) -> &str;
    /// Runs until `shutdown` turns true. Each arrival goes through `inbox.accept`; only after it
    /// returns `Ok` may the source delete, move, flag or acknowledge the original.
    fn run<'a>(
        &'a mut self,
        inbox: &'a Inbox,
        shutdown: watch::Receiver<bool>,
    ) -> BoxFuture<'a, Result<(), CaptureError>>;
}
