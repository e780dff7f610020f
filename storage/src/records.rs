//! The records documents are filed under: clients (imported from the ERP), forms, invoices
//! (created when an invoice document is filed), and the attachments themselves.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::Row;

use crate::db::Db;
use crate::error::StorageError;
use crate::model::{Attachment, Client};
use crate::now_ms;

/// Values per `IN (…)` list: well below every backend's limit on bind parameters.
const IN_CHUNK: usize = 900;

/// `$1, $2, … $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    /// Creates or updates a client. Returns whether it was new.
    pub async fn upsert_client(
        &self,
        code: &str,
        name: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<bool, StorageError> {
        let existed = self.client(code).await?.is_some();
        sqlx::query(
            "INSERT INTO clients (code, name, extra_json, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, extra_json = excluded.extra_json, \
             updated_at = excluded.updated_at",
        )
        .bind(code)
        .bind(name)
        .bind(serde_json::to_string(extra).unwrap_or_else(|_| "{}".into()))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    pub async fn client(&self, code: &str) -> Result<Option<Client>, StorageError> {
        let Some(row) = sqlx::query("SELECT code, name, extra_json FROM clients WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let extra_text: String = row.try_get("extra_json")?;
        Ok(Some(Client {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            extra: serde_json::from_str(&extra_text).unwrap_or_default(),
        }))
    }

    /// Creates or updates a form record (a paper form type the mailroom files against).
    pub async fn upsert_form(
        &self,
        form_id: &str,
        name: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<bool, StorageError> {
        let existed = self.form_exists(form_id).await?;
        sqlx::query(
            "INSERT INTO forms (form_id, name, extra_json, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (form_id) DO UPDATE SET name = excluded.name, extra_json = excluded.extra_json, \
             updated_at = excluded.updated_at",
        )
        .bind(form_id)
        .bind(name)
        .bind(serde_json::to_string(extra).unwrap_or_else(|_| "{}".into()))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    pub async fn form_exists(&self, form_id: &str) -> Result<bool, StorageError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT form_id FROM forms WHERE form_id = $1")
                .bind(form_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(found.is_some())
    }

    /// The document an invoice record was created from, if the invoice is known.
    pub async fn invoice_document(&self, number: &str) -> Result<Option<i64>, StorageError> {
        let id = sqlx::query_scalar("SELECT doc_id FROM invoices WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.reader)
            .await?;
        Ok(id)
    }

    /// The client an invoice record is linked to.
    pub async fn invoice_client(&self, number: &str) -> Result<Option<String>, StorageError> {
        let client: Option<Option<String>> =
            sqlx::query_scalar("SELECT client_code FROM invoices WHERE number = $1")
                .bind(number)
                .fetch_optional(&self.reader)
                .await?;
        Ok(client.flatten())
    }

    /// Files a document under a record by hand (a clerk working the review queue): records
    /// the attachment, clears the review reasons and sends the document back to `index`, so
    /// search learns about it. Returns whether the attachment is new.
    pub async fn attach_manually(
        &self,
        doc_id: i64,
        attachment: &Attachment,
        index_stage: &str,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO attachments (doc_id, kind, target, origin, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (doc_id, kind, target) DO NOTHING",
        )
        .bind(doc_id)
        .bind(&attachment.kind)
        .bind(&attachment.target)
        .bind(&attachment.origin)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let updated = sqlx::query(
            "UPDATE documents SET problems_json = '[]', status = 'processing', stage = $1, attempts = 0, \
             run_after = $2, updated_at = $2 WHERE id = $3 AND status IN ('review', 'filed')",
        )
        .bind(index_stage)
        .bind(now)
        .bind(doc_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::Invalid(format!(
                "document {doc_id} is not filed or in review"
            )));
        }
        sqlx::query(
            "INSERT INTO events (doc_id, at, stage, message) VALUES ($1, $2, 'attach', $3)",
        )
        .bind(doc_id)
        .bind(now)
        .bind(format!("attached to {} by hand", attachment.label()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted > 0)
    }

    /// What a document is filed under.
    pub async fn attachments(&self, doc_id: i64) -> Result<Vec<Attachment>, StorageError> {
        let rows = sqlx::query(
            "SELECT kind, target, origin FROM attachments WHERE doc_id = $1 ORDER BY kind, target",
        )
        .bind(doc_id)
        .fetch_all(&self.reader)
        .await?;
        let mut attachments = Vec::with_capacity(rows.len());
        for row in &rows {
            attachments.push(Attachment {
                kind: row.try_get("kind")?,
                target: row.try_get("target")?,
                origin: row.try_get("origin")?,
            });
        }
        Ok(attachments)
    }

    /// The documents filed under a record, in id order.
    pub async fn documents_attached_to(
        &self,
        kind: &str,
        target: &str,
    ) -> Result<Vec<i64>, StorageError> {
        let ids = sqlx::query_scalar(
            "SELECT doc_id FROM attachments WHERE kind = $1 AND target = $2 ORDER BY doc_id",
        )
        .bind(kind)
        .bind(target)
        .fetch_all(&self.reader)
        .await?;
        Ok(ids)
    }

    /// Which of `codes` are clients: one query per 900 codes (the attach stage looks a whole
    /// batch up at once).
    pub async fn clients_known(&self, codes: &[String]) -> Result<HashSet<String>, StorageError> {
        let mut known = HashSet::new();
        for chunk in codes.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT code FROM clients WHERE code IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for code in chunk {
                query = query.bind(code);
            }
            known.extend(query.fetch_all(&self.reader).await?);
        }
        Ok(known)
    }

    /// Which of `form_ids` are forms.
    pub async fn forms_known(&self, form_ids: &[String]) -> Result<HashSet<String>, StorageError> {
        let mut known = HashSet::new();
        for chunk in form_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT form_id FROM forms WHERE form_id IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for form_id in chunk {
                query = query.bind(form_id);
            }
            known.extend(query.fetch_all(&self.reader).await?);
        }
        Ok(known)
    }

    /// The client of each invoice of `numbers` that has a record (`None`: a record without
    /// a client); numbers without a record are absent.
    pub async fn invoice_clients(
        &self,
        numbers: &[String],
    ) -> Result<HashMap<String, Option<String>>, StorageError> {
        let mut clients = HashMap::new();
        for chunk in numbers.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT number, client_code FROM invoices WHERE number IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for number in chunk {
                query = query.bind(number);
            }
            for row in query.fetch_all(&self.reader).await? {
                clients.insert(row.try_get("number")?, row.try_get("client_code")?);
            }
        }
        Ok(clients)
    }

    /// What each of `doc_ids` is filed under (documents without attachments are absent), in
    /// the order of [`Db::attachments`].
    pub async fn attachments_of(
        &self,
        doc_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Attachment>>, StorageError> {
        let mut attachments: HashMap<i64, Vec<Attachment>> = HashMap::new();
        for chunk in doc_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT doc_id, kind, target, origin FROM attachments WHERE doc_id IN ({}) \
                 ORDER BY doc_id, kind, target",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for doc_id in chunk {
                query = query.bind(*doc_id);
            }
            for row in query.fetch_all(&self.reader).await? {
                attachments
                    .entry(row.try_get("doc_id")?)
                    .or_default()
                    .push(Attachment {
                        kind: row.try_get("kind")?,
                        target: row.try_get("target")?,
                        origin: row.try_get("origin")?,
                    });
            }
        }
        Ok(attachments)
    }

    /// Record counts for summaries: clients, invoices, forms, attachments.
    pub async fn record_counts(&self) -> Result<BTreeMap<String, i64>, StorageError> {
        let mut counts = BTreeMap::new();
        for table in ["clients", "invoices", "forms", "attachments"] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            counts.insert(table.to_string(), n);
        }
        Ok(counts)
    }
}
