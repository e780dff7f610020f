//! The IMAP source's configuration: one account, its folders, what to do with a captured
//! message, and the timings. The password arrives resolved (the config crate reads it from the
//! file, an environment variable or a secret file).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993).
    Tls,
    /// Plain greeting, then `STARTTLS` before login (port 143). Refused when not offered.
    StartTls,
    /// No encryption: for loopback tests only.
    Plain,
}

impl ImapSecurity {
    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            ImapSecurity::Tls => 993,
            ImapSecurity::StartTls | ImapSecurity::Plain => 143,
        }
    }
}

impl FromStr for ImapSecurity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "imaps" => Ok(ImapSecurity::Tls),
            "starttls" => Ok(ImapSecurity::StartTls),
            "plain" | "none" => Ok(ImapSecurity::Plain),
            _ => Err(format!(
                "unknown imap security {text:?}: use tls, starttls or plain"
            )),
        }
    }
}

/// What happens on the server to a message once its documents are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapAction {
    /// Move it to this folder (created when missing); `/` separates levels.
    Move(String),
    /// Add this keyword (e.g. `$Greffier`) or system flag (`\Flagged`); it stays in place.
    Keyword(String),
    /// Set `\Seen`; it stays in place.
    Seen,
    /// Delete and expunge it.
    Delete,
}

impl ImapAction {
    /// The default: out of the watched folder, into `Greffier/Done`, where people can see it.
    pub fn default_move() -> ImapAction {
        ImapAction::Move(ImapConfig::DEFAULT_DONE_FOLDER.to_string())
    }
}

impl fmt::Display for ImapAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapAction::Move(folder) => write!(f, "move:{folder}"),
            ImapAction::Keyword(keyword) => write!(f, "keyword:{keyword}"),
            ImapAction::Seen => f.write_str("seen"),
            ImapAction::Delete => f.write_str("delete"),
        }
    }
}

impl FromStr for ImapAction {
    type Err = String;
    /// `move:<folder>`, `keyword:<keyword>`, `seen` or `delete`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let action = match text.split_once(':') {
            Some(("move", folder)) if !folder.is_empty() => ImapAction::Move(folder.to_string()),
            Some(("keyword", keyword)) if valid_keyword(keyword) => {
                ImapAction::Keyword(keyword.to_string())
            }
            None if text == "seen" => ImapAction::Seen,
            None if text == "delete" => ImapAction::Delete,
            _ => {
                return Err(format!(
                    "unknown imap action {text:?}: use move:<folder>, keyword:<keyword>, seen or delete"
                ))
            }
        };
        Ok(action)
    }
}

/// An IMAP flag or keyword atom: no spaces, brackets, quotes, wildcards or controls.
pub(crate) fn valid_keyword(keyword: &str) -> bool {
    let body = keyword.strip_prefix('\\').unwrap_or(keyword);
    !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && !b"(){}%*\"\\]".contains(&byte))
}

/// One IMAP account watched by one source.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// The source name, stored as `documents.source`.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub user: String,
    /// Resolved by the config crate (from the file, an environment variable or a file).
    pub password: String,
    /// Folders to watch, `/` between levels. Default `["INBOX"]`.
    pub folders: Vec<String>,
    /// What happens to a message once its documents are committed. Default: move to
    /// `Greffier/Done`.
    pub after: ImapAction,
    /// Where messages whose documents were quarantined, or that were refused, are moved.
    /// Default `Greffier/Errors`.
    pub error_folder: String,
    /// How many messages one fetch asks for. Default 50.
    pub batch: usize,
    /// Use IDLE when the server offers it. Default `true`.
    pub idle: bool,
    /// The polling interval without IDLE. Default 60 s.
    pub poll_secs: u64,
    /// How long one IDLE lasts before the folder is resynced. Default 300 s; at most 29 min.
    pub resync_secs: u64,
    /// Messages larger than this (`RFC822.SIZE`) are refused without being downloaded.
    /// Default 50 MiB.
    pub max_message_bytes: u64,
    /// The capture address this mailbox receives (`factures@example.fr`), stored as the
    /// `mail.capture` metadata of each message.
    pub capture_address: Option<String>,
    /// How often captured messages are checked for settled documents. Default 0.5 s.
    pub settle_interval: Duration,
    /// How long a claim on a message holds before another process may take it. Default 5 min.
    pub lease: Duration,
    /// Extra trusted roots (PEM), for a server with a private CA; Mozilla's roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// How long one IMAP command may take before the connection is dropped. Default 120 s.
    pub command_timeout: Duration,
}

impl ImapConfig {
    pub const DEFAULT_DONE_FOLDER: &'static str = "Greffier/Done";
    pub const DEFAULT_ERROR_FOLDER: &'static str = "Greffier/Errors";
    pub const DEFAULT_BATCH: usize = 50;
    pub const DEFAULT_POLL_SECS: u64 = 60;
    pub const DEFAULT_RESYNC_SECS: u64 = 300;
    /// RFC 2177: re-issue IDLE at least every 29 minutes.
    pub const MAX_IDLE_SECS: u64 = 29 * 60;
    pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 50 * 1024 * 1024;
    pub const DEFAULT_SETTLE_INTERVAL: Duration = Duration::from_millis(500);
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

    /// An account with every default: INBOX, move to `Greffier/Done`, IDLE.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        port: u16,
        security: ImapSecurity,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> ImapConfig {
        ImapConfig {
            name: name.into(),
            host: host.into(),
            port,
            security,
            user: user.into(),
            password: password.into(),
            folders: vec!["INBOX".to_string()],
            after: ImapAction::default_move(),
            error_folder: Self::DEFAULT_ERROR_FOLDER.to_string(),
            batch: Self::DEFAULT_BATCH,
            idle: true,
            poll_secs: Self::DEFAULT_POLL_SECS,
            resync_secs: Self::DEFAULT_RESYNC_SECS,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            capture_address: None,
            settle_interval: Self::DEFAULT_SETTLE_INTERVAL,
            lease: Self::DEFAULT_LEASE,
            ca_file: None,
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
        }
    }

    /// `user@host:port`: the journal's account and the start of each `source_ref`.
    pub fn account(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    /// The folders to watch: the configured ones, without repeats, `INBOX` when none.
    pub(crate) fn watched_folders(&self) -> Vec<String> {
        let mut folders: Vec<String> = Vec::new();
        for folder in &self.folders {
            let folder = folder.trim();
            if !folder.is_empty() && !folders.iter().any(|known| known == folder) {
                folders.push(folder.to_string());
            }
        }
        if folders.is_empty() {
            folders.push("INBOX".to_string());
        }
        folders
    }

    pub(crate) fn batch_size(&self) -> usize {
        self.batch.clamp(1, 1000)
    }

    pub(crate) fn idle_wait(&self) -> Duration {
        Duration::from_secs(self.resync_secs.clamp(1, Self::MAX_IDLE_SECS))
    }

    pub(crate) fn poll_wait(&self) -> Duration {
        Duration::from_secs(self.poll_secs.max(1))
    }

    pub(crate) fn settle_wait(&self) -> Duration {
        self.settle_interval.max(Duration::from_millis(50))
    }

    pub(crate) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis())
            .unwrap_or(i64::MAX)
            .max(1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_print() {
        for text in [
            "move:Greffier/Done",
            "keyword:$Greffier",
            "keyword:\\Flagged",
            "seen",
            "delete",
        ] {
            let action: ImapAction = text.parse().unwrap();
            assert_eq!(action.to_string(), text);
        }
        for bad in ["move:", "keyword:a b", "keyword:(x)", "archive", "keyword:"] {
            assert!(bad.parse::<ImapAction>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let config = ImapConfig::new(
            "mail",
            "imap.example.fr",
            993,
            ImapSecurity::Tls,
            "factures",
            "x",
        );
        assert_eq!(config.account(), "factures@imap.example.fr:993");
        assert_eq!(config.after, ImapAction::Move("Greffier/Done".into()));
        assert_eq!(config.watched_folders(), ["INBOX"]);
        assert_eq!(
            "STARTTLS".parse::<ImapSecurity>(),
            Ok(ImapSecurity::StartTls)
        );
        let mut long = config.clone();
        long.resync_secs = 3600;
        assert_eq!(long.idle_wait(), Duration::from_secs(29 * 60));
    }
}
