//! An IMAP capture source: watches the folders of a capture mailbox (`factures@…`) and makes
//! every message a document (its `.eml`), exactly once, then acts on the server.
//!
//! # Delivery guarantee
//!
//! Exactly once per message and UIDVALIDITY, and the server is told last. Each message is
//! journaled in the database (`mail_journal`, keyed by account, folder, UIDVALIDITY and UID;
//! see `storage::MailKey`) and goes through these steps, each durable before the next:
//!
//! 1. **claim**: a journal row with a lease (one atomic statement on SQLite and PostgreSQL).
//!    Only UIDs not yet journaled are claimed; two Greffier processes on the same mailbox
//!    never both fetch a message. A process that dies leaves its lease to expire and the
//!    message is claimed again;
//! 2. **capture**: `BODY.PEEK[]` (the `\Seen` flag is left alone) streamed message by message,
//!    in batches of `batch` UIDs, into [`Inbox::accept`](crate::Inbox::accept) with
//!    `source_ref = <account>/<folder>/<uidvalidity>/<uid>`; then the row becomes `captured`
//!    with the document id. A crash in between fetches the message again after the lease, and
//!    the inbox, idempotent on `source_ref`, hands back the same document;
//! 3. **settle**: the mail's document leaves `processing` when the pipeline has exploded the
//!    `.eml` (its attachments are committed with it) or given up on it. The source looks at
//!    captured messages whose document settled right after each batch and every
//!    `settle_interval`;
//! 4. **act**: `split`, `filed`, `review` or `duplicate` → the configured action (move to a
//!    folder, add a keyword, mark seen, delete), then the row is `done`. `quarantined` (a
//!    permanent failure) → the message is moved to the error folder, then the row is `failed`
//!    with the document's reason. The action is claimed first (a lease on the row, one atomic
//!    statement): two processes never act on one message at once, which matters because two
//!    concurrent `UID MOVE`s of one message can both copy it. A server action that fails
//!    (connection lost, a `NO`) leaves the row `captured` and releases the claim: it is tried
//!    again on the next pass. Actions are idempotent by UID (a UID already moved away is a
//!    no-op), so a repeat after a crash between the action and `done` does no harm. The server
//!    is never told "done" about a message whose documents are not committed here.
//!
//! A message over `max_message_bytes` (its `RFC822.SIZE`, asked before any body is fetched) is
//! never downloaded: [`Inbox::reject`](crate::Inbox::reject) records it as a quarantined
//! document with the reason, it is moved to the error folder and its row is `refused`.
//!
//! **UIDVALIDITY changes** (a folder deleted and recreated, a server restored): the rows of the
//! old validity stay as history and are never acted upon (their UIDs name other messages now).
//! Every UID of the new validity is new to the journal, so the folder's messages are fetched
//! again under new `source_ref`s; their bytes are identical, so the pipeline's BLAKE3 dedupe
//! marks the new documents `duplicate` of the first ones (nothing is filed twice) and the
//! action is then applied. Nothing is skipped: a message is only ever finished by its own row.
//!
//! # Waiting for mail
//!
//! With `idle` and a server that offers IDLE (RFC 2177) the source idles on each folder and
//! wakes on any change; the IDLE is ended and re-issued after `resync_secs` (at most 29 min, as
//! RFC 2177 advises) to resync. Without IDLE it polls every `poll_secs`. Each pass re-selects
//! the folder (so a new UIDVALIDITY is seen), lists its UIDs and fetches the unknown ones.
//! While captured messages wait for their documents, the wait is `settle_interval`. Shutdown
//! interrupts an IDLE or a wait at once, and stops a batch between two messages (its
//! remaining claims are released for the next run).
//!
//! Connection errors are retried with a backoff from 1 s to 60 s; each state change is logged
//! with `source`, `folder`, `uid` and `doc_id` fields.
//!
//! # Folder names
//!
//! Folder names in the configuration use `/` between levels (`Greffier/Done`); the server's own
//! hierarchy delimiter (`.` on Dovecot's Maildir++) is substituted. Missing action and error
//! folders are created. Names are sent as given (ASCII; no modified UTF-7 encoding).
//!
//! # Layout
//!
//! - `config`: [`ImapConfig`], [`ImapSecurity`], [`ImapAction`]
//! - `client`: connection, TLS / STARTTLS (rustls with the ring provider, Mozilla's roots or a
//!   given CA file), login, select, IDLE, and the UID commands the source uses
//! - `source`: [`ImapSource`], the per-folder loop: sync, capture, settle, act, wait

mod client;
mod config;
mod source;

pub use client::ImapError;
pub use config::{ImapAction, ImapConfig, ImapSecurity};
pub use source::ImapSource;
