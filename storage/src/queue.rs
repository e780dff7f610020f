//! The documents table as a queue.
//!
//! A worker claims documents waiting for one of its stages: the claim sets a lease
//! (`lease_owner`, `lease_until`) and counts an attempt. While the lease holds, only its owner
//! can commit; once it expires any worker may claim the document again. Every write below
//! that ends a stage checks `lease_owner`, so a worker that was too slow commits nothing and
//! gets [`StorageError::LeaseLost`].

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::blobs::StoredOriginal;
use crate::db::{Backend, Db};
use crate::error::StorageError;
use crate::model::{Attachment, Document, Event, NewArrival, Status};
use crate::now_ms;

const DOC_COLUMNS: &str = "id, source, source_ref, source_path, batch, blake3, size, original_key, \
     format, status, stage, duplicate_of, pages, pdf_key, text_key, doc_type, keys_json, \
     metadata_json, problems_json, targets_json, attempts, run_after, lease_owner, lease_until, last_error, \
     failed_stage, created_at, updated_at, parent_id, page_first, page_last";

/// A lease-holding worker's view of a claimed document.
pub type Claim = Document;

/// How many documents are in each status.
pub type QueueCounts = BTreeMap<String, i64>;

/// An invoice record created when an invoice document is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub number: String,
    pub client_code: Option<String>,
    pub date: Option<String>,
    pub total: Option<String>,
}

/// What a stage commits besides the document's own columns.
#[derive(Debug, Clone, Default)]
pub struct CommitExtras {
    pub attachments: Vec<Attachment>,
    pub invoice: Option<InvoiceRecord>,
    /// Documents cut from this one (a burst print run), created in the same transaction.
    pub parts: Vec<NewPart>,
}

/// A document cut from another one, created in the same transaction as its parent's commit:
/// a part of a print run (its pages converted already, waiting for `extract`), or an
/// attachment of a mail (its own original, waiting for `detect`). It shares the parent's
/// source and batch; `source_ref` is the parent's plus `#<index>`, so committing the same
/// split twice creates nothing new.
#[derive(Debug, Clone, Default)]
pub struct NewPart {
    /// 1-based position of the part in its parent.
    pub index: usize,
    /// The part's pages in the parent (print runs).
    pub page_first: Option<i64>,
    pub page_last: Option<i64>,
    pub pdf_key: Option<String>,
    pub text_key: Option<String>,
    /// The part's own original (a mail's attachment); `None` shares the parent's original
    /// and format (a print run's part).
    pub original: Option<StoredOriginal>,
    /// Where it came from, for people; the parent's when `None`.
    pub source_path: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub stage: String,
}

fn json_map(
    doc_id: i64,
    column: &'static str,
    text: &str,
) -> Result<BTreeMap<String, String>, StorageError> {
    serde_json::from_str(text).map_err(|error| StorageError::Corrupt {
        doc_id,
        column,
        reason: error.to_string(),
    })
}

fn document_from_row(row: &AnyRow) -> Result<Document, StorageError> {
    let id: i64 = row.try_get("id")?;
    let status_text: String = row.try_get("status")?;
    let status = status_text
        .parse()
        .map_err(|reason| StorageError::Corrupt {
            doc_id: id,
            column: "status",
            reason,
        })?;
    let problems_text: String = row.try_get("problems_json")?;
    let problems = serde_json::from_str(&problems_text).map_err(|error| StorageError::Corrupt {
        doc_id: id,
        column: "problems_json",
        reason: error.to_string(),
    })?;
    let targets_text: String = row.try_get("targets_json")?;
    let targets = serde_json::from_str(&targets_text).map_err(|error| StorageError::Corrupt {
        doc_id: id,
        column: "targets_json",
        reason: error.to_string(),
    })?;
    Ok(Document {
        id,
        source: row.try_get("source")?,
        source_ref: row.try_get("source_ref")?,
        source_path: row.try_get("source_path")?,
        batch: row.try_get("batch")?,
        blake3: row.try_get("blake3")?,
        size: row.try_get("size")?,
        original_key: row.try_get("original_key")?,
        format: row.try_get("format")?,
        status,
        stage: row.try_get("stage")?,
        duplicate_of: row.try_get("duplicate_of")?,
        pages: row.try_get("pages")?,
        pdf_key: row.try_get("pdf_key")?,
        text_key: row.try_get("text_key")?,
        doc_type: row.try_get("doc_type")?,
        keys: json_map(id, "keys_json", &row.try_get::<String, _>("keys_json")?)?,
        metadata: json_map(
            id,
            "metadata_json",
            &row.try_get::<String, _>("metadata_json")?,
        )?,
        problems,
        targets,
        attempts: row.try_get("attempts")?,
        run_after: row.try_get("run_after")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        failed_stage: row.try_get("failed_stage")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        parent_id: row.try_get("parent_id")?,
        page_first: row.try_get("page_first")?,
        page_last: row.try_get("page_last")?,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Maps of strings and lists of strings always serialise.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// One stage's commit, for [`Db::commit_batch`].
pub struct StageCommit<'a> {
    pub doc: &'a Document,
    pub next_stage: Option<&'a str>,
    pub status: Status,
    pub events: Vec<(String, String)>,
    pub extras: &'a CommitExtras,
}

/// The most bind parameters one statement of a batched insert takes: far below SQLite's
/// (32,766) and PostgreSQL's (65,535) limits, so a batch of any size is cut into statements.
const MAX_PARAMS: usize = 900;

/// `INSERT INTO {head} VALUES ($1, ..), ($k+1, ..) … {tail}` for `rows` rows of `width`
/// parameters each.
fn multi_row_insert(head: &str, tail: &str, rows: usize, width: usize) -> String {
    let mut sql = format!("INSERT INTO {head} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * width + column + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Rows per statement for `width` parameters a row.
fn rows_per_statement(width: usize) -> usize {
    (MAX_PARAMS / width).max(1)
}

/// Moves one document to its next stage, if `owner` still holds its lease.
async fn update_document(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: &str,
    commit: &StageCommit<'_>,
    now: i64,
) -> Result<(), StorageError> {
    let doc = commit.doc;
    let query = sqlx::query(
        "UPDATE documents SET format = $4, pages = $5, pdf_key = $6, text_key = $7, doc_type = $8, \
         keys_json = $9, metadata_json = $10, problems_json = $11, duplicate_of = $12, \
         status = $13, stage = $14, targets_json = $15, attempts = 0, run_after = $1, \
         updated_at = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL, \
         failed_stage = NULL WHERE id = $3 AND lease_owner = $2",
    )
    .bind(now)
    .bind(owner);
    let updated = bind_commit(query, commit)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(StorageError::LeaseLost { doc_id: doc.id });
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the [`UPDATE_COLUMNS`] values a commit writes to its document, in the order both
/// updates take them: id, format, pages, pdf_key, text_key, doc_type, keys, metadata,
/// problems, duplicate_of, status, next stage, targets.
fn bind_commit<'q>(query: AnyQuery<'q>, commit: &'q StageCommit<'_>) -> AnyQuery<'q> {
    let doc = commit.doc;
    query
        .bind(doc.id)
        .bind(&doc.format)
        .bind(doc.pages)
        .bind(&doc.pdf_key)
        .bind(&doc.text_key)
        .bind(&doc.doc_type)
        .bind(to_json(&doc.keys))
        .bind(to_json(&doc.metadata))
        .bind(to_json(&doc.problems))
        .bind(doc.duplicate_of)
        .bind(commit.status.as_str())
        .bind(commit.next_stage)
        .bind(to_json(&doc.targets))
}

/// Parameters a row of [`update_documents`] takes.
const UPDATE_COLUMNS: usize = 13;

/// [`update_document`] for several documents in one statement (`UPDATE … FROM (VALUES …)`,
/// which SQLite and PostgreSQL both take; the casts give PostgreSQL the types of columns
/// that are NULL in every row). All or nothing: if `owner` lost the lease on one of them,
/// nothing is written and [`StorageError::LeaseLost`] names it.
async fn update_documents(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: &str,
    commits: &[StageCommit<'_>],
    now: i64,
) -> Result<(), StorageError> {
    let ids: Vec<i64> = commits.iter().map(|commit| commit.doc.id).collect();
    let owned_sql = format!(
        "SELECT id FROM documents WHERE lease_owner = $1 AND id IN ({})",
        (2..ids.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut owned_query = sqlx::query_scalar::<_, i64>(&owned_sql).bind(owner);
    for id in &ids {
        owned_query = owned_query.bind(*id);
    }
    let owned: std::collections::HashSet<i64> = owned_query
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect();
    if let Some(lost) = ids.iter().find(|id| !owned.contains(id)) {
        return Err(StorageError::LeaseLost { doc_id: *lost });
    }

    let mut sql = String::from(
        "UPDATE documents SET format = v.column2, pages = v.column3, pdf_key = v.column4, \
         text_key = v.column5, doc_type = v.column6, keys_json = v.column7, \
         metadata_json = v.column8, problems_json = v.column9, duplicate_of = v.column10, \
         status = v.column11, stage = v.column12, targets_json = v.column13, attempts = 0, \
         run_after = $1, updated_at = $1, lease_owner = NULL, lease_until = NULL, \
         last_error = NULL, failed_stage = NULL FROM (VALUES ",
    );
    const TYPES: [&str; UPDATE_COLUMNS] = [
        "BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT",
        "TEXT", "TEXT", "TEXT",
    ];
    for row in 0..commits.len() {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (column, sql_type) in TYPES.iter().enumerate() {
            if column > 0 {
                sql.push_str(", ");
            }
            let param = 3 + row * UPDATE_COLUMNS + column;
            sql.push_str(&format!("CAST(${param} AS {sql_type})"));
        }
        sql.push(')');
    }
    sql.push_str(") AS v WHERE documents.id = v.column1 AND documents.lease_owner = $2");
    let mut query = sqlx::query(&sql).bind(now).bind(owner);
    for commit in commits {
        query = bind_commit(query, commit);
    }
    let updated = query.execute(&mut **tx).await?.rows_affected();
    if updated != commits.len() as u64 {
        return Err(StorageError::LeaseLost {
            doc_id: ids.first().copied().unwrap_or_default(),
        });
    }
    Ok(())
}

/// Writes a batch of stage commits: one UPDATE a document, then the audit lines, attachments,
/// invoices and parts of the whole batch as multi-row INSERTs (a statement costs far more
/// than a row: a burst print run commits thousands of documents a second).
async fn commit_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: &str,
    commits: &[StageCommit<'_>],
) -> Result<(), StorageError> {
    let now = now_ms();
    if let [commit] = commits {
        update_document(tx, owner, commit, now).await?;
    } else {
        for chunk in commits.chunks(rows_per_statement(UPDATE_COLUMNS)) {
            update_documents(tx, owner, chunk, now).await?;
        }
    }

    let events: Vec<(i64, &(String, String))> = commits
        .iter()
        .flat_map(|commit| {
            commit
                .events
                .iter()
                .map(move |event| (commit.doc.id, event))
        })
        .collect();
    for chunk in events.chunks(rows_per_statement(4)) {
        let sql = multi_row_insert("events (doc_id, at, stage, message)", "", chunk.len(), 4);
        let mut query = sqlx::query(&sql);
        for (doc_id, (stage, message)) in chunk {
            query = query.bind(*doc_id).bind(now).bind(stage).bind(message);
        }
        query.execute(&mut **tx).await?;
    }

    let attachments: Vec<(i64, &Attachment)> = commits
        .iter()
        .flat_map(|commit| {
            commit
                .extras
                .attachments
                .iter()
                .map(move |attachment| (commit.doc.id, attachment))
        })
        .collect();
    for chunk in attachments.chunks(rows_per_statement(5)) {
        let sql = multi_row_insert(
            "attachments (doc_id, kind, target, origin, created_at)",
            " ON CONFLICT (doc_id, kind, target) DO NOTHING",
            chunk.len(),
            5,
        );
        let mut query = sqlx::query(&sql);
        for (doc_id, attachment) in chunk {
            query = query
                .bind(*doc_id)
                .bind(&attachment.kind)
                .bind(&attachment.target)
                .bind(&attachment.origin)
                .bind(now);
        }
        query.execute(&mut **tx).await?;
    }

    // The first document to file an invoice number creates its record; in a batch, the
    // first in commit order (as when committed one by one).
    let mut seen = std::collections::HashSet::new();
    let invoices: Vec<(i64, &InvoiceRecord)> = commits
        .iter()
        .filter_map(|commit| Some((commit.doc.id, commit.extras.invoice.as_ref()?)))
        .filter(|(_, invoice)| seen.insert(invoice.number.as_str()))
        .collect();
    for chunk in invoices.chunks(rows_per_statement(6)) {
        let sql = multi_row_insert(
            "invoices (number, client_code, invoice_date, total, doc_id, updated_at)",
            " ON CONFLICT (number) DO NOTHING",
            chunk.len(),
            6,
        );
        let mut query = sqlx::query(&sql);
        for (doc_id, invoice) in chunk {
            query = query
                .bind(&invoice.number)
                .bind(&invoice.client_code)
                .bind(&invoice.date)
                .bind(&invoice.total)
                .bind(*doc_id)
                .bind(now);
        }
        query.execute(&mut **tx).await?;
    }

    let parts: Vec<(&Document, &NewPart)> = commits
        .iter()
        .flat_map(|commit| {
            commit
                .extras
                .parts
                .iter()
                .map(move |part| (commit.doc, part))
        })
        .collect();
    const PART_COLUMNS: usize = 17;
    for chunk in parts.chunks(rows_per_statement(PART_COLUMNS)) {
        let mut sql = String::from(
            "INSERT INTO documents (source, source_ref, source_path, batch, size, original_key, format, \
             status, stage, pages, pdf_key, text_key, metadata_json, run_after, created_at, updated_at, \
             parent_id, page_first, page_last, blake3) VALUES ",
        );
        for row in 0..chunk.len() {
            if row > 0 {
                sql.push_str(", ");
            }
            let p = |column: usize| format!("${}", row * PART_COLUMNS + column);
            sql.push_str(&format!(
                "({}, {}, {}, {}, {}, {}, {}, 'processing', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9), p(10), p(11), p(12),
                p(13), p(13), p(13), p(14), p(15), p(16), p(17)
            ));
        }
        sql.push_str(" ON CONFLICT (source, source_ref) DO NOTHING");
        let mut query = sqlx::query(&sql);
        for (doc, part) in chunk {
            let pages = part
                .page_first
                .zip(part.page_last)
                .map(|(first, last)| last - first + 1);
            let (size, original_key, format, blake3) = match &part.original {
                Some(original) => (
                    original.size,
                    Some(&original.key),
                    None,
                    Some(&original.blake3),
                ),
                None => (
                    doc.size,
                    doc.original_key.as_ref(),
                    doc.format.as_ref(),
                    None,
                ),
            };
            query = query
                .bind(&doc.source)
                .bind(format!("{}#{}", doc.source_ref, part.index))
                .bind(part.source_path.as_ref().unwrap_or(&doc.source_path))
                .bind(&doc.batch)
                .bind(size)
                .bind(original_key)
                .bind(format)
                .bind(&part.stage)
                .bind(pages)
                .bind(&part.pdf_key)
                .bind(&part.text_key)
                .bind(to_json(&part.metadata))
                .bind(now)
                .bind(doc.id)
                .bind(part.page_first)
                .bind(part.page_last)
                .bind(blake3);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Db {
    /// Records an arrival whose original is already stored. Idempotent on
    /// `(source, source_ref)`: returns the existing id and `false` when it was already there.
    pub async fn insert_arrival(
        &self,
        arrival: &NewArrival,
        original: &StoredOriginal,
        first_stage: &str,
    ) -> Result<(i64, bool), StorageError> {
        let now = now_ms();
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO documents (source, source_ref, source_path, batch, blake3, size, original_key, \
             status, stage, metadata_json, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'processing', $8, $9, $10, $10, $10) \
             ON CONFLICT (source, source_ref) DO NOTHING RETURNING id",
        )
        .bind(&arrival.source)
        .bind(&arrival.source_ref)
        .bind(&arrival.source_path)
        .bind(&arrival.batch)
        .bind(&original.blake3)
        .bind(original.size)
        .bind(&original.key)
        .bind(first_stage)
        .bind(to_json(&arrival.metadata))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            self.add_event(
                id,
                "capture",
                &format!(
                    "captured from {} ({} bytes, blake3 {})",
                    arrival.source_path, original.size, original.blake3
                ),
            )
            .await?;
            return Ok((id, true));
        }
        let id = self
            .arrival_id(&arrival.source, &arrival.source_ref)
            .await?
            .ok_or_else(|| {
                StorageError::Invalid(format!(
                    "arrival {}/{} neither inserted nor found",
                    arrival.source, arrival.source_ref
                ))
            })?;
        Ok((id, false))
    }

    /// Records an arrival that could not be read (vanished, unreadable): quarantined at once,
    /// with no original, so the failure is visible instead of silent.
    pub async fn insert_unreadable(
        &self,
        arrival: &NewArrival,
        reason: &str,
    ) -> Result<(i64, bool), StorageError> {
        let now = now_ms();
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO documents (source, source_ref, source_path, batch, status, failed_stage, last_error, \
             metadata_json, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'quarantined', 'capture', $5, $6, $7, $7, $7) \
             ON CONFLICT (source, source_ref) DO NOTHING RETURNING id",
        )
        .bind(&arrival.source)
        .bind(&arrival.source_ref)
        .bind(&arrival.source_path)
        .bind(&arrival.batch)
        .bind(reason)
        .bind(to_json(&arrival.metadata))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            self.add_event(id, "capture", &format!("quarantined: {reason}"))
                .await?;
            return Ok((id, true));
        }
        let id = self
            .arrival_id(&arrival.source, &arrival.source_ref)
            .await?
            .unwrap_or_default();
        Ok((id, false))
    }

    /// The document a source already made of this arrival: the ledger that keeps a source
    /// from taking the same thing twice.
    pub async fn arrival_id(
        &self,
        source: &str,
        source_ref: &str,
    ) -> Result<Option<i64>, StorageError> {
        let id =
            sqlx::query_scalar("SELECT id FROM documents WHERE source = $1 AND source_ref = $2")
                .bind(source)
                .bind(source_ref)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id)
    }

    /// Claims up to `limit` documents waiting for one of `stages`, with a lease of `lease_ms`.
    pub async fn claim(
        &self,
        stages: &[&str],
        owner: &str,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claim>, StorageError> {
        if stages.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let stage_params: Vec<String> = (0..stages.len()).map(|i| format!("${}", i + 5)).collect();
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE documents SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM documents WHERE status = 'processing' AND stage IN ({stages}) \
                 AND run_after <= $3 AND (lease_until IS NULL OR lease_until < $3) \
                 ORDER BY run_after, id LIMIT $4{skip_locked}) \
             AND status = 'processing' AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING {DOC_COLUMNS}",
            stages = stage_params.join(", "),
        );
        let mut query = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit);
        for stage in stages {
            query = query.bind(*stage);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push(document_from_row(row)?);
        }
        claimed.sort_by_key(|doc| doc.id);
        Ok(claimed)
    }

    /// Ends a stage: writes the document's columns, the next stage (or none, when `status` is
    /// final), the events and the extras in one transaction, if `owner` still holds the lease.
    pub async fn commit(
        &self,
        doc: &Document,
        owner: &str,
        next_stage: Option<&str>,
        status: Status,
        events: &[(String, String)],
        extras: &CommitExtras,
    ) -> Result<(), StorageError> {
        let commit = StageCommit {
            doc,
            next_stage,
            status,
            events: events.to_vec(),
            extras,
        };
        self.commit_batch(owner, std::slice::from_ref(&commit))
            .await
    }

    /// Commits several stages in one transaction (one sync to disk instead of one each):
    /// all or nothing. On [`StorageError::LeaseLost`] nothing is written; the caller can
    /// commit the others one by one.
    /// Pushes a held lease `lease_ms` further, while its stage is still at work. Returns
    /// whether `owner` still held it.
    pub async fn extend_lease(
        &self,
        doc_id: i64,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let updated = sqlx::query(
            "UPDATE documents SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'processing'",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(doc_id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    pub async fn commit_batch(
        &self,
        owner: &str,
        commits: &[StageCommit<'_>],
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        commit_all(&mut tx, owner, commits).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transient failure: the document keeps its stage and waits until `run_after`.
    pub async fn retry_later(
        &self,
        doc_id: i64,
        owner: &str,
        stage: &str,
        error: &str,
        run_after: i64,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE documents SET lease_owner = NULL, lease_until = NULL, last_error = $1, run_after = $2, \
             updated_at = $3 WHERE id = $4 AND lease_owner = $5",
        )
        .bind(error)
        .bind(run_after)
        .bind(now)
        .bind(doc_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::LeaseLost { doc_id });
        }
        insert_event(&mut tx, doc_id, now, stage, &format!("will retry: {error}")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A permanent failure (or transient ones past the limit): out of the queue, with the reason.
    pub async fn quarantine(
        &self,
        doc_id: i64,
        owner: &str,
        stage: &str,
        reason: &str,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE documents SET status = 'quarantined', stage = NULL, failed_stage = $1, last_error = $2, \
             lease_owner = NULL, lease_until = NULL, updated_at = $3 WHERE id = $4 AND lease_owner = $5",
        )
        .bind(stage)
        .bind(reason)
        .bind(now)
        .bind(doc_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::LeaseLost { doc_id });
        }
        insert_event(
            &mut tx,
            doc_id,
            now,
            stage,
            &format!("quarantined: {reason}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends quarantined documents (one, or all) back to the stage that failed. Documents that
    /// could not even be read at capture have nothing to retry and stay where they are.
    pub async fn requeue_quarantined(&self, id: Option<i64>) -> Result<Vec<i64>, StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = match id {
            Some(id) => sqlx::query_scalar(
                "UPDATE documents SET status = 'processing', stage = failed_stage, failed_stage = NULL, \
                 attempts = 0, run_after = $1, updated_at = $1, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $2 AND status = 'quarantined' AND original_key IS NOT NULL RETURNING id",
            )
            .bind(now)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?,
            None => sqlx::query_scalar(
                "UPDATE documents SET status = 'processing', stage = failed_stage, failed_stage = NULL, \
                 attempts = 0, run_after = $1, updated_at = $1, lease_owner = NULL, lease_until = NULL \
                 WHERE status = 'quarantined' AND original_key IS NOT NULL RETURNING id",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?,
        };
        for id in &ids {
            insert_event(
                &mut tx,
                *id,
                now,
                "retry",
                "sent back to the queue by retry",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Puts a settled document back in the queue at `stage` (after a manual attach, the index
    /// must learn the new client). Keeps its status until the stage commits a new one.
    pub async fn requeue_at(
        &self,
        doc_id: i64,
        stage: &str,
        why: &str,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE documents SET status = 'processing', stage = $1, attempts = 0, run_after = $2, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(stage)
        .bind(now)
        .bind(doc_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::NotFound(doc_id));
        }
        insert_event(&mut tx, doc_id, now, stage, why).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn document(&self, id: i64) -> Result<Document, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StorageError::NotFound(id))?;
        document_from_row(&row)
    }

    /// Documents in a status, oldest first.
    pub async fn documents_with_status(
        &self,
        status: Status,
        limit: i64,
    ) -> Result<Vec<Document>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE status = $1 ORDER BY id LIMIT $2"
        ))
        .bind(status.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// Documents with `id > after`, in id order: for paging through everything (reindex).
    pub async fn documents_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Document>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// The documents of one ingest batch.
    pub async fn batch_documents(&self, batch: &str) -> Result<Vec<Document>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE batch = $1 ORDER BY id"
        ))
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// The documents cut from a print run, in run order.
    /// The ids of a document's parts, in the order of [`Db::parts`]: a print run of 20,000
    /// invoices is then read a page of documents at a time.
    pub async fn part_ids(&self, parent_id: i64) -> Result<Vec<i64>, StorageError> {
        let ids = sqlx::query_scalar(
            "SELECT id FROM documents WHERE parent_id = $1 ORDER BY page_first, id",
        )
        .bind(parent_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    /// The documents of `ids` that exist, in the order of `ids` (one query per 900).
    pub async fn documents_by_ids(&self, ids: &[i64]) -> Result<Vec<Document>, StorageError> {
        let mut found: std::collections::HashMap<i64, Document> =
            std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(900) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE id IN ({list})");
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let doc = document_from_row(&row)?;
                found.insert(doc.id, doc);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn parts(&self, parent_id: i64) -> Result<Vec<Document>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE parent_id = $1 ORDER BY page_first, id"
        ))
        .bind(parent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// How many of `ids`, and of the parts cut from them, are still in the queue.
    pub async fn count_unsettled(&self, ids: &[i64]) -> Result<i64, StorageError> {
        let mut unsettled = 0;
        for chunk in ids.chunks(500) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let sql = format!(
                "SELECT COUNT(*) FROM documents WHERE status = 'processing' AND (id IN ({0}) OR parent_id IN ({0}))",
                params.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            unsettled += query.fetch_one(&self.pool).await?;
        }
        Ok(unsettled)
    }

    /// The first document (lowest id) below `below_id` with these original bytes that is not
    /// itself a duplicate: the one a duplicate points to.
    pub async fn first_with_hash(
        &self,
        blake3: &str,
        below_id: i64,
    ) -> Result<Option<i64>, StorageError> {
        let id = sqlx::query_scalar(
            "SELECT id FROM documents WHERE blake3 = $1 AND id < $2 AND status <> 'duplicate' ORDER BY id LIMIT 1",
        )
        .bind(blake3)
        .bind(below_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn add_event(
        &self,
        doc_id: i64,
        stage: &str,
        message: &str,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.acquire().await?;
        insert_event(&mut conn, doc_id, now_ms(), stage, message).await
    }

    /// A document's audit trail, oldest first.
    pub async fn events(&self, doc_id: i64) -> Result<Vec<Event>, StorageError> {
        let rows =
            sqlx::query("SELECT at, stage, message FROM events WHERE doc_id = $1 ORDER BY id")
                .bind(doc_id)
                .fetch_all(&self.pool)
                .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            events.push(Event {
                at: row.try_get("at")?,
                stage: row.try_get("stage")?,
                message: row.try_get("message")?,
            });
        }
        Ok(events)
    }

    /// Documents per status.
    pub async fn counts(&self) -> Result<QueueCounts, StorageError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM documents GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = QueueCounts::new();
        for row in &rows {
            counts.insert(row.try_get("status")?, row.try_get("n")?);
        }
        Ok(counts)
    }
}

async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    doc_id: i64,
    at: i64,
    stage: &str,
    message: &str,
) -> Result<(), StorageError> {
    sqlx::query("INSERT INTO events (doc_id, at, stage, message) VALUES ($1, $2, $3, $4)")
        .bind(doc_id)
        .bind(at)
        .bind(stage)
        .bind(message)
        .execute(conn)
        .await?;
    Ok(())
}
