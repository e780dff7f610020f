use std::path::{Path, PathBuf};

use storage::NewArrival;

use crate::inbox::{Accepted, Inbox};
use crate::names::is_ignored_name;
use crate::CaptureError;

/// What became of one path given to [`ingest_paths`].
#[derive(Debug, Clone)]
pub struct PathArrival {
    pub path: PathBuf,
    pub accepted: Accepted,
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(metadata) = std::fs::metadata(path) else {
        // Vanished or dangling: still handed over, so it is reported, not skipped.
        out.push(path.to_path_buf());
        return;
    };
    if !metadata.is_dir() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        out.push(path.to_path_buf());
        return;
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|name| name.to_str());
        let spool_of_sidecar = name
            .filter(|name| crate::sidecar::is_sidecar_name(name))
            .map(|name| child.with_file_name(&name[..name.len() - ".json".len()]));
        let ignored = name.is_some_and(is_ignored_name)
            || spool_of_sidecar.is_some_and(|spool| spool.is_file());
        if !ignored {
            collect(&child, out);
        }
    }
}

/// Captures files, and every file under folders, once each. The originals are left in place.
/// A spool's side-car (`X.json` beside `X`) gives it its attributes and is not a document.
/// Every ingest is its own batch: the same file ingested twice makes two documents, the second
/// a duplicate of the first. A file that cannot be read becomes a quarantined document.
pub async fn ingest_paths(
    inbox: &Inbox,
    source: &str,
    batch: &str,
    paths: &[PathBuf],
    metadata: &std::collections::BTreeMap<String, String>,
    mut on_arrival: impl FnMut(&PathArrival),
) -> Result<Vec<PathArrival>, CaptureError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files);
    }
    let mut arrivals = Vec::with_capacity(files.len());
    for path in files {
        let absolute = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        let arrival = NewArrival {
            source: source.to_string(),
            source_ref: format!("{}|{batch}", absolute.display()),
            source_path: path.display().to_string(),
            batch: Some(batch.to_string()),
            metadata: crate::sidecar::with_sidecar(&path, metadata).await,
        };
        let accepted = match open_regular(&path).await {
            Ok(file) => match inbox.accept(&arrival, file).await {
                Ok(accepted) => accepted,
                Err(storage::StorageError::Io(error)) => {
                    inbox
                        .reject(&arrival, &format!("cannot read file: {error}"))
                        .await?
                }
                Err(error) => return Err(error.into()),
            },
            Err(reason) => inbox.reject(&arrival, &reason).await?,
        };
        let arrival = PathArrival { path, accepted };
        on_arrival(&arrival);
        arrivals.push(arrival);
    }
    Ok(arrivals)
}

/// Opens a regular file for reading, or says in words why not.
pub(crate) async fn open_regular(path: &Path) -> Result<tokio::fs::File, String> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "file vanished before it could be read".to_string(),
            _ => format!("cannot read file: {error}"),
        })?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    tokio::fs::File::open(path)
        .await
        .map_err(|error| format!("cannot open file: {error}"))
}
