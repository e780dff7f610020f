use thiserror::Error;

/// An error from one of the stores.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store error: {0}")]
    Blob(#[from] object_store::Error),
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search query error: {0}")]
    Query(#[from] tantivy::query::QueryParserError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("lease lost on document {doc_id}: another worker owns it now")]
    LeaseLost { doc_id: i64 },
    #[error("document {0} not found")]
    NotFound(i64),
    #[error("bad stored value in {column} of document {doc_id}: {reason}")]
    Corrupt {
        doc_id: i64,
        column: &'static str,
        reason: String,
    },
    #[error("unsupported database url {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Invalid(String),
}

impl StorageError {
    /// Whether the same operation can succeed later (busy database, network, locked index).
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Database(error) => !matches!(
                error,
                sqlx::Error::ColumnNotFound(_)
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::Decode(_)
                    | sqlx::Error::TypeNotFound { .. }
                    | sqlx::Error::RowNotFound
            ),
            StorageError::Blob(error) => !matches!(
                error,
                object_store::Error::NotFound { .. } | object_store::Error::InvalidPath { .. }
            ),
            StorageError::Index(_) | StorageError::Io(_) | StorageError::LeaseLost { .. } => true,
            StorageError::Query(_)
            | StorageError::NotFound(_)
            | StorageError::Corrupt { .. }
            | StorageError::UnsupportedUrl(_)
            | StorageError::Invalid(_) => false,
        }
    }
}
