//! The IMAP connection: TCP, TLS or STARTTLS (rustls, ring provider), login, capabilities,
//! select, IDLE, and the UID commands the source needs, each bounded by the command timeout.

use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::{Fetch, UnsolicitedResponse};
use futures::{Stream, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::config::{ImapConfig, ImapSecurity};

/// Why an IMAP step failed. [`is_connection`](ImapError::is_connection) errors drop the
/// connection and reconnect; the others concern one command.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("tls error: {0}")]
    Tls(String),
    #[error("server does not offer starttls")]
    NoStartTls,
    #[error("login refused for {user}: {reason}")]
    Login { user: String, reason: String },
    #[error("imap error during {what}: {source}")]
    Imap {
        what: &'static str,
        source: async_imap::error::Error,
    },
    #[error("no answer to {0} in time")]
    Timeout(&'static str),
    #[error("folder {0} has no uidvalidity")]
    NoUidValidity(String),
    #[error("storage error: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("shutting down")]
    Shutdown,
}

impl ImapError {
    /// Whether the connection is unusable after this error.
    pub fn is_connection(&self) -> bool {
        match self {
            ImapError::Imap { source, .. } => !matches!(
                source,
                async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)
            ),
            ImapError::Storage(_) => false,
            _ => true,
        }
    }
}

/// A TCP connection, encrypted or not.
#[derive(Debug)]
pub(crate) enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            ImapStream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            ImapStream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            ImapStream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            ImapStream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<ImapStream>;

/// The rustls configuration: ring only, Mozilla's roots plus the configured CA file.
pub(crate) fn tls_config(config: &ImapConfig) -> Result<Arc<ClientConfig>, ImapError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|error| ImapError::Tls(format!("cannot read {}: {error}", path.display())))?;
        for certificate in certificates {
            let certificate = certificate.map_err(|error| {
                ImapError::Tls(format!("bad certificate in {}: {error}", path.display()))
            })?;
            roots.add(certificate).map_err(|error| {
                ImapError::Tls(format!(
                    "unusable certificate in {}: {error}",
                    path.display()
                ))
            })?;
        }
    }
    // ring on purpose: aws-lc-rs (rustls' default, with post-quantum key exchange) needs cmake
    // and minutes of C build; ring's classical X25519/P-256 is what IMAP servers offer today.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ImapError::Tls(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// Runs one IMAP step within the command timeout.
pub(crate) async fn timed<T, F>(
    limit: Duration,
    what: &'static str,
    step: F,
) -> Result<T, ImapError>
where
    F: Future<Output = Result<T, async_imap::error::Error>>,
{
    match tokio::time::timeout(limit, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(ImapError::Imap { what, source }),
        Err(_) => Err(ImapError::Timeout(what)),
    }
}

/// Waits until `shutdown` is true or its sender is gone.
pub(crate) async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The server reported a change (new mail, expunge, flags).
    Changed,
    /// The wait ran out.
    Elapsed,
}

/// A message's UID, size and arrival time, before its body is fetched.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub uid: u32,
    pub size: Option<u32>,
    pub internal_date: Option<String>,
}

/// A logged-in connection.
pub(crate) struct Connection {
    session: Session,
    timeout: Duration,
    /// The server offers IDLE (RFC 2177).
    pub idle: bool,
    /// The server offers MOVE (RFC 6851).
    pub moves: bool,
    /// The server offers UIDPLUS (RFC 4315): `UID EXPUNGE` of given UIDs only.
    pub uidplus: bool,
    /// The hierarchy delimiter, for turning `a/b` into the server's name.
    delimiter: Option<String>,
}

impl Connection {
    /// Connects, secures, logs in and reads the capabilities and the hierarchy delimiter.
    pub(crate) async fn open(
        config: &ImapConfig,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Connection, ImapError> {
        let limit = config.command_timeout;
        let address = format!("{}:{}", config.host, config.port);
        let tcp = match tokio::time::timeout(limit, TcpStream::connect(&address)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(source)) => return Err(ImapError::Connect { address, source }),
            Err(_) => return Err(ImapError::Timeout("connect")),
        };
        let _ = tcp.set_nodelay(true);
        let client = match config.security {
            ImapSecurity::Plain => {
                let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
                greeting(&mut client, limit).await?;
                client
            }
            ImapSecurity::Tls => {
                let stream = handshake(config, tls, tcp).await?;
                let mut client = async_imap::Client::new(ImapStream::Tls(Box::new(stream)));
                greeting(&mut client, limit).await?;
                client
            }
            ImapSecurity::StartTls => {
                let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
                greeting(&mut client, limit).await?;
                timed(
                    limit,
                    "starttls",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await
                .map_err(|error| match error {
                    ImapError::Imap { .. } => ImapError::NoStartTls,
                    other => other,
                })?;
                let tcp = match client.into_inner() {
                    ImapStream::Plain(tcp) => tcp,
                    ImapStream::Tls(_) => return Err(ImapError::Tls("already encrypted".into())),
                };
                let stream = handshake(config, tls, tcp).await?;
                // No greeting after STARTTLS: the server waits for the next command.
                async_imap::Client::new(ImapStream::Tls(Box::new(stream)))
            }
        };
        let mut session =
            match tokio::time::timeout(limit, client.login(&config.user, &config.password)).await {
                Ok(Ok(session)) => session,
                Ok(Err((error, _client))) => {
                    return Err(ImapError::Login {
                        user: config.user.clone(),
                        reason: error.to_string(),
                    })
                }
                Err(_) => return Err(ImapError::Timeout("login")),
            };
        let capabilities = timed(limit, "capability", session.capabilities()).await?;
        let idle = capabilities.has_str("IDLE");
        let moves = capabilities.has_str("MOVE");
        let uidplus = capabilities.has_str("UIDPLUS");
        let delimiter = timed(limit, "list", async {
            let names: Vec<_> = session
                .list(Some(""), Some("\"\""))
                .await?
                .try_collect()
                .await?;
            Ok(names
                .iter()
                .find_map(|name| name.delimiter().map(str::to_string)))
        })
        .await?;
        Ok(Connection {
            session,
            timeout: limit,
            idle,
            moves,
            uidplus,
            delimiter,
        })
    }

    /// The server's name of a configured folder (`/` between levels).
    pub(crate) fn server_name(&self, folder: &str) -> String {
        match self.delimiter.as_deref() {
            Some(delimiter) if delimiter != "/" => folder.replace('/', delimiter),
            _ => folder.to_string(),
        }
    }

    /// Creates a folder unless it exists (a `NO` to `CREATE` is taken as "exists").
    pub(crate) async fn ensure_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        let name = self.server_name(folder);
        match timed(self.timeout, "create", self.session.create(&name)).await {
            Ok(()) => {
                tracing::info!(folder, "created imap folder");
                Ok(())
            }
            Err(ImapError::Imap {
                source: async_imap::error::Error::No(_),
                ..
            }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Selects a folder; returns its UIDVALIDITY and how many messages it holds.
    pub(crate) async fn select(&mut self, folder: &str) -> Result<(u32, u32), ImapError> {
        let name = self.server_name(folder);
        let mailbox = timed(self.timeout, "select", self.session.select(&name)).await?;
        let validity = mailbox
            .uid_validity
            .ok_or_else(|| ImapError::NoUidValidity(folder.to_string()))?;
        Ok((validity, mailbox.exists))
    }

    /// Every UID of the selected folder, ascending.
    pub(crate) async fn uids(&mut self) -> Result<Vec<u32>, ImapError> {
        let uids = timed(self.timeout, "uid search", self.session.uid_search("ALL")).await?;
        let sorted: BTreeSet<u32> = uids.into_iter().collect();
        Ok(sorted.into_iter().collect())
    }

    /// UID, `RFC822.SIZE` and `INTERNALDATE` of the given messages (no body).
    pub(crate) async fn envelopes(&mut self, uids: &[u32]) -> Result<Vec<Envelope>, ImapError> {
        let set = uid_set(uids);
        timed(self.timeout, "uid fetch size", async {
            let fetches: Vec<Fetch> = self
                .session
                .uid_fetch(&set, "(UID RFC822.SIZE INTERNALDATE)")
                .await?
                .try_collect()
                .await?;
            Ok(fetches
                .iter()
                .filter_map(|fetch| {
                    Some(Envelope {
                        uid: fetch.uid?,
                        size: fetch.size,
                        internal_date: fetch.internal_date().map(|date| date.to_rfc3339()),
                    })
                })
                .collect())
        })
        .await
    }

    /// Streams `BODY.PEEK[]` of the given messages, one at a time, as they arrive.
    pub(crate) async fn bodies(
        &mut self,
        uids: &[u32],
    ) -> Result<impl Stream<Item = Result<Fetch, async_imap::error::Error>> + '_, ImapError> {
        let set = uid_set(uids);
        timed(
            self.timeout,
            "uid fetch body",
            self.session.uid_fetch(set, "(UID BODY.PEEK[])"),
        )
        .await
    }

    /// The command timeout, for the caller reading [`bodies`](Connection::bodies).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Moves messages to a folder: `UID MOVE`, or copy, flag `\Deleted` and expunge them.
    pub(crate) async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), ImapError> {
        let set = uid_set(uids);
        let name = self.server_name(folder);
        if self.moves {
            return timed(self.timeout, "uid move", self.session.uid_mv(&set, &name)).await;
        }
        timed(self.timeout, "uid copy", self.session.uid_copy(&set, &name)).await?;
        self.delete(uids).await
    }

    /// Adds a flag or keyword to messages.
    pub(crate) async fn add_flag(&mut self, uids: &[u32], flag: &str) -> Result<(), ImapError> {
        let set = uid_set(uids);
        let query = format!("+FLAGS.SILENT ({flag})");
        timed(self.timeout, "uid store", async {
            let _: Vec<Fetch> = self
                .session
                .uid_store(&set, &query)
                .await?
                .try_collect()
                .await?;
            Ok(())
        })
        .await
    }

    /// Deletes messages: `\Deleted`, then `UID EXPUNGE` of these UIDs (UIDPLUS) or `EXPUNGE`.
    pub(crate) async fn delete(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.add_flag(uids, "\\Deleted").await?;
        let set = uid_set(uids);
        let uidplus = self.uidplus;
        timed(self.timeout, "expunge", async {
            if uidplus {
                let _: Vec<_> = self.session.uid_expunge(&set).await?.try_collect().await?;
            } else {
                let _: Vec<_> = self.session.expunge().await?.try_collect().await?;
            }
            Ok(())
        })
        .await
    }

    /// Forgets change notices that came with earlier commands: the next pass lists the folder
    /// anyway.
    pub(crate) fn forget_notices(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// Whether the server announced a change since the last [`forget_notices`].
    fn noticed_change(&mut self) -> bool {
        let mut changed = false;
        while let Ok(notice) = self.session.unsolicited_responses.try_recv() {
            if matches!(
                notice,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            ) {
                changed = true;
            }
        }
        changed
    }

    /// IDLE until the server reports a change, `wait` passes, or shutdown (which drops the
    /// connection at once: `Err(Shutdown)`).
    pub(crate) async fn idle(
        self,
        wait: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(Connection, Wake), ImapError> {
        let Connection {
            session,
            timeout,
            idle,
            moves,
            uidplus,
            delimiter,
        } = self;
        let mut handle = session.idle();
        tokio::select! {
            started = tokio::time::timeout(timeout, handle.init()) => match started {
                Ok(Ok(())) => {}
                Ok(Err(source)) => return Err(ImapError::Imap { what: "idle", source }),
                Err(_) => return Err(ImapError::Timeout("idle")),
            },
            _ = stopping(shutdown) => return Err(ImapError::Shutdown),
        }
        let wake = {
            // The wait's own timeout restarts at each keepalive; the sleep below does not.
            let (responses, _interrupt) = handle.wait_with_timeout(wait + Duration::from_secs(60));
            tokio::pin!(responses);
            tokio::select! {
                response = &mut responses => match response {
                    Ok(IdleResponse::NewData(_)) => Wake::Changed,
                    Ok(IdleResponse::Timeout | IdleResponse::ManualInterrupt) => Wake::Elapsed,
                    Err(source) => return Err(ImapError::Imap { what: "idle", source }),
                },
                _ = tokio::time::sleep(wait) => Wake::Elapsed,
                _ = stopping(shutdown) => return Err(ImapError::Shutdown),
            }
        };
        let session = tokio::select! {
            done = tokio::time::timeout(timeout, handle.done()) => match done {
                Ok(Ok(session)) => session,
                Ok(Err(source)) => return Err(ImapError::Imap { what: "idle done", source }),
                Err(_) => return Err(ImapError::Timeout("idle done")),
            },
            _ = stopping(shutdown) => return Err(ImapError::Shutdown),
        };
        let mut connection = Connection {
            session,
            timeout,
            idle,
            moves,
            uidplus,
            delimiter,
        };
        let wake = if connection.noticed_change() {
            Wake::Changed
        } else {
            wake
        };
        Ok((connection, wake))
    }

    /// Waits `wait` without IDLE; a `NOOP` at the end gathers what changed meanwhile.
    pub(crate) async fn pause(
        &mut self,
        wait: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Wake, ImapError> {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopping(shutdown) => return Err(ImapError::Shutdown),
        }
        timed(self.timeout, "noop", self.session.noop()).await?;
        Ok(if self.noticed_change() {
            Wake::Changed
        } else {
            Wake::Elapsed
        })
    }

    /// Says goodbye; errors do not matter any more.
    pub(crate) async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.session.logout()).await;
    }
}

/// Reads the server greeting.
async fn greeting(
    client: &mut async_imap::Client<ImapStream>,
    limit: Duration,
) -> Result<(), ImapError> {
    match tokio::time::timeout(limit, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(ImapError::Imap {
            what: "greeting",
            source: async_imap::error::Error::ConnectionLost,
        }),
        Ok(Err(source)) => Err(ImapError::Imap {
            what: "greeting",
            source: source.into(),
        }),
        Err(_) => Err(ImapError::Timeout("greeting")),
    }
}

/// The TLS handshake, checking the certificate against `host`.
async fn handshake(
    config: &ImapConfig,
    tls: Option<&Arc<ClientConfig>>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let tls = match tls {
        Some(tls) => tls.clone(),
        None => tls_config(config)?,
    };
    let server_name = ServerName::try_from(config.host.clone())
        .map_err(|error| ImapError::Tls(format!("bad host name {}: {error}", config.host)))?;
    match tokio::time::timeout(
        config.command_timeout,
        TlsConnector::from(tls).connect(server_name, tcp),
    )
    .await
    {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(ImapError::Tls(error.to_string())),
        Err(_) => Err(ImapError::Timeout("tls handshake")),
    }
}

/// `1,3,5:9`: UIDs as an IMAP set, runs compressed.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted: Vec<u32> = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end.wrapping_add(1) {
            index += 1;
            end = sorted[index];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        index += 1;
    }
    parts.join(",")
}

/// Reads the next item of a body stream within the timeout.
pub(crate) async fn next_body<S>(
    bodies: &mut S,
    limit: Duration,
) -> Result<Option<Fetch>, ImapError>
where
    S: Stream<Item = Result<Fetch, async_imap::error::Error>> + Unpin,
{
    match tokio::time::timeout(limit, bodies.next()).await {
        Ok(Some(Ok(fetch))) => Ok(Some(fetch)),
        Ok(Some(Err(source))) => Err(ImapError::Imap {
            what: "uid fetch body",
            source,
        }),
        Ok(None) => Ok(None),
        Err(_) => Err(ImapError::Timeout("uid fetch body")),
    }
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 7, 8, 3]), "1:3,5,7:9");
        assert_eq!(uid_set(&[42]), "42");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }
}
