use storage::{Blobs, Db, NewArrival, StorageError};
use tokio::io::AsyncRead;

/// The one door into the queue: stores the original, then the row.
#[derive(Debug, Clone)]
pub struct Inbox {
    db: Db,
    blobs: Blobs,
    first_stage: &'static str,
}

/// What the inbox made of an arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub doc_id: i64,
    /// `false` when the source had already handed this arrival (after a crash).
    pub new: bool,
}

impl Inbox {
    pub fn new(db: Db, blobs: Blobs, first_stage: &'static str) -> Inbox {
        Inbox {
            db,
            blobs,
            first_stage,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Makes an arrival durable: when this returns `Ok`, the source may acknowledge it.
    pub async fn accept<R: AsyncRead + Unpin>(
        &self,
        arrival: &NewArrival,
        reader: R,
    ) -> Result<Accepted, StorageError> {
        if let Some(doc_id) = self
            .db
            .arrival_id(&arrival.source, &arrival.source_ref)
            .await?
        {
            return Ok(Accepted { doc_id, new: false });
        }
        let original = self.blobs.store_original(reader).await?;
        let (doc_id, new) = self
            .db
            .insert_arrival(arrival, &original, self.first_stage)
            .await?;
        tracing::info!(doc_id, source = %arrival.source, path = %arrival.source_path, bytes = original.size, new, "captured");
        Ok(Accepted { doc_id, new })
    }

    /// Records an arrival that could not be read, quarantined with the reason.
    pub async fn reject(
        &self,
        arrival: &NewArrival,
        reason: &str,
    ) -> Result<Accepted, StorageError> {
        let (doc_id, new) = self.db.insert_unreadable(arrival, reason).await?;
        tracing::warn!(doc_id, source = %arrival.source, path = %arrival.source_path, reason, "cannot read arrival");
        Ok(Accepted { doc_id, new })
    }
}
