//! Blobs through object_store: originals are content-addressed and written once, derived
//! artifacts are keyed by document id so a stage that runs twice overwrites its own output.
//!
//! Everything streams: an original of any size is hashed and uploaded in 1 MiB chunks, so
//! memory does not grow with the file.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::StorageError;

const CHUNK: usize = 1 << 20;
/// Files up to this size are stored with one put instead of a multipart upload.
const SMALL_FILE: u64 = 4 << 20;
/// Gets in flight at once in [`Blobs::get_prefixes`] on a remote store.
const CONCURRENT_GETS: usize = 16;
static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An original, stored under its BLAKE3 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOriginal {
    /// `originals/<blake3>`.
    pub key: String,
    pub blake3: String,
    pub size: i64,
}

/// The blob store: a local folder by default, in-memory in tests, S3 later by URL only.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
    /// The folder of a local store, for [`Blobs::get_prefixes`]'s direct reads.
    local_root: Option<std::path::PathBuf>,
}

impl Blobs {
    /// A local folder (created if missing).
    pub fn local(dir: &Path) -> Result<Blobs, StorageError> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            store: Arc::new(store),
            description: format!("file://{}", dir.display()),
            local_root: Some(std::fs::canonicalize(dir)?),
        })
    }

    /// An in-memory store, for tests.
    pub fn memory() -> Blobs {
        Blobs {
            store: Arc::new(InMemory::new()),
            description: "memory://".into(),
            local_root: None,
        }
    }

    /// `file:///abs/dir` or `memory://`. S3 (`s3://bucket`) comes with the scale-out issue.
    pub fn from_url(url: &str) -> Result<Blobs, StorageError> {
        if let Some(dir) = url.strip_prefix("file://") {
            return Blobs::local(Path::new(dir));
        }
        if url == "memory://" || url == "memory:///" {
            return Ok(Blobs::memory());
        }
        Err(StorageError::Invalid(format!(
            "unsupported blob store url {url:?}: use file:///DIR or memory://"
        )))
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Streams `reader` into the store, hashing it on the way, and files it under
    /// `originals/<blake3>`. An original already stored is kept as it is (written once).
    pub async fn store_original<R: AsyncRead + Unpin>(
        &self,
        mut reader: R,
    ) -> Result<StoredOriginal, StorageError> {
        let staging = BlobPath::from(format!(
            "staging/{}-{}-{}",
            std::process::id(),
            crate::now_ms(),
            STAGING_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let upload = self.store.put_multipart(&staging).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * CHUNK);
        let mut hasher = blake3::Hasher::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let read = match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(error.into());
                }
            };
            hasher.update(&buf[..read]);
            size += read as u64;
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..read]);
        }
        writer.finish().await?;
        let blake3 = hasher.finalize().to_hex().to_string();
        let key = format!("originals/{blake3}");
        match self
            .store
            .rename_if_not_exists(&staging, &BlobPath::from(key.as_str()))
            .await
        {
            Ok(()) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                self.store.delete(&staging).await?;
            }
            Err(error) => return Err(error.into()),
        }
        Ok(StoredOriginal {
            key,
            blake3,
            size: i64::try_from(size).unwrap_or(i64::MAX),
        })
    }

    /// Writes (or overwrites) a small blob.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&BlobPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Streams a local file into the store under `key` (overwriting).
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let mut file = tokio::fs::File::open(path).await?;
        let length = file.metadata().await?.len();
        if length <= SMALL_FILE {
            // One put: a multipart upload (staging file, 1 MiB buffer) costs more than the
            // bytes of a one-invoice PDF.
            let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
            file.read_to_end(&mut bytes).await?;
            let size = bytes.len() as u64;
            self.put(key, bytes).await?;
            return Ok(size);
        }
        let upload = self.store.put_multipart(&BlobPath::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * CHUNK);
        let mut buf = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            let read = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(error.into());
                }
            };
            size += read as u64;
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..read]);
        }
        writer.finish().await?;
        Ok(size)
    }

    /// Reads a whole blob into memory (callers bound the size first).
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let bytes = self.store.get(&BlobPath::from(key)).await?.bytes().await?;
        Ok(bytes.to_vec())
    }

    /// The first `max` bytes of a blob (all of it when smaller), and the blob's full size.
    pub async fn get_prefix(&self, key: &str, max: u64) -> Result<(Vec<u8>, u64), StorageError> {
        let path = BlobPath::from(key);
        let size = self.store.head(&path).await?.size;
        if size <= max {
            let bytes = self.store.get(&path).await?.bytes().await?;
            return Ok((bytes.to_vec(), size));
        }
        let bytes = self.store.get_range(&path, 0..max).await?;
        Ok((bytes.to_vec(), size))
    }

    /// [`Blobs::get_prefix`] of each of `keys`, in order: what a stage working on a batch of
    /// documents reads (their texts). A local store reads them in one blocking task, because
    /// a get through object_store hands off between threads several times, which costs more
    /// than reading a small file; other stores take them [`CONCURRENT_GETS`] at a time.
    pub async fn get_prefixes(
        &self,
        keys: &[String],
        max: u64,
    ) -> Vec<Result<(Vec<u8>, u64), StorageError>> {
        let direct: Option<Vec<std::path::PathBuf>> = self.local_root.as_ref().and_then(|root| {
            keys.iter()
                .map(|key| plain_key(key).then(|| root.join(key)))
                .collect()
        });
        if let Some(paths) = direct {
            let read = tokio::task::spawn_blocking(move || {
                paths
                    .iter()
                    .map(|path| read_prefix(path, max))
                    .collect::<Vec<_>>()
            })
            .await;
            return match read {
                Ok(results) => results,
                Err(error) => keys
                    .iter()
                    .map(|_| Err(StorageError::Io(std::io::Error::other(error.to_string()))))
                    .collect(),
            };
        }
        let gets = keys.to_vec().into_iter().map(|key| {
            let blobs = self.clone();
            async move { blobs.get_prefix(&key, max).await }
        });
        futures::stream::iter(gets)
            .buffered(CONCURRENT_GETS)
            .collect()
            .await
    }

    /// Streams a blob into a local file.
    pub async fn download_to(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let mut stream = self.store.get(&BlobPath::from(key)).await?.into_stream();
        let mut file = tokio::fs::File::create(path).await?;
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(size)
    }

    /// Streams a blob to a (blocking) writer, chunk by chunk: the CLI's `cat` to stdout.
    pub async fn copy_to<W: std::io::Write>(
        &self,
        key: &str,
        out: &mut W,
    ) -> Result<u64, StorageError> {
        let mut stream = self.store.get(&BlobPath::from(key)).await?.into_stream();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(size)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self.store.head(&BlobPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// How many blobs live under a prefix (`originals`, `derived`): for tests and summaries.
    pub async fn count(&self, prefix: &str) -> Result<usize, StorageError> {
        let prefix = BlobPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut count = 0;
        while let Some(meta) = listing.next().await {
            meta?;
            count += 1;
        }
        Ok(count)
    }
}

/// A key made only of plain segments (letters, digits, `.`, `_`, `-`; no `.` or `..`
/// segment), which object_store maps to the same relative path in a local folder.
fn plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

/// The first `max` bytes of a local blob and its size; a missing file is object_store's
/// `NotFound`, as a get would say.
fn read_prefix(path: &Path, max: u64) -> Result<(Vec<u8>, u64), StorageError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(StorageError::Blob(object_store::Error::NotFound {
                path: path.display().to_string(),
                source: Box::new(error),
            }))
        }
        Err(error) => return Err(error.into()),
    };
    let size = file.metadata()?.len();
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(max)).unwrap_or(0));
    file.take(max).read_to_end(&mut bytes)?;
    Ok((bytes, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch read of a local folder (direct file reads) says what object_store says, key
    /// by key: bytes, size, the prefix of a large blob, and NotFound for a missing one.
    #[tokio::test]
    async fn batch_reads_agree_with_single_gets_on_every_store() {
        let dir = tempfile::tempdir().unwrap();
        for blobs in [Blobs::local(dir.path()).unwrap(), Blobs::memory()] {
            blobs
                .put("derived/7/text.txt", b"FACTURE 7".to_vec())
                .await
                .unwrap();
            blobs
                .put("derived/8/text.txt", vec![b'x'; 5000])
                .await
                .unwrap();
            blobs
                .put("derived/9/odd name %.txt", b"odd".to_vec())
                .await
                .unwrap();
            let keys: Vec<String> = [
                "derived/7/text.txt",
                "derived/8/text.txt",
                "derived/9/odd name %.txt",
                "derived/10/text.txt",
            ]
            .map(String::from)
            .to_vec();
            let batch = blobs.get_prefixes(&keys, 4096).await;
            assert_eq!(batch.len(), keys.len());
            for (key, read) in keys.iter().zip(batch) {
                let single = blobs.get_prefix(key, 4096).await;
                match (read, single) {
                    (Ok(read), Ok(single)) => assert_eq!(read, single, "{key}"),
                    (Err(read), Err(single)) => {
                        assert!(
                            !read.is_transient() && !single.is_transient(),
                            "{read} / {single}"
                        );
                        assert!(read.to_string().contains("not found"), "{read}");
                    }
                    (read, single) => panic!("{key}: {read:?} against {single:?}"),
                }
            }
        }
    }

    #[tokio::test]
    async fn an_original_is_stored_once_under_its_hash() {
        let blobs = Blobs::memory();
        let first = blobs
            .store_original(&b"facture FA-2024-000201"[..])
            .await
            .unwrap();
        let second = blobs
            .store_original(&b"facture FA-2024-000201"[..])
            .await
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first.blake3,
            blake3::hash(b"facture FA-2024-000201").to_hex().to_string()
        );
        assert_eq!(blobs.count("originals").await.unwrap(), 1);
        assert_eq!(blobs.count("staging").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_large_original_streams_through_a_local_folder() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let data = vec![b'x'; 20 * CHUNK + 17];
        let stored = blobs.store_original(&data[..]).await.unwrap();
        assert_eq!(stored.size, data.len() as i64);
        assert_eq!(blobs.get(&stored.key).await.unwrap().len(), data.len());
    }
}
