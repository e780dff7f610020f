//! Attachment names: a file name safe on every file system from whatever the sender wrote,
//! and the fallback name of a part that had none.

use unicode_normalization::UnicodeNormalization;

/// Windows device names, refused as a file's stem whatever the extension.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9",
];

/// Characters Windows refuses in a file name (path separators are handled before).
const WINDOWS_ILLEGAL: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Extensions longer than this are not kept apart when a name is shortened.
const MAX_EXTENSION_CHARS: usize = 16;

/// A file name safe to write on Linux, macOS and Windows from `raw`, at most `max_chars`
/// characters: NFC, the last path component only, no control or Windows-illegal characters,
/// whitespace collapsed, no leading or trailing dots and spaces, no leading `-`, never `.` or
/// `..`, Windows device names prefixed with `_`, the extension kept when shortened. Empty when
/// nothing is left (the caller then names the part itself).
pub fn safe_file_name(raw: &str, max_chars: usize) -> String {
    let normalized: String = raw.nfc().collect();
    let last_component = normalized
        .rsplit(['/', '\\'])
        .find(|component| !component.trim().is_empty())
        .unwrap_or("");

    let mut cleaned = String::with_capacity(last_component.len());
    let mut pending_space = false;
    for character in last_component.chars() {
        if character.is_control() || WINDOWS_ILLEGAL.contains(&character) {
            continue;
        }
        if character.is_whitespace() {
            pending_space = !cleaned.is_empty();
            continue;
        }
        if pending_space {
            cleaned.push(' ');
            pending_space = false;
        }
        cleaned.push(character);
    }

    let trimmed = cleaned
        .trim_matches(|c: char| c == '.' || c == ' ')
        .trim_start_matches(['-', ' ']);
    let mut name = trimmed.to_string();
    if name.is_empty() {
        return name;
    }
    if is_windows_reserved(&name) {
        name.insert(0, '_');
    }
    shorten_keeping_extension(&name, max_chars.max(1))
}

/// The name of a part that had none (or none left after cleaning): `attachment-<index>` with
/// an extension from the content type when it is a well-known one.
pub fn fallback_name(index: usize, content_type: &str) -> String {
    match extension_for(content_type) {
        Some(extension) => format!("attachment-{index}.{extension}"),
        None => format!("attachment-{index}"),
    }
}

/// The usual extension of a content type, for the types documents arrive as.
pub fn extension_for(content_type: &str) -> Option<&'static str> {
    let extension = match content_type {
        "application/pdf" | "application/x-pdf" => "pdf",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/tiff" => "tif",
        "image/bmp" => "bmp",
        "image/webp" => "webp",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/calendar" => "ics",
        "text/xml" | "application/xml" => "xml",
        "application/json" => "json",
        "application/zip" | "application/x-zip-compressed" => "zip",
        "application/msword" => "doc",
        "application/vnd.ms-excel" => "xls",
        "application/rtf" | "text/rtf" => "rtf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "message/rfc822" => "eml",
        "application/ms-tnef" | "application/vnd.ms-tnef" => "dat",
        _ => return None,
    };
    Some(extension)
}

fn is_windows_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    WINDOWS_RESERVED
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(stem))
}

fn shorten_keeping_extension(name: &str, max_chars: usize) -> String {
    let total = name.chars().count();
    if total <= max_chars {
        return name.to_string();
    }
    let extension = name
        .rfind('.')
        .filter(|&dot| dot > 0)
        .map(|dot| &name[dot..])
        .filter(|extension| {
            let length = extension.chars().count();
            length <= MAX_EXTENSION_CHARS && length < max_chars
        })
        .unwrap_or("");
    let stem_chars = max_chars - extension.chars().count();
    let stem: String = name.chars().take(stem_chars).collect();
    let stem = stem.trim_end_matches(['.', ' ']);
    format!("{stem}{extension}")
}

/// Decodes a header value that is not UTF-8: Windows-1252 (a superset of Latin-1 for the
/// printable range), which is what raw 8-bit names in the wild almost always are.
pub fn decode_8bit(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_are_removed() {
        assert_eq!(safe_file_name("/foo/bar", 120), "bar");
        assert_eq!(
            safe_file_name("..\\..\\windows\\system32\\evil.dll", 120),
            "evil.dll"
        );
        assert_eq!(safe_file_name("../../etc/passwd", 120), "passwd");
        assert_eq!(safe_file_name("dir/", 120), "dir");
    }

    #[test]
    fn dots_and_dashes_and_empty() {
        assert_eq!(safe_file_name("..", 120), "");
        assert_eq!(safe_file_name(".", 120), "");
        assert_eq!(safe_file_name(" . ", 120), "");
        assert_eq!(safe_file_name(".bashrc", 120), "bashrc");
        assert_eq!(safe_file_name("-rf.pdf", 120), "rf.pdf");
        assert_eq!(safe_file_name("facture.pdf. . ", 120), "facture.pdf");
    }

    #[test]
    fn control_and_illegal_characters_are_dropped() {
        assert_eq!(safe_file_name("a\u{0}b\u{7f}c\u{85}d.pdf", 120), "abcd.pdf");
        assert_eq!(
            safe_file_name("what?<is>:\"this\"|*.txt", 120),
            "whatisthis.txt"
        );
        assert_eq!(
            safe_file_name("  two \t\r\n  words  .pdf", 120),
            "two words .pdf"
        );
    }

    #[test]
    fn windows_device_names_are_prefixed() {
        assert_eq!(safe_file_name("CON", 120), "_CON");
        assert_eq!(safe_file_name("nul.txt", 120), "_nul.txt");
        assert_eq!(safe_file_name("com1.tar.gz", 120), "_com1.tar.gz");
        assert_eq!(safe_file_name("CONTRACT.pdf", 120), "CONTRACT.pdf");
    }

    #[test]
    fn nfc_and_length_keep_the_extension() {
        assert_eq!(safe_file_name("Fro\u{308}sche.txt", 120), "Frösche.txt");
        let long = format!("{}.pdf", "é".repeat(300));
        let short = safe_file_name(&long, 120);
        assert_eq!(short.chars().count(), 120);
        assert!(short.ends_with(".pdf"));
        assert_eq!(safe_file_name("abcdefgh", 3), "abc");
    }

    #[test]
    fn fallback_names() {
        assert_eq!(fallback_name(3, "application/pdf"), "attachment-3.pdf");
        assert_eq!(fallback_name(1, "application/x-unknown"), "attachment-1");
    }

    #[test]
    fn eight_bit_names() {
        assert_eq!(decode_8bit(b"K\xe9relem.pdf"), "Kérelem.pdf");
        assert_eq!(decode_8bit("Kérelem.pdf".as_bytes()), "Kérelem.pdf");
    }
}
