//! Format detection by content, never by file name. Formats without a converter yet are
//! still named, so they wait in quarantine with a clear reason until their converter lands.

use crate::charset::{guess_ccsid, looks_ebcdic, Charset};

use crate::spool::{looks_fcfc, CarriageControl, SpoolLayout, MAX_LINE_BYTES};

/// How many bytes detection looks at.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What a document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Pdf,
    /// A line spool (plain text with form feeds, FCFC, fixed records), with how to read it.
    TextSpool(SpoolLayout),
    Scs,
    Afp,
    Tiff,
    Jpeg,
    Png,
    Email,
    PostScript,
    Pcl,
    /// A container: `office-openxml` (docx, xlsx, pptx), `opendocument` (odt …), `zip`, or
    /// `tnef` (an Outlook message attached inside a winmail.dat).
    Archive(&'static str),
}

impl Format {
    /// The name stored in `documents.format` and shown to users.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::TextSpool(_) => "text-spool",
            Format::Scs => "scs",
            Format::Afp => "afp",
            Format::Tiff => "tiff",
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Email => "email",
            Format::PostScript => "postscript",
            Format::Pcl => "pcl",
            Format::Archive(kind) => kind,
        }
    }

    /// Whether this build can convert it.
    pub fn has_converter(&self) -> bool {
        matches!(
            self,
            Format::Pdf
                | Format::TextSpool(_)
                | Format::Scs
                | Format::Afp
                | Format::Email
                | Format::Tiff
                | Format::Jpeg
                | Format::Png
        )
    }
}

/// What the source or the configuration says about spools, used when the bytes don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpoolHints {
    pub ccsid: Option<u16>,
    pub record_length: Option<usize>,
    pub lines_per_page: Option<usize>,
    pub columns: Option<usize>,
}

/// Why a document cannot be detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a known format: binary data (first bytes {0})")]
    Binary(String),
    #[error("no line end in the first {0} bytes: not a text spool (set record_length on the source for fixed-length records)")]
    NoLineEnd(usize),
}

fn hex_prefix(sample: &[u8]) -> String {
    sample
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_afp(sample: &[u8]) -> bool {
    // Structured Field Introducer: 5A, 2-byte length, D3 class code.
    if sample.len() < 9 || sample[0] != 0x5A || sample[3] != 0xD3 {
        return false;
    }
    let length = usize::from(u16::from_be_bytes([sample[1], sample[2]]));
    (8..=32767).contains(&length)
}

fn is_scs(sample: &[u8]) -> bool {
    if !looks_ebcdic_or_scs(sample) {
        return false;
    }
    sample.windows(2).any(|pair| {
        pair[0] == 0x2B
            && matches!(
                pair[1],
                0xC1 | 0xC2 | 0xC6 | 0xC8 | 0xD1 | 0xD2 | 0xD3 | 0xD4
            )
    })
}

/// EBCDIC text interleaved with controls: nearly every byte is an EBCDIC letter, digit, blank
/// or punctuation mark, or a control below 0x40. Random bytes fall well short of that.
fn looks_ebcdic_or_scs(sample: &[u8]) -> bool {
    if crate::charset::high_byte_share(sample) < 0.3 || std::str::from_utf8(sample).is_ok() {
        return false;
    }
    let plausible = sample
        .iter()
        .filter(|&&byte| byte < 0x40 || crate::charset::is_ebcdic_text_byte(byte))
        .count();
    plausible * 100 >= sample.len() * 85
}

/// Zip containers, named by what they hold: OOXML (`word/`, `xl/`, `ppt/`), OpenDocument
/// (its `mimetype` entry comes first, stored), or a plain zip archive.
fn zip_kind(sample: &[u8]) -> Option<Format> {
    if !sample.starts_with(b"PK\x03\x04") {
        return None;
    }
    let holds = |needle: &[u8]| sample.windows(needle.len()).any(|window| window == needle);
    let kind = if holds(b"application/vnd.oasis.opendocument") {
        "opendocument"
    } else if holds(b"word/") || holds(b"xl/") || holds(b"ppt/") || holds(b"[Content_Types].xml") {
        "office-openxml"
    } else {
        "zip"
    };
    Some(Format::Archive(kind))
}

/// Names the format of a document from its first bytes (`sample`, at most [`SNIFF_BYTES`])
/// and its total size.
pub fn detect(sample: &[u8], total_size: u64, hints: &SpoolHints) -> Result<Format, DetectError> {
    if sample.is_empty() {
        return Err(DetectError::Empty);
    }
    let head = &sample[..sample.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if sample.starts_with(b"%!PS") {
        return Ok(Format::PostScript);
    }
    if sample.starts_with(b"\x1bE") || sample.starts_with(b"\x1b%-12345X") {
        return Ok(Format::Pcl);
    }
    if sample.starts_with(b"II*\0") || sample.starts_with(b"MM\0*") {
        return Ok(Format::Tiff);
    }
    if sample.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if sample.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if is_afp(sample) {
        return Ok(Format::Afp);
    }
    if is_scs(sample) {
        return Ok(Format::Scs);
    }
    if let Some(archive) = zip_kind(sample) {
        return Ok(archive);
    }
    // A TNEF stream (winmail.dat, or a message attached inside one): its signature.
    if sample.starts_with(&[0x78, 0x9F, 0x3E, 0x22]) {
        return Ok(Format::Archive("tnef"));
    }
    if crate::mail::looks_like_mail(sample) {
        return Ok(Format::Email);
    }
    let mut layout = SpoolLayout {
        lines_per_page: hints.lines_per_page.unwrap_or(66),
        columns: hints.columns.unwrap_or(132),
        record_length: hints.record_length,
        ..SpoolLayout::default()
    };
    if looks_ebcdic(sample) {
        let ccsid = hints.ccsid.unwrap_or_else(|| guess_ccsid(sample, 37));
        layout.charset = Charset::Ebcdic(ccsid);
        let has_line_end = sample.iter().any(|&b| b == 0x25 || b == 0x15);
        if !has_line_end && layout.record_length.is_none() {
            // Binary transfers of physical files: fixed records of a print width.
            layout.record_length = [132usize, 198, 80]
                .into_iter()
                .find(|&width| total_size.is_multiple_of(width as u64));
            if layout.record_length.is_none() && total_size as usize > MAX_LINE_BYTES {
                return Err(DetectError::NoLineEnd(sample.len()));
            }
        }
        layout.control = control_of(sample, &layout);
        return Ok(Format::TextSpool(layout));
    }
    let text_like = sample
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t' | 0x0C | 0x1A | 0x1B));
    if !text_like {
        return Err(DetectError::Binary(hex_prefix(sample)));
    }
    layout.charset = match std::str::from_utf8(sample) {
        Ok(_) => Charset::Utf8,
        // A cut in the middle of a multi-byte char at the end of the sample is still UTF-8.
        Err(error) if error.error_len().is_none() => Charset::Utf8,
        Err(_) => Charset::Windows1252,
    };
    if layout.record_length.is_none()
        && !sample.contains(&b'\n')
        && total_size as usize > MAX_LINE_BYTES
    {
        return Err(DetectError::NoLineEnd(sample.len()));
    }
    layout.control = control_of(sample, &layout);
    Ok(Format::TextSpool(layout))
}

fn control_of(sample: &[u8], layout: &SpoolLayout) -> CarriageControl {
    let mut text = String::new();
    let mut lines: Vec<String> = Vec::new();
    let records: Vec<&[u8]> = match (layout.record_length, layout.charset.is_ebcdic()) {
        (Some(length), _) => sample.chunks(length).collect(),
        (None, true) => sample.split(|&b| b == 0x25 || b == 0x15).collect(),
        (None, false) => sample.split(|&b| b == b'\n').collect(),
    };
    // The last record of a sample may be cut short; it still starts with its control.
    for record in records.iter().take(500) {
        text.clear();
        layout.charset.decode_into(record, &mut text);
        lines.push(text.trim_end_matches('\r').to_string());
    }
    let borrowed: Vec<&str> = lines.iter().map(String::as_str).collect();
    if looks_fcfc(&borrowed) {
        CarriageControl::Fcfc
    } else {
        CarriageControl::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_bytes(bytes: &[u8]) -> Result<Format, DetectError> {
        detect(
            &bytes[..bytes.len().min(SNIFF_BYTES)],
            bytes.len() as u64,
            &SpoolHints::default(),
        )
    }

    #[test]
    fn formats_by_content() {
        assert_eq!(detect_bytes(b"%PDF-1.7\n...").unwrap().name(), "pdf");
        assert_eq!(detect_bytes(b"II*\0rest").unwrap().name(), "tiff");
        assert_eq!(
            detect_bytes(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().name(),
            "jpeg"
        );
        assert_eq!(
            detect_bytes(b"\x89PNG\r\n\x1a\n....").unwrap().name(),
            "png"
        );
        assert_eq!(
            detect_bytes(&[0x5A, 0x00, 0x10, 0xD3, 0xA8, 0xA8, 0, 0, 0, 0])
                .unwrap()
                .name(),
            "afp"
        );
        assert_eq!(
            detect_bytes(b"From: a@b.fr\r\nTo: c@d.fr\r\nSubject: facture\r\n\r\nbody")
                .unwrap()
                .name(),
            "email"
        );
        // SCS: EBCDIC text with a 2B D2 escape (SPPS).
        let scs = [
            0x2B, 0xD2, 0x06, 0x40, 0x2E, 0x84, 0x41, 0xC1, 0xC1, 0xC2, 0xC3, 0x15, 0xC1, 0xC2,
        ];
        assert_eq!(detect_bytes(&scs).unwrap().name(), "scs");
    }

    #[test]
    fn text_spools_with_their_layout() {
        let Format::TextSpool(layout) =
            detect_bytes("1ACME\r\n Date : 15/03/2024 €\r\n".as_bytes()).unwrap()
        else {
            panic!("not a spool")
        };
        assert_eq!(
            (layout.charset, layout.control),
            (Charset::Utf8, CarriageControl::Fcfc)
        );
        let Format::TextSpool(layout) = detect_bytes(b"ACME caf\xe9\n\x0cpage 2\n").unwrap() else {
            panic!()
        };
        assert_eq!(
            (layout.charset, layout.control),
            (Charset::Windows1252, CarriageControl::None)
        );
    }

    #[test]
    fn bad_input_gets_a_reason() {
        assert_eq!(detect_bytes(b""), Err(DetectError::Empty));
        assert!(matches!(
            detect_bytes(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]),
            Err(DetectError::Binary(_))
        ));
        let no_line_end = vec![b'x'; SNIFF_BYTES];
        assert_eq!(
            detect(&no_line_end, 200 << 20, &SpoolHints::default()),
            Err(DetectError::NoLineEnd(SNIFF_BYTES))
        );
    }
}
