//! Spool output folders and scanner drop folders.
//!
//! notify events wake the watcher early; a periodic rescan catches what events miss (network
//! shares emit none). A file is taken once its size and modification time have not changed
//! for `stable_for`, so a file still being written is left alone. Hidden and temporary names
//! are never taken. After its document is committed the file is deleted, moved, or kept; with
//! `keep` the documents table is the ledger (`source_ref` = path, size and mtime), so a
//! read-only share works and nothing is taken twice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use notify::{RecursiveMode, Watcher};
use storage::NewArrival;
use tokio::sync::{mpsc, watch};

use crate::inbox::Inbox;
use crate::names::is_ignored_name;
use crate::paths::open_regular;
use crate::{CaptureError, Source};

/// What happens to a file once its document is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Delete,
    /// Moved into this folder, keeping its path relative to the watched folder.
    Move(PathBuf),
    /// Left in place; the documents table remembers it was taken.
    Keep,
}

impl std::str::FromStr for After {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "delete" => Ok(After::Delete),
            "keep" => Ok(After::Keep),
            _ => match text.strip_prefix("move:") {
                Some(dir) if !dir.is_empty() => Ok(After::Move(PathBuf::from(dir))),
                _ => Err(format!(
                    "after must be delete, keep or move:<dir>, not {text:?}"
                )),
            },
        }
    }
}

/// A watched folder.
#[derive(Debug, Clone)]
pub struct FolderConfig {
    pub name: String,
    pub path: PathBuf,
    pub after: After,
    pub rescan: Duration,
    pub stable_for: Duration,
    /// Attributes given to every document of this source (e.g. `ccsid`).
    pub metadata: BTreeMap<String, String>,
}

pub struct FolderSource {
    config: FolderConfig,
    /// Files seen but not yet stable: size, mtime, and since when they have not changed.
    pending: HashMap<PathBuf, (u64, SystemTime, Instant)>,
}

fn mtime_ns(time: SystemTime) -> u128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

impl FolderSource {
    pub fn new(config: FolderConfig) -> FolderSource {
        FolderSource {
            config,
            pending: HashMap::new(),
        }
    }

    fn walk(&self, dir: &Path, out: &mut Vec<(PathBuf, std::fs::Metadata)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let ignored = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|name| is_ignored_name(name) || crate::sidecar::is_sidecar_name(name));
            if ignored {
                continue;
            }
            if let After::Move(done) = &self.config.after {
                if path.starts_with(done) {
                    continue;
                }
            }
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if metadata.is_dir() {
                self.walk(&path, out);
            } else if metadata.is_file() {
                out.push((path, metadata));
            }
        }
    }

    /// Looks at the folder once; takes every file that has been stable long enough.
    /// Returns whether files are still waiting to become stable.
    pub async fn scan(&mut self, inbox: &Inbox) -> Result<bool, CaptureError> {
        let mut files = Vec::new();
        self.walk(&self.config.path.clone(), &mut files);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let now = Instant::now();
        let mut present = std::collections::HashSet::new();
        for (path, metadata) in files {
            present.insert(path.clone());
            let size = metadata.len();
            let Ok(modified) = metadata.modified() else {
                continue;
            };
            let stable_since = match self.pending.get(&path) {
                Some(&(seen_size, seen_modified, since))
                    if seen_size == size && seen_modified == modified =>
                {
                    since
                }
                _ => {
                    self.pending.insert(path.clone(), (size, modified, now));
                    now
                }
            };
            if now.duration_since(stable_since) < self.config.stable_for {
                continue;
            }
            self.take(inbox, &path, size, modified).await?;
            self.pending.remove(&path);
        }
        self.pending.retain(|path, _| present.contains(path));
        Ok(!self.pending.is_empty())
    }

    async fn take(
        &self,
        inbox: &Inbox,
        path: &Path,
        size: u64,
        modified: SystemTime,
    ) -> Result<(), CaptureError> {
        let relative = path.strip_prefix(&self.config.path).unwrap_or(path);
        let arrival = NewArrival {
            source: self.config.name.clone(),
            source_ref: format!("{}|{size}|{}", relative.display(), mtime_ns(modified)),
            source_path: path.display().to_string(),
            batch: None,
            metadata: crate::sidecar::with_sidecar(path, &self.config.metadata).await,
        };
        let already = inbox
            .db()
            .arrival_id(&arrival.source, &arrival.source_ref)
            .await?;
        if already.is_none() {
            let accepted = match open_regular(path).await {
                Ok(file) => match inbox.accept(&arrival, file).await {
                    Ok(accepted) => accepted,
                    Err(storage::StorageError::Io(error)) => {
                        inbox
                            .reject(&arrival, &format!("cannot read file: {error}"))
                            .await?;
                        return Ok(());
                    }
                    Err(error) => return Err(error.into()),
                },
                Err(reason) if reason.contains("vanished") => {
                    tracing::info!(source = %self.config.name, path = %path.display(), "file vanished before it was taken");
                    return Ok(());
                }
                Err(reason) => {
                    // Left in place: it is not ours until we could read it.
                    inbox.reject(&arrival, &reason).await?;
                    return Ok(());
                }
            };
            tracing::debug!(doc_id = accepted.doc_id, source = %self.config.name, "arrival durable, acknowledging");
        }
        self.acknowledge(path, relative).await?;
        let sidecar = crate::sidecar::sidecar_path(path);
        if tokio::fs::try_exists(&sidecar).await.unwrap_or(false) {
            let sidecar_relative = crate::sidecar::sidecar_path(relative);
            self.acknowledge(&sidecar, &sidecar_relative).await?;
        }
        Ok(())
    }

    /// Only called once the document row is committed.
    async fn acknowledge(&self, path: &Path, relative: &Path) -> Result<(), CaptureError> {
        let io = |error: std::io::Error| CaptureError::Io {
            path: path.display().to_string(),
            source: error,
        };
        match &self.config.after {
            After::Keep => Ok(()),
            After::Delete => match tokio::fs::remove_file(path).await {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(io(error)),
            },
            After::Move(done) => {
                let mut target = done.join(relative);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(io)?;
                }
                let mut counter = 1;
                while tokio::fs::try_exists(&target).await.unwrap_or(false) {
                    let name = relative
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default();
                    target = done
                        .join(relative)
                        .with_file_name(format!("{name}.{counter}"));
                    counter += 1;
                }
                match tokio::fs::rename(path, &target).await {
                    Ok(()) => Ok(()),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(error) => Err(io(error)),
                }
            }
        }
    }
}

impl Source for FolderSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn run<'a>(
        &'a mut self,
        inbox: &'a Inbox,
        mut shutdown: watch::Receiver<bool>,
    ) -> BoxFuture<'a, Result<(), CaptureError>> {
        Box::pin(async move {
            std::fs::create_dir_all(&self.config.path).map_err(|error| CaptureError::Io {
                path: self.config.path.display().to_string(),
                source: error,
            })?;
            let (ping, mut pings) = mpsc::channel::<()>(1);
            let mut watcher =
                notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
                    let _ = ping.try_send(());
                })
                .map_err(|error| CaptureError::Watch {
                    path: self.config.path.display().to_string(),
                    reason: error.to_string(),
                })?;
            if let Err(error) = watcher.watch(&self.config.path, RecursiveMode::Recursive) {
                // Still works by rescanning (e.g. too many inotify watches).
                tracing::warn!(source = %self.config.name, %error, "no file events, rescanning only");
            }
            tracing::info!(source = %self.config.name, path = %self.config.path.display(), "watching folder");
            loop {
                if *shutdown.borrow() {
                    return Ok(());
                }
                let waiting = match self.scan(inbox).await {
                    Ok(waiting) => waiting,
                    Err(error) => {
                        tracing::warn!(source = %self.config.name, %error, "scan failed, will try again");
                        true
                    }
                };
                let wait = if waiting {
                    (self.config.stable_for / 2)
                        .max(Duration::from_millis(100))
                        .min(self.config.rescan)
                } else {
                    self.config.rescan
                };
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = pings.recv() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        })
    }
}
