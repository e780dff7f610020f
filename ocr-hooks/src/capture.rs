//! Reading the child's pipes: kept up to a cap, the rest drained so the child never blocks.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes of stdout and of stderr kept in [`HookOutput`](crate::HookOutput); what the child
/// writes beyond that is read and discarded.
pub const CAPTURE_LIMIT: usize = 1 << 20;

const CHUNK: usize = 64 * 1024;

/// What was read from one pipe.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub kept: Vec<u8>,
    /// Total bytes the child wrote, kept or not.
    pub total: u64,
}

impl Captured {
    pub fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }
}

/// Reads `reader` to the end, keeping the first `limit` bytes. A read error ends the capture
/// (the pipe is then dropped; the child gets EPIPE if it keeps writing).
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(mut reader: R, limit: usize) -> Captured {
    let mut captured = Captured::default();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                captured.total += n as u64;
                let room = limit.saturating_sub(captured.kept.len());
                captured.kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!(error = %e, "reading hook pipe failed");
                break;
            }
        }
    }
    captured
}

/// Copies `reader` into `writer` without limit. If writing fails, the rest of `reader` is
/// still drained (so the child does not block on a full pipe until the timeout) and the
/// first write error is returned.
pub(crate) async fn copy_draining<R, W>(mut reader: R, mut writer: W) -> std::io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut write_error = None;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if write_error.is_none() {
            if let Err(e) = writer.write_all(&buf[..n]).await {
                write_error = Some(e);
            }
        }
    }
    if write_error.is_none() {
        if let Err(e) = writer.flush().await {
            write_error = Some(e);
        }
    }
    match write_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_only_the_limit_but_counts_everything() {
        let data = vec![7u8; 300_000];
        let captured = read_capped(&data[..], 100_000).await;
        assert_eq!(captured.kept.len(), 100_000);
        assert_eq!(captured.total, 300_000);
        assert!(captured.truncated());

        let captured = read_capped(&b"short"[..], 100).await;
        assert_eq!(captured.kept, b"short");
        assert!(!captured.truncated());
    }
}
