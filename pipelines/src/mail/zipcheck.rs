//! Archive-bomb check for zip attachments: reads the central directory (ZIP64 too) and adds up
//! the uncompressed sizes it declares, without inflating anything.
//!
//! Only the declared sizes are looked at: a zip that lies about them is caught later by whoever
//! unpacks it with its own limits. Nested archives are not opened.

/// Archives at most this big once unpacked are never called bombs, whatever their ratio.
pub const RATIO_FLOOR_BYTES: u64 = 1 << 20;
/// Unpacked size over archive size above which (past the floor) an archive is a bomb.
pub const MAX_RATIO: u64 = 200;

const LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const EMPTY_ARCHIVE: &[u8] = b"PK\x05\x06";
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_END_OF_DIRECTORY: u32 = 0x0606_4b50;
const DIRECTORY_ENTRY: u32 = 0x0201_4b50;
const END_OF_DIRECTORY_BYTES: usize = 22;
const DIRECTORY_ENTRY_BYTES: usize = 46;
const ZIP64_EXTRA_ID: u16 = 0x0001;
const MAX_COMMENT_BYTES: usize = 0xFFFF;

/// What the central directory declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipTotals {
    pub entries: u64,
    pub uncompressed_bytes: u64,
}

/// True for bytes that start like a zip archive.
pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(LOCAL_HEADER) || bytes.starts_with(EMPTY_ARCHIVE)
}

/// The entries and total uncompressed size the central directory declares; None when no
/// readable central directory is found (then the archive is not checked here).
pub fn declared_totals(bytes: &[u8]) -> Option<ZipTotals> {
    let end = find_end_of_directory(bytes)?;
    let mut directory_offset = u64::from(read_u32(bytes, end + 16)?);
    let mut directory_bytes = u64::from(read_u32(bytes, end + 12)?);
    let mut declared_entries = u64::from(read_u16(bytes, end + 10)?);
    if let Some(zip64) = zip64_end_of_directory(bytes, end) {
        declared_entries = read_u64(bytes, zip64 + 32)?;
        directory_bytes = read_u64(bytes, zip64 + 40)?;
        directory_offset = read_u64(bytes, zip64 + 48)?;
    }
    let start = usize::try_from(directory_offset).ok()?;
    let length = usize::try_from(directory_bytes).ok()?;
    let directory = bytes.get(start..start.checked_add(length)?)?;

    let mut totals = ZipTotals {
        entries: 0,
        uncompressed_bytes: 0,
    };
    let mut position = 0usize;
    while totals.entries < declared_entries {
        if read_u32(directory, position)? != DIRECTORY_ENTRY {
            break;
        }
        let uncompressed = read_u32(directory, position + 24)?;
        let name_length = usize::from(read_u16(directory, position + 28)?);
        let extra_length = usize::from(read_u16(directory, position + 30)?);
        let comment_length = usize::from(read_u16(directory, position + 32)?);
        let extra_start = position + DIRECTORY_ENTRY_BYTES + name_length;
        let extra = directory.get(extra_start..extra_start + extra_length)?;
        let size = if uncompressed == u32::MAX {
            zip64_uncompressed_size(extra).unwrap_or(u64::from(uncompressed))
        } else {
            u64::from(uncompressed)
        };
        totals.uncompressed_bytes = totals.uncompressed_bytes.saturating_add(size);
        totals.entries += 1;
        position = extra_start + extra_length + comment_length;
    }
    Some(totals)
}

/// Why a zip is an archive bomb, or None when it is not one (or is not a readable zip).
pub fn bomb_reason(bytes: &[u8], max_expansion: u64) -> Option<String> {
    if !looks_like_zip(bytes) {
        return None;
    }
    let totals = declared_totals(bytes)?;
    let unpacked = totals.uncompressed_bytes;
    if unpacked > max_expansion {
        return Some(format!(
            "archive bomb: the zip declares {unpacked} bytes once unpacked in {} entries, over the {max_expansion}-byte limit",
            totals.entries
        ));
    }
    let packed = (bytes.len() as u64).max(1);
    if unpacked > RATIO_FLOOR_BYTES && unpacked / packed > MAX_RATIO {
        return Some(format!(
            "archive bomb: the zip declares {unpacked} bytes once unpacked from {packed} bytes, a ratio over {MAX_RATIO}:1"
        ));
    }
    None
}

fn find_end_of_directory(bytes: &[u8]) -> Option<usize> {
    let last_start = bytes.len().checked_sub(END_OF_DIRECTORY_BYTES)?;
    let first_start = last_start.saturating_sub(MAX_COMMENT_BYTES);
    (first_start..=last_start)
        .rev()
        .find(|&start| read_u32(bytes, start) == Some(END_OF_DIRECTORY))
}

fn zip64_end_of_directory(bytes: &[u8], end: usize) -> Option<usize> {
    let locator = end.checked_sub(20)?;
    if read_u32(bytes, locator)? != ZIP64_LOCATOR {
        return None;
    }
    let record = usize::try_from(read_u64(bytes, locator + 8)?).ok()?;
    if read_u32(bytes, record)? != ZIP64_END_OF_DIRECTORY {
        return None;
    }
    read_u64(bytes, record + 48)?;
    Some(record)
}

/// The uncompressed size in a ZIP64 extra field (its first value when the 32-bit one is
/// saturated).
fn zip64_uncompressed_size(extra: &[u8]) -> Option<u64> {
    let mut position = 0;
    while position + 4 <= extra.len() {
        let id = read_u16(extra, position)?;
        let length = usize::from(read_u16(extra, position + 2)?);
        if id == ZIP64_EXTRA_ID {
            return read_u64(extra, position + 4);
        }
        position += 4 + length;
    }
    None
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let slice = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([slice[0], slice[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at.checked_add(8)?)?;
    let mut array = [0u8; 8];
    array.copy_from_slice(slice);
    Some(u64::from_le_bytes(array))
}

/// A stored (uncompressed) zip whose entries declare the given sizes: for tests here and in
/// `tests/mail_corpus.rs`. The data written is empty; only the directory lies.
#[doc(hidden)]
pub fn zip_declaring(sizes: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (index, &size) in sizes.iter().enumerate() {
        let name = format!("file-{index}.bin");
        let local_offset = out.len() as u32;
        out.extend_from_slice(LOCAL_HEADER);
        out.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&0u32.to_le_bytes()); // crc
        out.extend_from_slice(&1u32.to_le_bytes()); // compressed
        out.extend_from_slice(&size.to_le_bytes()); // uncompressed
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0x03);

        directory.extend_from_slice(&DIRECTORY_ENTRY.to_le_bytes());
        directory.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        directory.extend_from_slice(&0u32.to_le_bytes());
        directory.extend_from_slice(&1u32.to_le_bytes());
        directory.extend_from_slice(&size.to_le_bytes());
        directory.extend_from_slice(&(name.len() as u16).to_le_bytes());
        directory.extend_from_slice(&[0; 12]);
        directory.extend_from_slice(&local_offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(&END_OF_DIRECTORY.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(sizes.len() as u16).to_le_bytes());
    out.extend_from_slice(&(sizes.len() as u16).to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_the_declared_sizes() {
        let zip = zip_declaring(&[10, 20, 30]);
        let totals = declared_totals(&zip).expect("directory");
        assert_eq!(totals.entries, 3);
        assert_eq!(totals.uncompressed_bytes, 60);
        assert_eq!(bomb_reason(&zip, 1 << 30), None);
    }

    #[test]
    fn huge_declared_sizes_are_a_bomb() {
        let zip = zip_declaring(&[u32::MAX - 1, u32::MAX - 1, u32::MAX - 1]);
        let reason = bomb_reason(&zip, 1 << 30).expect("bomb");
        assert!(
            reason.starts_with("archive bomb: the zip declares 12884901882 bytes"),
            "{reason}"
        );
    }

    #[test]
    fn a_high_ratio_past_the_floor_is_a_bomb() {
        let zip = zip_declaring(&[2 << 20]);
        let reason = bomb_reason(&zip, 1 << 30).expect("bomb");
        assert!(reason.contains("ratio over 200:1"), "{reason}");
        assert_eq!(bomb_reason(&zip_declaring(&[1 << 20]), 1 << 30), None);
    }

    #[test]
    fn truncated_zips_are_not_read_and_do_not_panic() {
        let zip = zip_declaring(&[5, 6]);
        for cut in 0..zip.len() {
            let _ = bomb_reason(&zip[..cut], 1 << 30);
        }
        assert_eq!(bomb_reason(b"PK\x03\x04 no directory", 10), None);
    }
}
