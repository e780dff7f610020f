//! The mail journal: what the IMAP source did with each message, keyed by account, folder,
//! UIDVALIDITY and UID.
//!
//! A message goes `claimed` → `captured` → `done` | `failed` | `refused`:
//!
//! - `claimed`: a process holds a lease on it ([`Db::mail_claim`]) and is fetching it. The
//!   claim is one statement (insert, or take over an expired lease, on conflict), atomic on
//!   SQLite and PostgreSQL alike, so two processes on one mailbox never both fetch a message.
//!   A process that dies leaves its lease to expire; the message is then claimed again.
//! - `captured`: its `.eml` is a document (`doc_id`); the server has not been touched yet.
//! - `done`: its document settled and the configured action ran on the server.
//! - `failed`: its document was quarantined (a permanent failure); the message was moved to
//!   the error folder and `last_error` says why.
//! - `refused`: the source refused it without downloading it (over the size limit); moved to
//!   the error folder, `last_error` says why.
//!
//! Rows of an older UIDVALIDITY stay: they are history, and their UIDs name other messages now.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Db;
use crate::error::StorageError;
use crate::model::Status;
use crate::now_ms;

/// One message of one mailbox folder, as long as the folder keeps its UIDVALIDITY.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MailKey {
    /// `user@host:port`.
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

impl MailKey {
    pub fn new(
        account: impl Into<String>,
        folder: impl Into<String>,
        uidvalidity: u32,
        uid: u32,
    ) -> MailKey {
        MailKey {
            account: account.into(),
            folder: folder.into(),
            uidvalidity,
            uid,
        }
    }
}

impl fmt::Display for MailKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.account, self.folder, self.uidvalidity, self.uid
        )
    }
}

/// Where a message is in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailState {
    Claimed,
    Captured,
    Done,
    Failed,
    Refused,
}

impl MailState {
    pub const ALL: [MailState; 5] = [
        MailState::Claimed,
        MailState::Captured,
        MailState::Done,
        MailState::Failed,
        MailState::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Claimed => "claimed",
            MailState::Captured => "captured",
            MailState::Done => "done",
            MailState::Failed => "failed",
            MailState::Refused => "refused",
        }
    }

    /// Whether the server action ran: nothing is left to do for this message.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MailState::Done | MailState::Failed | MailState::Refused
        )
    }
}

impl fmt::Display for MailState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MailState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        MailState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| format!("unknown mail state {text:?}"))
    }
}

/// One row of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailEntry {
    pub key: MailKey,
    pub state: MailState,
    pub doc_id: Option<i64>,
    pub owner: Option<String>,
    pub lease_until: Option<i64>,
    /// Claims plus failed server actions: how often this message was worked on.
    pub attempts: i64,
    pub last_error: Option<String>,
    /// `RFC822.SIZE`, when the server gave it.
    pub size: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A captured message whose document has settled: its server action is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPending {
    pub key: MailKey,
    pub doc_id: i64,
    pub doc_status: Status,
    /// The document's `last_error`: why it was quarantined.
    pub doc_error: Option<String>,
    /// The stage that quarantined the document; `capture` when the source refused it.
    pub failed_stage: Option<String>,
    pub attempts: i64,
}

const ENTRY_COLUMNS: &str =
    "account, folder, uidvalidity, uid, state, doc_id, owner, lease_until, \
     attempts, last_error, size, created_at, updated_at";

fn u32_column(row: &AnyRow, column: &'static str) -> Result<u32, StorageError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| {
        StorageError::Invalid(format!(
            "mail journal {column} {value} is not a 32-bit value"
        ))
    })
}

fn key_from_row(row: &AnyRow) -> Result<MailKey, StorageError> {
    Ok(MailKey {
        account: row.try_get("account")?,
        folder: row.try_get("folder")?,
        uidvalidity: u32_column(row, "uidvalidity")?,
        uid: u32_column(row, "uid")?,
    })
}

fn entry_from_row(row: &AnyRow) -> Result<MailEntry, StorageError> {
    let key = key_from_row(row)?;
    let state_text: String = row.try_get("state")?;
    let state = state_text
        .parse()
        .map_err(|reason: String| StorageError::Invalid(format!("mail journal {key}: {reason}")))?;
    Ok(MailEntry {
        key,
        state,
        doc_id: row.try_get("doc_id")?,
        owner: row.try_get("owner")?,
        lease_until: row.try_get("lease_until")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Db {
    /// Which of `uids` need no fetch: every journaled one except those claimed under a lease
    /// that has expired (their process died before capturing them).
    pub async fn mail_known_uids(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<BTreeSet<u32>, StorageError> {
        let now = now_ms();
        let mut known = BTreeSet::new();
        for chunk in uids.chunks(500) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 5)).collect();
            let sql = format!(
                "SELECT uid FROM mail_journal WHERE account = $1 AND folder = $2 AND uidvalidity = $3 \
                 AND NOT (state = 'claimed' AND lease_until < $4) AND uid IN ({})",
                params.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, i64>(&sql)
                .bind(account)
                .bind(folder)
                .bind(i64::from(uidvalidity))
                .bind(now);
            for uid in chunk {
                query = query.bind(i64::from(*uid));
            }
            for uid in query.fetch_all(&self.pool).await? {
                if let Ok(uid) = u32::try_from(uid) {
                    known.insert(uid);
                }
            }
        }
        Ok(known)
    }

    /// Claims a message for fetching: inserts its row, or takes over a claim whose lease has
    /// expired (or that `owner` already holds). `true` when `owner` now holds it; `false` when
    /// another process does, or the message is captured or finished already. One statement,
    /// so two claimers of the same message cannot both win.
    pub async fn mail_claim(
        &self,
        key: &MailKey,
        owner: &str,
        lease_ms: i64,
        size: Option<i64>,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let claimed: Option<i64> = sqlx::query_scalar(
            "INSERT INTO mail_journal (account, folder, uidvalidity, uid, state, owner, lease_until, \
             attempts, size, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'claimed', $5, $6, 1, $7, $8, $8) \
             ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE \
             SET owner = $5, lease_until = $6, attempts = mail_journal.attempts + 1, \
                 size = COALESCE($7, mail_journal.size), updated_at = $8 \
             WHERE mail_journal.state = 'claimed' \
               AND (mail_journal.lease_until < $8 OR mail_journal.owner = $5) \
             RETURNING uid",
        )
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .bind(owner)
        .bind(now.saturating_add(lease_ms))
        .bind(size)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.is_some())
    }

    /// A claimed message could not be fetched for a passing reason: it stays claimed (nobody
    /// else takes it) until `retry_after_ms` from now, then anyone may claim it again.
    pub async fn mail_retry_later(
        &self,
        key: &MailKey,
        owner: &str,
        error: &str,
        retry_after_ms: i64,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE mail_journal SET lease_until = $1, last_error = $2, updated_at = $3 \
             WHERE account = $4 AND folder = $5 AND uidvalidity = $6 AND uid = $7 \
             AND state = 'claimed' AND owner = $8",
        )
        .bind(now.saturating_add(retry_after_ms))
        .bind(error)
        .bind(now)
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The message's `.eml` is document `doc_id`. Idempotent; a message already past
    /// `captured` stays where it is. Whoever captured it (the claim may have been taken over
    /// while it was fetched), the document is the same: the inbox is idempotent on the
    /// message's `source_ref`.
    pub async fn mail_captured(&self, key: &MailKey, doc_id: i64) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE mail_journal SET state = 'captured', doc_id = $1, lease_until = NULL, \
             last_error = NULL, updated_at = $2 \
             WHERE account = $3 AND folder = $4 AND uidvalidity = $5 AND uid = $6 AND state = 'claimed'",
        )
        .bind(doc_id)
        .bind(now)
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Captured messages of one folder (and UIDVALIDITY) whose documents have settled, oldest
    /// first: their server action is due.
    pub async fn mail_pending_actions(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        limit: i64,
    ) -> Result<Vec<MailPending>, StorageError> {
        self.pending(account, folder, uidvalidity, None, limit)
            .await
    }

    /// Settled captured messages, all or those `owner` holds a live action claim on.
    async fn pending(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        held_by: Option<(&str, i64)>,
        limit: i64,
    ) -> Result<Vec<MailPending>, StorageError> {
        let held = if held_by.is_some() {
            " AND j.owner = $5 AND j.lease_until >= $6"
        } else {
            ""
        };
        let sql = format!(
            "SELECT j.account, j.folder, j.uidvalidity, j.uid, j.doc_id, j.attempts, \
             d.status AS doc_status, d.last_error AS doc_error, d.failed_stage \
             FROM mail_journal j JOIN documents d ON d.id = j.doc_id \
             WHERE j.account = $1 AND j.folder = $2 AND j.uidvalidity = $3 AND j.state = 'captured' \
             AND d.status <> 'processing'{held} ORDER BY j.uid LIMIT $4"
        );
        let mut query = sqlx::query(&sql)
            .bind(account)
            .bind(folder)
            .bind(i64::from(uidvalidity))
            .bind(limit);
        if let Some((owner, now)) = held_by {
            query = query.bind(owner).bind(now);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = key_from_row(row)?;
            let doc_id: i64 = row.try_get("doc_id")?;
            let status_text: String = row.try_get("doc_status")?;
            let doc_status = status_text
                .parse()
                .map_err(|reason| StorageError::Corrupt {
                    doc_id,
                    column: "status",
                    reason,
                })?;
            pending.push(MailPending {
                key,
                doc_id,
                doc_status,
                doc_error: row.try_get("doc_error")?,
                failed_stage: row.try_get("failed_stage")?,
                attempts: row.try_get("attempts")?,
            });
        }
        Ok(pending)
    }

    /// Claims the server action of captured messages whose documents settled: sets `owner`
    /// and a lease on up to `limit` of them that no other process holds, and returns those
    /// `owner` now holds, oldest first. One statement, so two processes never act on one
    /// message at once (two concurrent `UID MOVE`s of one message can both copy it).
    pub async fn mail_claim_actions(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        owner: &str,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<MailPending>, StorageError> {
        let now = now_ms();
        let free = "(lease_until IS NULL OR lease_until < $3 OR owner = $1)";
        sqlx::query(&format!(
            "UPDATE mail_journal SET owner = $1, lease_until = $2, updated_at = $3 \
             WHERE account = $4 AND folder = $5 AND uidvalidity = $6 AND state = 'captured' AND {free} \
             AND uid IN (SELECT j.uid FROM mail_journal j JOIN documents d ON d.id = j.doc_id \
                 WHERE j.account = $4 AND j.folder = $5 AND j.uidvalidity = $6 AND j.state = 'captured' \
                 AND d.status <> 'processing' \
                 AND (j.lease_until IS NULL OR j.lease_until < $3 OR j.owner = $1) \
                 ORDER BY j.uid LIMIT $7)"
        ))
        .bind(owner)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(account)
        .bind(folder)
        .bind(i64::from(uidvalidity))
        .bind(limit)
        .execute(&self.pool)
        .await?;
        self.pending(account, folder, uidvalidity, Some((owner, now)), limit)
            .await
    }

    /// How many captured messages of the folder wait for their documents to settle or for
    /// their server action.
    pub async fn mail_captured_count(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<i64, StorageError> {
        let count = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_journal WHERE account = $1 AND folder = $2 \
             AND uidvalidity = $3 AND state = 'captured'",
        )
        .bind(account)
        .bind(folder)
        .bind(i64::from(uidvalidity))
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// The configured action ran on the server: the message is finished.
    pub async fn mail_done(&self, key: &MailKey) -> Result<(), StorageError> {
        self.mail_finish(key, MailState::Done, None).await
    }

    /// The message's document was quarantined and the message moved to the error folder.
    pub async fn mail_failed(&self, key: &MailKey, reason: &str) -> Result<(), StorageError> {
        self.mail_finish(key, MailState::Failed, Some(reason)).await
    }

    /// The message was refused without being downloaded and moved to the error folder.
    pub async fn mail_refused(&self, key: &MailKey, reason: &str) -> Result<(), StorageError> {
        self.mail_finish(key, MailState::Refused, Some(reason))
            .await
    }

    async fn mail_finish(
        &self,
        key: &MailKey,
        state: MailState,
        reason: Option<&str>,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE mail_journal SET state = $1, last_error = $2, owner = NULL, lease_until = NULL, \
             updated_at = $3 \
             WHERE account = $4 AND folder = $5 AND uidvalidity = $6 AND uid = $7 AND state = 'captured'",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now)
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The server action of a captured message failed for a passing reason: it stays
    /// captured and is tried again (its action claim is released); the attempt and the error
    /// are recorded.
    pub async fn mail_action_failed(&self, key: &MailKey, error: &str) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE mail_journal SET attempts = attempts + 1, last_error = $1, lease_until = NULL, \
             updated_at = $2 WHERE account = $3 AND folder = $4 AND uidvalidity = $5 AND uid = $6 AND state = 'captured'",
        )
        .bind(error)
        .bind(now)
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One message's row.
    pub async fn mail_entry(&self, key: &MailKey) -> Result<Option<MailEntry>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM mail_journal \
             WHERE account = $1 AND folder = $2 AND uidvalidity = $3 AND uid = $4"
        ))
        .bind(&key.account)
        .bind(&key.folder)
        .bind(i64::from(key.uidvalidity))
        .bind(i64::from(key.uid))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// Every row of an account's folder, all UIDVALIDITYs, in (uidvalidity, uid) order.
    pub async fn mail_entries(
        &self,
        account: &str,
        folder: &str,
    ) -> Result<Vec<MailEntry>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM mail_journal WHERE account = $1 AND folder = $2 \
             ORDER BY uidvalidity, uid"
        ))
        .bind(account)
        .bind(folder)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
