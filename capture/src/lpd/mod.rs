//! An LPD (RFC 1179) receiver: IBM i remote output queues and `SNDTCPSPLF`, or any LPR
//! client, print to Greffier; every data file of a job becomes one document.
//!
//! # Delivery guarantee
//!
//! A job is acknowledged last, as a whole. In RFC 1179 the receiver answers every subcommand
//! line and every file with one octet, and the sender counts the job as delivered only once the
//! last file of the job is answered `0`. This receiver:
//!
//! 1. streams each data file into a temp file of its spool directory (hashing it with BLAKE3
//!    on the way, within `max_job_bytes`), and answers `0` to a file that does not yet complete
//!    the job once its bytes and the zero octet after them are written to the temp file;
//! 2. holds the job until it is complete: its control file has arrived and every data file
//!    the control file prints has arrived, in either order (control file first, as LPRng and
//!    rlpr send, or last, as `rlpr --send-data-first` sends);
//! 3. then hands every data file to [`Inbox::accept`](crate::Inbox::accept), one document
//!    each, with the control file's metadata, and answers `0` to the file that completed the
//!    job only after every `accept` returned `Ok`. If one fails it answers `1`: the IBM i
//!    keeps the spooled file in its queue and sends it again;
//! 4. on any error (a malformed line or control file, a file over the limits, an idle timeout,
//!    a connection lost in the middle of a file, a control file naming a data file that never
//!    came, shutdown) answers `1` when the sender can still read it, closes the connection and
//!    removes the job's temp files. Nothing of an incomplete job is filed.
//!
//! Hence at least once from the sender and exactly once per `(source, source_ref)`:
//! `source_ref` is `host/queue/job number/data file name/blake3`, so the same job sent again
//! (after a `1`, or after a crash before the last `0`) is recognised by the inbox, and a job
//! number the sender reuses for other content (they wrap at 999) is a new document. A job
//! sent again under a new job number is a new arrival; the pipeline's dedupe stage marks it a
//! duplicate by hash. A job of several data files is filed file by file: when filing fails
//! half way the documents already committed stay (each is a whole data file) and the resend
//! files only the rest.
//!
//! The temp files are scratch, not a journal, and are not fsynced: until the last `0` the
//! sender still holds the job, so a crash loses nothing it was told is safe. Leftovers of a
//! crash are removed when the source binds, so one spool directory belongs to one source.
//!
//! A data file of unspecified length (count `0`, as the IBM i may send) ends when the sender
//! closes its side. The job is then complete (with the control file's metadata if it came
//! first, with the queue profile only otherwise) and filed at once; the `0` is written after
//! the commit, before this side closes. A sender that only half-closed reads it; one that
//! closed completely gets no confirmation in any LPD receiver, and a crash between its close
//! and the commit loses that job.
//!
//! Print-waiting-jobs (`01`) and remove-jobs (`05`) are answered `0` and do nothing: jobs are
//! filed as they arrive, there is no print queue to start or remove from. Queue state (`03`,
//! `04`) is answered in plain text with the jobs being received on that queue.
//!
//! # Queues and metadata
//!
//! Each queue name the sender prints to (`RMTPRTQ` on the IBM i) maps to a profile: metadata
//! defaults for its documents (`ccsid`, a rules profile, a page size …). A job for a queue
//! that is not configured is refused with `1`, unless `default_profile` is set. The control
//! file adds `lpd.host` (H), `lpd.user` (P), `lpd.job` (J), `lpd.title` (T), `lpd.class` (C),
//! `lpd.banner` (L) and `lpd.file` (the N line of that data file); the receiver adds
//! `lpd.queue`, `lpd.data_file`, `lpd.control_file`, `lpd.job_number`, `lpd.format` (the print
//! letter: `l`, `f`, `o` …) and `lpd.peer` (the sender's address). These override the
//! profile's keys of the same name.
//!
//! # Port 515
//!
//! The IBM i LPR client only sends to port 515, which needs privileges on Linux. Any port can
//! be configured; to serve 515 without running as root either give the binary the capability
//! (`setcap cap_net_bind_service=+ep /usr/local/bin/greffier`, or
//! `AmbientCapabilities=CAP_NET_BIND_SERVICE` in a systemd unit), or listen on a high port
//! and redirect 515 to it: `nft add rule ip nat prerouting tcp dport 515 redirect to :5515`
//! (nftables, in an existing `nat` table with a `prerouting` chain) or
//! `iptables -t nat -A PREROUTING -p tcp --dport 515 -j REDIRECT --to-ports 5515`.
//!
//! # Limits
//!
//! `max_job_bytes` bounds a job (control and data files together; a count over it is refused
//! before any byte is read), `idle_timeout` bounds the wait for each read, `max_connections`
//! bounds the connections served at once (further ones wait in the listen backlog). Lines are
//! at most [`protocol::MAX_LINE`] bytes, control files [`protocol::MAX_CONTROL_FILE`].
//!
//! # Layout
//!
//! - `protocol`: the pure RFC 1179 parser (command, subcommand, control file), no I/O
//! - `job`: one job being received: temp files, budget, completeness, arrivals and metadata
//! - `server`: the accept loop, one task per connection, the receive-job state machine

pub mod protocol;

mod job;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::inbox::Inbox;
use crate::{CaptureError, Source};

/// Metadata defaults given to the documents of one queue.
pub type QueueProfile = BTreeMap<String, String>;

/// An LPD listener.
#[derive(Debug, Clone)]
pub struct LpdConfig {
    /// The source name, stored as `documents.source`.
    pub name: String,
    /// Where to listen; port 515 needs privileges (see the module docs), port 0 picks one.
    pub listen: SocketAddr,
    /// Where data files wait, as temp files, until their job is complete. One per source.
    pub spool_dir: PathBuf,
    /// Queue name (exact, case-sensitive) → metadata defaults of its documents.
    pub queues: BTreeMap<String, QueueProfile>,
    /// The profile of a queue not in `queues`; `None` refuses unknown queues.
    pub default_profile: Option<QueueProfile>,
    /// The most bytes one job may have, control and data files together.
    pub max_job_bytes: u64,
    /// How long a read may wait for the sender.
    pub idle_timeout: Duration,
    /// How many connections are served at once.
    pub max_connections: usize,
}

impl LpdConfig {
    /// The port IBM i and every LPR client send to.
    pub const DEFAULT_PORT: u16 = 515;
    pub const DEFAULT_MAX_JOB_BYTES: u64 = 512 * 1024 * 1024;
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

    /// A listener with the default limits and no queue configured.
    pub fn new(name: impl Into<String>, listen: SocketAddr, spool_dir: impl Into<PathBuf>) -> Self {
        LpdConfig {
            name: name.into(),
            listen,
            spool_dir: spool_dir.into(),
            queues: BTreeMap::new(),
            default_profile: None,
            max_job_bytes: Self::DEFAULT_MAX_JOB_BYTES,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// Adds a queue and the metadata defaults of its documents.
    pub fn with_queue(mut self, queue: impl Into<String>, profile: QueueProfile) -> Self {
        self.queues.insert(queue.into(), profile);
        self
    }

    /// The profile of `queue`: its own, else the default one, else `None` (refused).
    pub fn profile(&self, queue: &str) -> Option<&QueueProfile> {
        self.queues.get(queue).or(self.default_profile.as_ref())
    }
}

/// The LPD capture source. [`bind`](LpdSource::bind) it to learn the local address (port 0
/// in tests), then [`run`](Source::run) it; `run` binds by itself when needed.
pub struct LpdSource {
    config: Arc<LpdConfig>,
    listener: Option<TcpListener>,
}

impl LpdSource {
    pub fn new(config: LpdConfig) -> LpdSource {
        LpdSource {
            config: Arc::new(config),
            listener: None,
        }
    }

    pub fn config(&self) -> &LpdConfig {
        &self.config
    }

    /// Prepares the spool directory (removing a crashed run's temp files) and binds the
    /// listening socket. Returns the bound address. Binding twice keeps the first socket.
    pub async fn bind(&mut self) -> Result<SocketAddr, CaptureError> {
        if let Some(listener) = &self.listener {
            return listener
                .local_addr()
                .map_err(|error| self.listen_error(error));
        }
        let listener = self.open().await?;
        let address = listener
            .local_addr()
            .map_err(|error| self.listen_error(error))?;
        self.listener = Some(listener);
        Ok(address)
    }

    /// The bound address, once [`bind`](LpdSource::bind) succeeded.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    async fn open(&self) -> Result<TcpListener, CaptureError> {
        let spool = &self.config.spool_dir;
        let spool_error = |error| CaptureError::Io {
            path: spool.display().to_string(),
            source: error,
        };
        std::fs::create_dir_all(spool).map_err(spool_error)?;
        let removed = job::remove_leftovers(spool).map_err(spool_error)?;
        if removed > 0 {
            tracing::info!(source = %self.config.name, removed, "removed spool temp files of an earlier run");
        }
        let listener = TcpListener::bind(self.config.listen)
            .await
            .map_err(|error| {
                if error.kind() == std::io::ErrorKind::PermissionDenied {
                    tracing::error!(source = %self.config.name, listen = %self.config.listen,
                        "ports below 1024 need cap_net_bind_service or a redirect from a high port");
                }
                self.listen_error(error)
            })?;
        tracing::info!(source = %self.config.name, listen = %self.config.listen, "lpd listening");
        Ok(listener)
    }

    fn listen_error(&self, error: std::io::Error) -> CaptureError {
        CaptureError::Io {
            path: format!("lpd://{}", self.config.listen),
            source: error,
        }
    }
}

impl Source for LpdSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// Serves until `shutdown` turns true (or its sender is dropped): stops accepting, stops
    /// every job still being received (the senders keep them), lets a commit in progress end.
    fn run<'a>(
        &'a mut self,
        inbox: &'a Inbox,
        shutdown: watch::Receiver<bool>,
    ) -> BoxFuture<'a, Result<(), CaptureError>> {
        Box::pin(async move {
            let listener = match self.listener.take() {
                Some(listener) => listener,
                None => self.open().await?,
            };
            let shared = Arc::new(server::Shared::new(self.config.clone(), inbox.clone()));
            server::serve(listener, shared, shutdown).await;
            tracing::info!(source = %self.config.name, "lpd stopped");
            Ok(())
        })
    }
}
