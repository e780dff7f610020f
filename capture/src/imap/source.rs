//! The IMAP source's loop, one per watched folder: connect, select, capture the messages the
//! journal does not know (claim, fetch, accept, journal), act on those whose documents
//! settled, then IDLE or wait; reconnect with a backoff when the connection fails.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{join_all, BoxFuture};
use storage::{MailKey, MailPending, NewArrival, Status};
use tokio::sync::watch;
use tokio_rustls::rustls::ClientConfig;

use super::client::{next_body, stopping, tls_config, Connection, Envelope, ImapError, Wake};
use super::config::{ImapAction, ImapConfig, ImapSecurity};
use crate::inbox::Inbox;
use crate::{CaptureError, Source};

/// The first and the longest wait before reconnecting.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a message that could not be stored waits before it is claimed again.
const RETRY_AFTER_MS: i64 = 30_000;
/// How many settled messages one pass acts on.
const SETTLE_PAGE: i64 = 500;

/// The IMAP capture source of one account.
pub struct ImapSource {
    config: Arc<ImapConfig>,
    owner: String,
}

impl ImapSource {
    pub fn new(config: ImapConfig) -> ImapSource {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let owner = format!(
            "imap-{}-{}-{}",
            std::process::id(),
            storage::now_ms(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ImapSource {
            config: Arc::new(config),
            owner,
        }
    }

    pub fn config(&self) -> &ImapConfig {
        &self.config
    }

    /// This source's name in the journal's claims: unique per process and source.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl Source for ImapSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// Watches every configured folder until `shutdown` turns true (or its sender is dropped).
    /// Connection errors never end it: each folder reconnects with a backoff.
    fn run<'a>(
        &'a mut self,
        inbox: &'a Inbox,
        shutdown: watch::Receiver<bool>,
    ) -> BoxFuture<'a, Result<(), CaptureError>> {
        Box::pin(async move {
            let tls = match self.config.security {
                ImapSecurity::Plain => None,
                ImapSecurity::Tls | ImapSecurity::StartTls => match tls_config(&self.config) {
                    Ok(tls) => Some(tls),
                    Err(error) => {
                        tracing::error!(source = %self.config.name, %error, "cannot set up tls, every connection will fail");
                        None
                    }
                },
            };
            let account = self.config.account();
            let folders = self.config.watched_folders();
            let workers: Vec<FolderWorker<'_>> = folders
                .into_iter()
                .map(|folder| FolderWorker {
                    config: &self.config,
                    tls: tls.clone(),
                    inbox,
                    account: account.clone(),
                    folder,
                    owner: &self.owner,
                })
                .collect();
            join_all(workers.iter().map(|worker| worker.run(shutdown.clone()))).await;
            tracing::info!(source = %self.config.name, "imap stopped");
            Ok(())
        })
    }
}

/// One watched folder of the account.
struct FolderWorker<'a> {
    config: &'a ImapConfig,
    tls: Option<Arc<ClientConfig>>,
    inbox: &'a Inbox,
    account: String,
    folder: String,
    owner: &'a str,
}

impl FolderWorker<'_> {
    async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = BACKOFF_FIRST;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.session(&mut shutdown, &mut backoff).await {
                Ok(()) | Err(ImapError::Shutdown) => break,
                Err(error) => {
                    tracing::warn!(source = %self.config.name, folder = %self.folder, %error,
                        retry_in_ms = backoff.as_millis() as u64, state = "disconnected", "imap connection failed, reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopping(&mut shutdown) => break,
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        tracing::info!(source = %self.config.name, folder = %self.folder, state = "stopped", "imap folder stopped");
    }

    /// One connection's life: set up, then passes and waits until an error or shutdown.
    async fn session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Duration,
    ) -> Result<(), ImapError> {
        let mut connection = tokio::select! {
            opened = Connection::open(self.config, self.tls.as_ref()) => opened?,
            _ = stopping(shutdown) => return Err(ImapError::Shutdown),
        };
        if let ImapAction::Move(folder) = &self.config.after {
            connection.ensure_folder(folder).await?;
        }
        connection.ensure_folder(&self.config.error_folder).await?;
        let use_idle = self.config.idle && connection.idle;
        tracing::info!(source = %self.config.name, folder = %self.folder, idle = use_idle,
            state = "connected", "imap connected");
        *backoff = BACKOFF_FIRST;
        let mut validity: Option<u32> = None;
        loop {
            connection.forget_notices();
            let (uidvalidity, exists) = connection.select(&self.folder).await?;
            if validity != Some(uidvalidity) {
                if let Some(old) = validity {
                    tracing::warn!(source = %self.config.name, folder = %self.folder, old, uidvalidity,
                        "uidvalidity changed: every message of the folder is new to the journal");
                }
                validity = Some(uidvalidity);
            }
            if exists > 0 {
                self.capture_new(&mut connection, uidvalidity, shutdown)
                    .await?;
            }
            self.settle(&mut connection, uidvalidity).await?;
            let waiting = self
                .db()
                .mail_captured_count(&self.account, &self.folder, uidvalidity)
                .await?;
            let wait = match (waiting > 0, use_idle) {
                (true, _) => self.config.settle_wait(),
                (false, true) => self.config.idle_wait(),
                (false, false) => self.config.poll_wait(),
            };
            let wake = if use_idle {
                let (reopened, wake) = connection.idle(wait, shutdown).await?;
                connection = reopened;
                wake
            } else {
                connection.pause(wait, shutdown).await?
            };
            if *shutdown.borrow() {
                connection.logout().await;
                return Err(ImapError::Shutdown);
            }
            if wake == Wake::Changed {
                tracing::debug!(source = %self.config.name, folder = %self.folder, "imap folder changed");
            }
        }
    }

    fn db(&self) -> &storage::Db {
        self.inbox.db()
    }

    fn key(&self, uidvalidity: u32, uid: u32) -> MailKey {
        MailKey::new(self.account.clone(), self.folder.clone(), uidvalidity, uid)
    }

    /// Captures every message of the selected folder the journal does not know, batch by
    /// batch, acting on settled ones after each batch.
    async fn capture_new(
        &self,
        connection: &mut Connection,
        uidvalidity: u32,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), ImapError> {
        let uids = connection.uids().await?;
        if uids.is_empty() {
            return Ok(());
        }
        let known = self
            .db()
            .mail_known_uids(&self.account, &self.folder, uidvalidity, &uids)
            .await?;
        let new: Vec<u32> = uids
            .into_iter()
            .filter(|uid| !known.contains(uid))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        tracing::debug!(source = %self.config.name, folder = %self.folder, new = new.len(), "new imap messages");
        for chunk in new.chunks(self.config.batch_size()) {
            if *shutdown.borrow() {
                return Err(ImapError::Shutdown);
            }
            let started = Instant::now();
            let envelopes = connection.envelopes(chunk).await?;
            let mut claimed: Vec<Envelope> = Vec::with_capacity(envelopes.len());
            for envelope in envelopes {
                let key = self.key(uidvalidity, envelope.uid);
                let size = envelope.size.map(i64::from);
                if self
                    .db()
                    .mail_claim(&key, self.owner, self.config.lease_ms(), size)
                    .await?
                {
                    claimed.push(envelope);
                }
            }
            if claimed.is_empty() {
                continue;
            }
            let (refused, wanted): (Vec<Envelope>, Vec<Envelope>) =
                claimed.into_iter().partition(|envelope| {
                    envelope
                        .size
                        .is_some_and(|size| u64::from(size) > self.config.max_message_bytes)
                });
            for envelope in &refused {
                self.refuse(uidvalidity, envelope).await?;
            }
            let captured = if wanted.is_empty() {
                0
            } else {
                self.fetch(connection, uidvalidity, &wanted, shutdown)
                    .await?
            };
            tracing::info!(source = %self.config.name, folder = %self.folder, captured, refused = refused.len(),
                ms = started.elapsed().as_millis() as u64, "imap batch captured");
            self.settle(connection, uidvalidity).await?;
        }
        Ok(())
    }

    /// What the inbox is told about a message.
    fn arrival(&self, uidvalidity: u32, envelope: &Envelope) -> NewArrival {
        let uid = envelope.uid;
        let mut metadata = BTreeMap::from([
            ("imap.account".to_string(), self.account.clone()),
            ("imap.folder".to_string(), self.folder.clone()),
            ("imap.uidvalidity".to_string(), uidvalidity.to_string()),
            ("imap.uid".to_string(), uid.to_string()),
        ]);
        if let Some(date) = &envelope.internal_date {
            metadata.insert("imap.internaldate".to_string(), date.clone());
        }
        if let Some(size) = envelope.size {
            metadata.insert("imap.size".to_string(), size.to_string());
        }
        if let Some(address) = &self.config.capture_address {
            metadata.insert("mail.capture".to_string(), address.clone());
        }
        NewArrival {
            source: self.config.name.clone(),
            source_ref: self.key(uidvalidity, uid).to_string(),
            source_path: format!(
                "imap://{}@{}:{}/{};UIDVALIDITY={uidvalidity}/;UID={uid}",
                url_escape(&self.config.user),
                self.config.host,
                self.config.port,
                url_escape(&self.folder)
            ),
            batch: None,
            metadata,
        }
    }

    /// Records a message over the size limit as quarantined, without fetching it; the settle
    /// pass moves it to the error folder.
    async fn refuse(&self, uidvalidity: u32, envelope: &Envelope) -> Result<(), ImapError> {
        let key = self.key(uidvalidity, envelope.uid);
        let reason = format!(
            "message of {} bytes is over the limit of {} bytes: refused without downloading it",
            envelope.size.unwrap_or_default(),
            self.config.max_message_bytes
        );
        let accepted = self
            .inbox
            .reject(&self.arrival(uidvalidity, envelope), &reason)
            .await?;
        self.db().mail_captured(&key, accepted.doc_id).await?;
        tracing::warn!(source = %self.config.name, folder = %self.folder, uid = envelope.uid,
            doc_id = accepted.doc_id, state = "refused", %reason, "imap message refused");
        Ok(())
    }

    /// Fetches the claimed messages' bodies and hands each to the inbox as it arrives.
    /// Returns how many were captured.
    async fn fetch(
        &self,
        connection: &mut Connection,
        uidvalidity: u32,
        wanted: &[Envelope],
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<usize, ImapError> {
        let by_uid: BTreeMap<u32, &Envelope> = wanted
            .iter()
            .map(|envelope| (envelope.uid, envelope))
            .collect();
        let uids: Vec<u32> = by_uid.keys().copied().collect();
        let mut remaining: BTreeSet<u32> = by_uid.keys().copied().collect();
        let mut captured = 0;
        let limit = connection.timeout();
        let outcome = async {
            let mut bodies = connection.bodies(&uids).await?;
            while let Some(fetch) = next_body(&mut bodies, limit).await? {
                let Some(uid) = fetch.uid else { continue };
                let Some(envelope) = by_uid.get(&uid) else { continue };
                if !remaining.remove(&uid) {
                    continue;
                }
                let key = self.key(uidvalidity, uid);
                let Some(body) = fetch.body() else {
                    self.db()
                        .mail_retry_later(&key, self.owner, "the server sent no body", RETRY_AFTER_MS)
                        .await?;
                    continue;
                };
                let arrival = self.arrival(uidvalidity, envelope);
                match self.inbox.accept(&arrival, body).await {
                    Ok(accepted) => {
                        self.db().mail_captured(&key, accepted.doc_id).await?;
                        captured += 1;
                        tracing::info!(source = %self.config.name, folder = %self.folder, uid,
                            doc_id = accepted.doc_id, bytes = body.len(), new = accepted.new,
                            state = "captured", "imap message captured");
                    }
                    Err(error) => {
                        tracing::warn!(source = %self.config.name, folder = %self.folder, uid, %error,
                            state = "claimed", "cannot store imap message, retrying later");
                        self.db()
                            .mail_retry_later(&key, self.owner, &error.to_string(), RETRY_AFTER_MS)
                            .await?;
                    }
                }
                if *shutdown.borrow() {
                    // The rest of the answer is abandoned with the connection.
                    return Err(ImapError::Shutdown);
                }
            }
            Ok(())
        }
        .await;
        // Claims not captured: released at once on shutdown or error (the next pass or process
        // takes them), kept until the retry time when the server did not send them.
        let (reason, retry_after) = match &outcome {
            Ok(()) => (
                "the server did not send the message (expunged?)",
                RETRY_AFTER_MS,
            ),
            Err(_) => ("fetch interrupted", 0),
        };
        for uid in remaining {
            self.db()
                .mail_retry_later(&self.key(uidvalidity, uid), self.owner, reason, retry_after)
                .await?;
        }
        outcome.map(|()| captured)
    }

    /// Acts on captured messages whose documents settled: the configured action, or the move
    /// to the error folder for quarantined ones; then journals them finished.
    async fn settle(&self, connection: &mut Connection, uidvalidity: u32) -> Result<(), ImapError> {
        let pending = self
            .db()
            .mail_claim_actions(
                &self.account,
                &self.folder,
                uidvalidity,
                self.owner,
                self.config.lease_ms(),
                SETTLE_PAGE,
            )
            .await?;
        if pending.is_empty() {
            return Ok(());
        }
        let (failed, settled): (Vec<MailPending>, Vec<MailPending>) = pending
            .into_iter()
            .partition(|entry| entry.doc_status == Status::Quarantined);
        let mut first_error = None;
        if !settled.is_empty() {
            let uids: Vec<u32> = settled.iter().map(|entry| entry.key.uid).collect();
            let action = self.config.after.to_string();
            match self.act(connection, &uids).await {
                Ok(()) => {
                    for entry in &settled {
                        self.db().mail_done(&entry.key).await?;
                        tracing::info!(source = %self.config.name, folder = %self.folder, uid = entry.key.uid,
                            doc_id = entry.doc_id, status = %entry.doc_status, %action, state = "done",
                            "imap message done");
                    }
                }
                Err(error) => {
                    self.action_failed(&settled, &error).await?;
                    first_error = Some(error);
                }
            }
        }
        if !failed.is_empty() {
            let uids: Vec<u32> = failed.iter().map(|entry| entry.key.uid).collect();
            match connection.move_to(&uids, &self.config.error_folder).await {
                Ok(()) => {
                    for entry in &failed {
                        let reason = entry.doc_error.as_deref().unwrap_or("quarantined");
                        let refused = entry.failed_stage.as_deref() == Some("capture");
                        if refused {
                            self.db().mail_refused(&entry.key, reason).await?;
                        } else {
                            self.db().mail_failed(&entry.key, reason).await?;
                        }
                        tracing::warn!(source = %self.config.name, folder = %self.folder, uid = entry.key.uid,
                            doc_id = entry.doc_id, reason, error_folder = %self.config.error_folder,
                            state = if refused { "refused" } else { "failed" }, "imap message moved to the error folder");
                    }
                }
                Err(error) => {
                    self.action_failed(&failed, &error).await?;
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            // A refused command (NO/BAD) is retried on the next pass; a broken connection is not
            // used any further.
            Some(error) if error.is_connection() => Err(error),
            _ => Ok(()),
        }
    }

    async fn act(&self, connection: &mut Connection, uids: &[u32]) -> Result<(), ImapError> {
        match &self.config.after {
            ImapAction::Move(folder) => connection.move_to(uids, folder).await,
            ImapAction::Keyword(keyword) => connection.add_flag(uids, keyword).await,
            ImapAction::Seen => connection.add_flag(uids, "\\Seen").await,
            ImapAction::Delete => connection.delete(uids).await,
        }
    }

    async fn action_failed(
        &self,
        entries: &[MailPending],
        error: &ImapError,
    ) -> Result<(), ImapError> {
        let message = error.to_string();
        for entry in entries {
            self.db().mail_action_failed(&entry.key, &message).await?;
        }
        tracing::warn!(source = %self.config.name, folder = %self.folder, messages = entries.len(), %error,
            state = "captured", "imap server action failed, retrying later");
        Ok(())
    }
}

/// Percent-escapes what an IMAP URL (RFC 5092) cannot carry as is in a user or folder name.
fn url_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:/".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::url_escape;

    #[test]
    fn imap_urls_escape_users_and_folders() {
        assert_eq!(url_escape("factures@example.fr"), "factures%40example.fr");
        assert_eq!(
            url_escape("Greffier/Reçus 2026"),
            "Greffier/Re%C3%A7us%202026"
        );
    }
}
