//! One print job while it is received: its control file, its data files in spool temp files,
//! the byte budget, when it is complete, and the arrivals it becomes.
//!
//! A [`Job`] owns its temp files: dropping it (abort, error, closed connection) removes them,
//! so an incomplete job never leaves anything behind.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use storage::NewArrival;

use super::protocol::{ControlFile, FileName};

/// Prefix and suffix of the spool temp files, so leftovers of a crash can be recognised.
pub(crate) const TEMP_PREFIX: &str = ".lpd-";
pub(crate) const TEMP_SUFFIX: &str = ".part";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a subcommand does not fit the job; the sender gets a non-zero answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JobRefusal {
    #[error("job over the {max} byte limit")]
    TooLarge { max: u64 },
    #[error("second control file {0} in one job")]
    SecondControlFile(String),
    #[error("data file {0} sent twice in one job")]
    DuplicateDataFile(String),
}

/// A spool temp file, removed when dropped.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates a new empty file in `dir`, never overwriting one.
    pub(crate) async fn create(dir: &Path) -> std::io::Result<(TempFile, tokio::fs::File)> {
        let path = dir.join(format!(
            "{TEMP_PREFIX}{}-{}{TEMP_SUFFIX}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok((TempFile { path }, file))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), %error, "cannot remove spool temp file");
            }
        }
    }
}

/// A data file fully received into its temp file.
#[derive(Debug)]
pub(crate) struct ReceivedData {
    pub(crate) name: FileName,
    pub(crate) temp: TempFile,
    pub(crate) size: u64,
    pub(crate) blake3: String,
}

/// A job being received on one connection.
#[derive(Debug)]
pub(crate) struct Job {
    queue: String,
    max_bytes: u64,
    /// Bytes announced or received so far (control file and data files).
    bytes: u64,
    control: Option<(FileName, ControlFile)>,
    data: Vec<ReceivedData>,
}

impl Job {
    pub(crate) fn new(queue: &str, max_bytes: u64) -> Job {
        Job {
            queue: queue.to_string(),
            max_bytes,
            bytes: 0,
            control: None,
            data: Vec::new(),
        }
    }

    pub(crate) fn queue(&self) -> &str {
        &self.queue
    }

    /// Nothing received yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.control.is_none() && self.data.is_empty()
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The job number, from the control file name or the first data file name.
    pub(crate) fn job_number(&self) -> Option<&str> {
        self.control
            .as_ref()
            .and_then(|(name, _)| name.job_number())
            .or_else(|| self.data.first().and_then(|data| data.name.job_number()))
    }

    /// The bytes a new file may still have.
    pub(crate) fn remaining(&self) -> u64 {
        self.max_bytes.saturating_sub(self.bytes)
    }

    /// Reserves `len` bytes of the budget, or refuses.
    pub(crate) fn reserve(&mut self, len: u64) -> Result<(), JobRefusal> {
        if len > self.remaining() {
            return Err(JobRefusal::TooLarge {
                max: self.max_bytes,
            });
        }
        self.bytes += len;
        Ok(())
    }

    pub(crate) fn check_control(&self, name: &FileName) -> Result<(), JobRefusal> {
        match &self.control {
            Some(_) => Err(JobRefusal::SecondControlFile(name.to_string())),
            None => Ok(()),
        }
    }

    pub(crate) fn check_data(&self, name: &FileName) -> Result<(), JobRefusal> {
        if self.data.iter().any(|data| &data.name == name) {
            return Err(JobRefusal::DuplicateDataFile(name.to_string()));
        }
        Ok(())
    }

    pub(crate) fn set_control(&mut self, name: FileName, control: ControlFile) {
        self.control = Some((name, control));
    }

    pub(crate) fn add_data(&mut self, data: ReceivedData) {
        self.data.push(data);
    }

    pub(crate) fn has_control(&self) -> bool {
        self.control.is_some()
    }

    /// The data files the control file names that have not arrived.
    pub(crate) fn missing_data_files(&self) -> Vec<&FileName> {
        let Some((_, control)) = &self.control else {
            return Vec::new();
        };
        control
            .data_files()
            .into_iter()
            .filter(|name| !self.data.iter().any(|data| &data.name == *name))
            .collect()
    }

    /// The control file has arrived and every data file it names too.
    pub(crate) fn is_complete(&self) -> bool {
        self.has_control() && self.missing_data_files().is_empty()
    }

    pub(crate) fn data_files(&self) -> &[ReceivedData] {
        &self.data
    }

    /// The arrival of each received data file, in the order they arrived.
    pub(crate) fn arrivals(
        &self,
        source: &str,
        profile: &BTreeMap<String, String>,
        peer: SocketAddr,
    ) -> Vec<NewArrival> {
        let control = self.control.as_ref().map(|(_, control)| control);
        let control_name = self.control.as_ref().map(|(name, _)| name);
        self.data
            .iter()
            .map(|data| {
                let host = control
                    .and_then(|control| control.host.clone())
                    .or_else(|| data.name.host().map(str::to_string))
                    .unwrap_or_else(|| peer.ip().to_string());
                let host = reference_part(&host);
                let job = data.name.job_number().or(self.job_number()).unwrap_or("0");
                let mut metadata = profile.clone();
                metadata.extend(
                    job_metadata(&self.queue, control, control_name, data, peer)
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value)),
                );
                NewArrival {
                    source: source.to_string(),
                    source_ref: format!(
                        "{host}/{}/{job}/{}/{}",
                        self.queue, data.name, data.blake3
                    ),
                    source_path: format!("lpd://{host}/{}/{}", self.queue, data.name),
                    batch: None,
                    metadata,
                }
            })
            .collect()
    }
}

/// The `lpd.*` metadata of one data file; they override the queue profile's keys.
fn job_metadata(
    queue: &str,
    control: Option<&ControlFile>,
    control_name: Option<&FileName>,
    data: &ReceivedData,
    peer: SocketAddr,
) -> Vec<(&'static str, String)> {
    let mut metadata = vec![
        ("lpd.queue", queue.to_string()),
        ("lpd.data_file", data.name.to_string()),
        ("lpd.peer", peer.ip().to_string()),
    ];
    if let Some(number) = data.name.job_number() {
        metadata.push(("lpd.job_number", number.to_string()));
    }
    if let Some(name) = control_name {
        metadata.push(("lpd.control_file", name.to_string()));
    }
    let Some(control) = control else {
        return metadata;
    };
    let fields = [
        ("lpd.host", &control.host),
        ("lpd.user", &control.user),
        ("lpd.job", &control.job_name),
        ("lpd.title", &control.title),
        ("lpd.class", &control.class),
        ("lpd.banner", &control.banner_user),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            metadata.push((key, value.clone()));
        }
    }
    if let Some(file) = control.source_name_of(&data.name) {
        metadata.push(("lpd.file", file.to_string()));
    }
    if let Some(format) = control.format_of(&data.name) {
        metadata.push(("lpd.format", char::from(format).to_string()));
    }
    metadata
}

/// A host name as a part of a `source_ref` or `source_path`: no `/`, no spaces.
fn reference_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Removes the temp files a crashed process left in `dir`.
pub(crate) fn remove_leftovers(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpd::protocol::parse_control_file;

    fn file_name(text: &str) -> FileName {
        FileName::parse(text.as_bytes()).expect("valid name")
    }

    async fn received(dir: &Path, name: &str) -> ReceivedData {
        let (temp, _file) = TempFile::create(dir).await.expect("temp file");
        ReceivedData {
            name: file_name(name),
            temp,
            size: 3,
            blake3: "b3".into(),
        }
    }

    #[tokio::test]
    async fn control_last_completes_the_job_and_metadata_lands() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut job = Job::new("FACTURES", 1000);
        job.reserve(3).expect("within budget");
        job.add_data(received(dir.path(), "dfA007as400").await);
        assert!(!job.is_complete());
        let control =
            parse_control_file(b"Has400\nPQPGMR\nJINV001\nTFactures mars\nNQPRINT\nldfA007as400\n")
                .expect("valid control file");
        job.set_control(file_name("cfA007as400"), control);
        assert!(job.is_complete());

        let profile = BTreeMap::from([
            ("ccsid".to_string(), "297".to_string()),
            ("lpd.user".to_string(), "from-profile".to_string()),
        ]);
        let peer: SocketAddr = "10.0.0.5:1023".parse().expect("address");
        let arrivals = job.arrivals("lpd-in", &profile, peer);
        assert_eq!(arrivals.len(), 1);
        let arrival = &arrivals[0];
        assert_eq!(arrival.source, "lpd-in");
        assert_eq!(
            arrival.source_ref,
            "as400/FACTURES/007/dfA007as400/b3".to_string()
        );
        assert_eq!(arrival.source_path, "lpd://as400/FACTURES/dfA007as400");
        let get = |key: &str| arrival.metadata.get(key).map(String::as_str);
        assert_eq!(get("ccsid"), Some("297"));
        assert_eq!(get("lpd.user"), Some("QPGMR"));
        assert_eq!(get("lpd.job"), Some("INV001"));
        assert_eq!(get("lpd.title"), Some("Factures mars"));
        assert_eq!(get("lpd.file"), Some("QPRINT"));
        assert_eq!(get("lpd.format"), Some("l"));
        assert_eq!(get("lpd.queue"), Some("FACTURES"));
        assert_eq!(get("lpd.peer"), Some("10.0.0.5"));
    }

    #[tokio::test]
    async fn budget_duplicates_and_temp_cleanup() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut job = Job::new("Q", 10);
        job.reserve(8).expect("within budget");
        assert_eq!(job.reserve(3), Err(JobRefusal::TooLarge { max: 10 }));
        assert_eq!(job.remaining(), 2);
        job.add_data(received(dir.path(), "dfA001h").await);
        assert_eq!(
            job.check_data(&file_name("dfA001h")),
            Err(JobRefusal::DuplicateDataFile("dfA001h".into()))
        );
        job.set_control(file_name("cfA001h"), ControlFile::default());
        assert!(job.check_control(&file_name("cfA001h")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
        drop(job);
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[tokio::test]
    async fn leftovers_are_removed_and_other_files_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (temp, _file) = TempFile::create(dir.path()).await.expect("temp file");
        std::mem::forget(temp);
        std::fs::write(dir.path().join("keep.txt"), b"x").expect("write");
        assert_eq!(remove_leftovers(dir.path()).expect("cleanup"), 1);
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
