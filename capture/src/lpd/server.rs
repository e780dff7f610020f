//! The socket side: the accept loop, one task per connection, the receive-job state machine
//! and the bounded reads and writes it needs. The parsing is [`super::protocol`]'s; what a job
//! holds and becomes is [`super::job`]'s.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use storage::StorageError;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::job::{Job, JobRefusal, ReceivedData, TempFile};
use super::protocol::{self, Command, DataLength, ProtocolError, Subcommand};
use super::LpdConfig;
use crate::inbox::Inbox;

/// The positive answer.
const ACK: u8 = 0;
/// The negative answer: the sender keeps the job and tries again later.
const NACK: u8 = 1;
/// How long a refused sender's remaining bytes are drained, so the `1` is not lost to a reset.
const DRAIN_FOR: Duration = Duration::from_secs(1);
/// The temp file write buffer.
const WRITE_BUFFER: usize = 256 * 1024;

/// Why a connection's job was not filed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LpdError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Refused(#[from] JobRefusal),
    #[error("no data from the sender for {0:?}")]
    Idle(Duration),
    #[error("shutting down")]
    Shutdown,
    #[error("connection closed in the middle of {0}")]
    Truncated(&'static str),
    #[error("file not followed by a zero octet (got 0x{0:02x})")]
    NoTrailingZero(u8),
    #[error("control file names data files that never came: {0}")]
    MissingDataFiles(String),
    #[error("network error: {0}")]
    Network(std::io::Error),
    #[error("spool error: {0}")]
    Spool(std::io::Error),
    #[error("cannot file the job: {0}")]
    Storage(#[from] StorageError),
}

/// What every connection of one source shares.
pub(crate) struct Shared {
    config: Arc<LpdConfig>,
    inbox: Inbox,
    /// Jobs being received, by connection, for the queue-state answer.
    active: Mutex<BTreeMap<u64, Activity>>,
    /// Numbers connections for `active`.
    next_connection: AtomicU64,
}

/// A job being received, as the queue state shows it.
#[derive(Debug, Clone)]
struct Activity {
    queue: String,
    peer: SocketAddr,
    job_number: Option<String>,
    bytes: u64,
}

impl Shared {
    pub(crate) fn new(config: Arc<LpdConfig>, inbox: Inbox) -> Shared {
        Shared {
            config,
            inbox,
            active: Mutex::new(BTreeMap::new()),
            next_connection: AtomicU64::new(0),
        }
    }

    fn with_active<T>(&self, f: impl FnOnce(&mut BTreeMap<u64, Activity>) -> T) -> T {
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut active)
    }

    fn track(&self, connection: u64, queue: &str, peer: SocketAddr, job: &Job) {
        let activity = Activity {
            queue: queue.to_string(),
            peer,
            job_number: job.job_number().map(str::to_string),
            bytes: job.bytes(),
        };
        self.with_active(|active| active.insert(connection, activity));
    }

    fn untrack(&self, connection: u64) {
        self.with_active(|active| active.remove(&connection));
    }

    /// The plain-text answer to a queue-state command.
    fn queue_state(&self, queue: &str, long: bool) -> String {
        if self.config.profile(queue).is_none() {
            return format!("greffier: queue {queue}: unknown queue\n");
        }
        let mut text = format!("greffier: queue {queue}: ready\n");
        let receiving: Vec<Activity> = self.with_active(|active| {
            active
                .values()
                .filter(|activity| activity.queue == queue)
                .cloned()
                .collect()
        });
        if receiving.is_empty() {
            text.push_str("no entries\n");
        }
        for activity in receiving {
            let job = activity.job_number.as_deref().unwrap_or("(no number yet)");
            if long {
                text.push_str(&format!(
                    "receiving job {job} from {}: {} bytes so far\n",
                    activity.peer, activity.bytes
                ));
            } else {
                text.push_str(&format!(
                    "receiving job {job} from {}\n",
                    activity.peer.ip()
                ));
            }
        }
        text
    }
}

/// Removes a connection from the queue state however it ends.
struct Tracked<'a> {
    shared: &'a Shared,
    connection: u64,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.shared.untrack(self.connection);
    }
}

/// Accepts connections until shutdown, at most `max_connections` at once, then waits for the
/// connections to end (they stop reading at shutdown; a commit in progress finishes).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = shared.config.name.clone();
    let permits = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut backoff = Duration::from_millis(50);
    loop {
        let permit = tokio::select! {
            _ = stopping(&mut shutdown) => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stopping(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%source, %error, "cannot accept a connection, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        backoff = Duration::from_millis(50);
        let span = tracing::info_span!(
            "lpd",
            source = %source,
            peer = %peer,
            queue = tracing::field::Empty
        );
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        connections.spawn(
            async move {
                let _permit = permit;
                connection(stream, peer, &shared, shutdown).await;
            }
            .instrument(span),
        );
        while let Some(ended) = connections.try_join_next() {
            report(&source, ended);
        }
    }
    while let Some(ended) = connections.join_next().await {
        report(&source, ended);
    }
}

fn report(source: &str, ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        if error.is_panic() {
            tracing::error!(%source, %error, "lpd connection task panicked");
        }
    }
}

/// Resolves when shutdown is asked for, or when nobody can ask for it any more.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// One connection: one command, and for a receive-job command the jobs that follow.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    shutdown: watch::Receiver<bool>,
) {
    let mut conn = Conn::new(stream, shared.config.idle_timeout, shutdown);
    let line = match conn.read_line().await {
        Ok(Some(line)) => line,
        Ok(None) => return,
        Err(error @ LpdError::Protocol(_)) => {
            tracing::warn!(%error, "bad command line, refused");
            conn.refuse().await;
            return;
        }
        Err(error) => {
            tracing::debug!(%error, "no command line");
            return;
        }
    };
    let command = match protocol::parse_command(&line) {
        Ok(command) => command,
        Err(error) => {
            tracing::warn!(%error, line = %protocol::escape(&line), "bad command line, refused");
            conn.refuse().await;
            return;
        }
    };
    tracing::Span::current().record("queue", command.queue());
    let outcome = match command {
        Command::ReceiveJob { queue } => {
            let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
            let _tracked = Tracked { shared, connection };
            receive_jobs(&mut conn, shared, &queue, peer, connection).await;
            return;
        }
        Command::QueueState { queue, long, .. } => {
            tracing::debug!(long, "queue state asked");
            conn.send(shared.queue_state(&queue, long).as_bytes()).await
        }
        Command::PrintWaiting { .. } => {
            tracing::debug!("print waiting jobs asked: nothing waits, jobs are filed on arrival");
            conn.send(&[ACK]).await
        }
        Command::RemoveJobs { agent, list, .. } => {
            tracing::info!(%agent, jobs = ?list, "remove jobs asked: nothing removed, jobs are filed on arrival");
            conn.send(&[ACK]).await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, "cannot answer");
    }
    conn.close().await;
}

/// What the connection does after a subcommand.
enum Next {
    /// Read the next subcommand.
    Continue,
    /// The sender closed its side (after a data file of unspecified length).
    Closed,
}

/// Receives jobs on a connection until the sender closes it or something goes wrong.
async fn receive_jobs(
    conn: &mut Conn,
    shared: &Shared,
    queue: &str,
    peer: SocketAddr,
    connection: u64,
) {
    let Some(profile) = shared.config.profile(queue) else {
        tracing::warn!("unknown queue, job refused");
        conn.refuse().await;
        return;
    };
    if let Err(error) = conn.send(&[ACK]).await {
        tracing::debug!(%error, "sender left before the job started");
        return;
    }
    let mut job = Job::new(queue, shared.config.max_job_bytes);
    loop {
        shared.track(connection, queue, peer, &job);
        let line = match conn.read_line().await {
            Ok(Some(line)) => line,
            Ok(None) => {
                if !job.is_empty() {
                    let missing = describe_missing(&job);
                    tracing::warn!(
                        job = job.job_number().unwrap_or("?"),
                        control_file = job.has_control(),
                        %missing,
                        "connection closed before the job was complete, nothing filed"
                    );
                }
                return;
            }
            Err(error) => {
                fail(conn, &job, &error).await;
                return;
            }
        };
        let step = match protocol::parse_subcommand(&line) {
            Ok(subcommand) => {
                subcommand_step(conn, shared, profile, peer, &mut job, subcommand).await
            }
            Err(error) => Err(LpdError::Protocol(error)),
        };
        match step {
            Ok(Next::Continue) => {}
            Ok(Next::Closed) => return,
            Err(error) => {
                fail(conn, &job, &error).await;
                return;
            }
        }
    }
}

/// Answers `1` where the sender can still read it and closes; the job's temp files go with it.
async fn fail(conn: &mut Conn, job: &Job, error: &LpdError) {
    let between_jobs = job.is_empty() && matches!(error, LpdError::Idle(_) | LpdError::Shutdown);
    if between_jobs {
        tracing::debug!(%error, "closing an idle connection");
    } else {
        tracing::warn!(
            %error,
            job = job.job_number().unwrap_or("?"),
            "job refused, nothing filed"
        );
    }
    if !matches!(error, LpdError::Network(_) | LpdError::Truncated(_)) {
        conn.refuse().await;
    }
}

async fn subcommand_step(
    conn: &mut Conn,
    shared: &Shared,
    profile: &BTreeMap<String, String>,
    peer: SocketAddr,
    job: &mut Job,
    subcommand: Subcommand,
) -> Result<Next, LpdError> {
    match subcommand {
        Subcommand::Abort => {
            if !job.is_empty() {
                tracing::info!(
                    job = job.job_number().unwrap_or("?"),
                    "job aborted by the sender"
                );
            }
            *job = Job::new(job.queue(), shared.config.max_job_bytes);
            conn.send(&[ACK]).await?;
            Ok(Next::Continue)
        }
        Subcommand::ControlFile { len, name } => {
            job.check_control(&name)?;
            job.reserve(len)?;
            conn.send(&[ACK]).await?;
            let bytes = conn.read_exact_bytes(len, "a control file").await?;
            conn.expect_zero().await?;
            let control = protocol::parse_control_file(&bytes)?;
            tracing::debug!(control_file = %name, data_files = control.data_files().len(), "control file received");
            job.set_control(name, control);
            finish_file(conn, shared, profile, peer, job).await
        }
        Subcommand::DataFile { len, name } => {
            job.check_data(&name)?;
            if let DataLength::Exact(len) = len {
                job.reserve(len)?;
            }
            let (temp, file) = TempFile::create(&shared.config.spool_dir)
                .await
                .map_err(LpdError::Spool)?;
            conn.send(&[ACK]).await?;
            let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut hasher = blake3::Hasher::new();
            let size = match len {
                DataLength::Exact(len) => {
                    conn.copy_exact(len, &mut writer, &mut hasher).await?;
                    conn.expect_zero().await?;
                    len
                }
                DataLength::UntilClose => {
                    let size = conn
                        .copy_until_close(job.remaining(), &mut writer, &mut hasher)
                        .await?;
                    job.reserve(size)?;
                    size
                }
            };
            writer.flush().await.map_err(LpdError::Spool)?;
            tracing::debug!(data_file = %name, bytes = size, "data file received");
            job.add_data(ReceivedData {
                name,
                temp,
                size,
                blake3: hasher.finalize().to_hex().to_string(),
            });
            match len {
                DataLength::Exact(_) => finish_file(conn, shared, profile, peer, job).await,
                DataLength::UntilClose => {
                    finish_at_close(conn, shared, profile, peer, job).await?;
                    Ok(Next::Closed)
                }
            }
        }
    }
}

/// After a whole file: answers `0`, filing the job first when this file completed it.
async fn finish_file(
    conn: &mut Conn,
    shared: &Shared,
    profile: &BTreeMap<String, String>,
    peer: SocketAddr,
    job: &mut Job,
) -> Result<Next, LpdError> {
    if job.is_complete() {
        file_job(shared, profile, peer, job).await?;
        *job = Job::new(job.queue(), shared.config.max_job_bytes);
    }
    conn.send(&[ACK]).await?;
    Ok(Next::Continue)
}

/// After a data file of unspecified length: the sender closed, so the job is complete unless
/// its control file names other data files.
async fn finish_at_close(
    conn: &mut Conn,
    shared: &Shared,
    profile: &BTreeMap<String, String>,
    peer: SocketAddr,
    job: &mut Job,
) -> Result<(), LpdError> {
    if !job.missing_data_files().is_empty() {
        return Err(LpdError::MissingDataFiles(describe_missing(job)));
    }
    if !job.has_control() {
        tracing::info!("data file ended by the sender's close with no control file: filed with the queue profile only");
    }
    file_job(shared, profile, peer, job).await?;
    *job = Job::new(job.queue(), shared.config.max_job_bytes);
    if let Err(error) = conn.send(&[ACK]).await {
        tracing::debug!(%error, "sender closed before reading the last answer");
    }
    conn.close().await;
    Ok(())
}

fn describe_missing(job: &Job) -> String {
    job.missing_data_files()
        .iter()
        .map(|name| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Hands every data file of a complete job to the inbox, in the order they arrived.
async fn file_job(
    shared: &Shared,
    profile: &BTreeMap<String, String>,
    peer: SocketAddr,
    job: &Job,
) -> Result<(), LpdError> {
    let arrivals = job.arrivals(&shared.config.name, profile, peer);
    let mut new_documents = 0;
    for (arrival, data) in arrivals.iter().zip(job.data_files()) {
        let file = tokio::fs::File::open(data.temp.path())
            .await
            .map_err(LpdError::Spool)?;
        let accepted = shared.inbox.accept(arrival, file).await?;
        if accepted.new {
            new_documents += 1;
        }
        tracing::debug!(doc_id = accepted.doc_id, new = accepted.new, data_file = %data.name, bytes = data.size, "data file filed");
    }
    tracing::info!(
        job = job.job_number().unwrap_or("?"),
        documents = arrivals.len(),
        new_documents,
        bytes = job.bytes(),
        "job filed"
    );
    Ok(())
}

/// A connection's two halves, with every read bounded by the idle timeout and by shutdown.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    idle: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Conn {
    fn new(stream: TcpStream, idle: Duration, shutdown: watch::Receiver<bool>) -> Conn {
        let (reader, writer) = stream.into_split();
        Conn {
            reader: BufReader::with_capacity(64 * 1024, reader),
            writer,
            idle,
            shutdown,
        }
    }

    /// Waits for buffered bytes; `0` means the sender closed its side.
    async fn fill(&mut self) -> Result<usize, LpdError> {
        let idle = self.idle;
        tokio::select! {
            biased;
            _ = stopping(&mut self.shutdown) => Err(LpdError::Shutdown),
            filled = tokio::time::timeout(idle, self.reader.fill_buf()) => match filled {
                Err(_) => Err(LpdError::Idle(idle)),
                Ok(Err(error)) => Err(LpdError::Network(error)),
                Ok(Ok(buffer)) => Ok(buffer.len()),
            },
        }
    }

    /// A line with its LF, `None` when the sender closed before sending any byte of it.
    async fn read_line(&mut self) -> Result<Option<Vec<u8>>, LpdError> {
        let mut line = Vec::new();
        loop {
            if self.fill().await? == 0 {
                return match line.is_empty() {
                    true => Ok(None),
                    false => Err(LpdError::Truncated("a command line")),
                };
            }
            let buffer = self.reader.buffer();
            let (taken, complete) = match buffer.iter().position(|&byte| byte == b'\n') {
                Some(end) => (end + 1, true),
                None => (buffer.len(), false),
            };
            if line.len() + taken > protocol::MAX_LINE {
                return Err(ProtocolError::LineTooLong.into());
            }
            line.extend_from_slice(&buffer[..taken]);
            self.reader.consume(taken);
            if complete {
                return Ok(Some(line));
            }
        }
    }

    /// Exactly `len` bytes (a control file, at most [`protocol::MAX_CONTROL_FILE`]).
    async fn read_exact_bytes(
        &mut self,
        len: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, LpdError> {
        let len = usize::try_from(len.min(protocol::MAX_CONTROL_FILE)).unwrap_or(0);
        let mut bytes = Vec::with_capacity(len);
        while bytes.len() < len {
            if self.fill().await? == 0 {
                return Err(LpdError::Truncated(what));
            }
            let buffer = self.reader.buffer();
            let taken = buffer.len().min(len - bytes.len());
            bytes.extend_from_slice(&buffer[..taken]);
            self.reader.consume(taken);
        }
        Ok(bytes)
    }

    /// Copies exactly `len` bytes into `out`, hashing them.
    async fn copy_exact<W: AsyncWrite + Unpin>(
        &mut self,
        len: u64,
        out: &mut W,
        hasher: &mut blake3::Hasher,
    ) -> Result<(), LpdError> {
        let mut left = len;
        while left > 0 {
            if self.fill().await? == 0 {
                return Err(LpdError::Truncated("a data file"));
            }
            let buffer = self.reader.buffer();
            let taken = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            hasher.update(&buffer[..taken]);
            out.write_all(&buffer[..taken])
                .await
                .map_err(LpdError::Spool)?;
            self.reader.consume(taken);
            left -= taken as u64;
        }
        Ok(())
    }

    /// Copies everything until the sender closes, at most `max` bytes; returns the size.
    async fn copy_until_close<W: AsyncWrite + Unpin>(
        &mut self,
        max: u64,
        out: &mut W,
        hasher: &mut blake3::Hasher,
    ) -> Result<u64, LpdError> {
        let mut size: u64 = 0;
        loop {
            let available = self.fill().await?;
            if available == 0 {
                return Ok(size);
            }
            if size + available as u64 > max {
                return Err(JobRefusal::TooLarge { max }.into());
            }
            let buffer = self.reader.buffer();
            hasher.update(buffer);
            out.write_all(buffer).await.map_err(LpdError::Spool)?;
            self.reader.consume(available);
            size += available as u64;
        }
    }

    /// The zero octet that ends every file.
    async fn expect_zero(&mut self) -> Result<(), LpdError> {
        if self.fill().await? == 0 {
            return Err(LpdError::Truncated("the zero octet after a file"));
        }
        let byte = self.reader.buffer().first().copied().unwrap_or(0);
        self.reader.consume(1);
        match byte {
            0 => Ok(()),
            other => Err(LpdError::NoTrailingZero(other)),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), LpdError> {
        let idle = self.idle;
        let write = async {
            self.writer.write_all(bytes).await?;
            self.writer.flush().await
        };
        match tokio::time::timeout(idle, write).await {
            Err(_) => Err(LpdError::Idle(idle)),
            Ok(Err(error)) => Err(LpdError::Network(error)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Answers `1` and closes.
    async fn refuse(&mut self) {
        if let Err(error) = self.send(&[NACK]).await {
            tracing::debug!(%error, "cannot send the refusal");
        }
        self.close().await;
    }

    /// Closes our side, then drains what the sender still sends for a moment, so that closing
    /// with unread bytes does not reset the connection before the sender read our answer.
    async fn close(&mut self) {
        let _ = self.writer.shutdown().await;
        let drain = async {
            loop {
                match self.reader.fill_buf().await {
                    Ok([]) | Err(_) => return,
                    Ok(buffer) => {
                        let len = buffer.len();
                        self.reader.consume(len);
                    }
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    }
}
