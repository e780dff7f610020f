use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::error::StorageError;

/// Which database is behind the pool. The SQL is shared; the few differences live here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: the documents queue, the audit trail and the records.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
    /// Lookups that read committed records only (clients, invoices, attachments): with
    /// SQLite, their own read-only connections, which WAL lets read while the writer writes,
    /// so a lookup never waits behind another worker's transaction. With PostgreSQL, the pool.
    pub(crate) reader: AnyPool,
    pub(crate) backend: Backend,
}

/// Embedded migrations, applied in order, once each: (version, SQLite SQL, PostgreSQL SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("migrations/0001_init.sqlite.sql"),
        include_str!("migrations/0001_init.postgres.sql"),
    ),
    (
        2,
        include_str!("migrations/0002_parts.sqlite.sql"),
        include_str!("migrations/0002_parts.postgres.sql"),
    ),
    (
        3,
        include_str!("migrations/0003_mail_journal.sqlite.sql"),
        include_str!("migrations/0003_mail_journal.postgres.sql"),
    ),
];

impl Db {
    /// The embedded default: a SQLite file in the data folder.
    pub async fn open_sqlite(path: &Path) -> Result<Db, StorageError> {
        Db::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `sqlite://PATH` or `postgres://…` and applies the migrations.
    pub async fn connect(url: &str) -> Result<Db, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StorageError::UnsupportedUrl(url.to_string()));
        };
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let reader_options = options.clone();
        let pool = match backend {
            // SQLite has one writer: one connection avoids SQLITE_BUSY upgrades inside this
            // process; other processes wait on the busy timeout.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA busy_timeout = 30000").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        let reader = match backend {
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(2)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(60))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA query_only = ON").await?;
                        Ok(())
                    })
                })
                .connect_lazy_with(reader_options),
            Backend::Postgres => pool.clone(),
        };
        let db = Db {
            pool,
            reader,
            backend,
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations not yet applied. Safe with several processes starting at
    /// once: PostgreSQL serialises them with an advisory lock, SQLite with its write lock.
    async fn migrate(&self) -> Result<(), StorageError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_lock(7262737)").await?;
        }
        let outcome = self.migrate_on(&mut conn).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7262737)").await?;
        }
        outcome
    }

    async fn migrate_on(&self, conn: &mut sqlx::AnyConnection) -> Result<(), StorageError> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS greffier_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        for (version, sqlite_sql, postgres_sql) in MIGRATIONS {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM greffier_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *conn)
                    .await?;
            if applied.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => sqlite_sql,
                Backend::Postgres => postgres_sql,
            };
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO greffier_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(crate::now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, "applied database migration");
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
        self.reader.close().await;
    }
}
