//! Byte → text decoding for spools: UTF-8, Windows-1252 (what a PC share often holds) and
//! EBCDIC code pages, with the tables generated from iconv in `ebcdic_tables`.

use crate::ebcdic_tables;

/// How a spool's bytes become characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Windows1252,
    Ebcdic(u16),
}

impl Charset {
    /// `utf-8`, `windows-1252`, `ebcdic-297`: the name stored in the document's metadata.
    pub fn name(self) -> String {
        match self {
            Charset::Utf8 => "utf-8".into(),
            Charset::Windows1252 => "windows-1252".into(),
            Charset::Ebcdic(ccsid) => format!("ebcdic-{ccsid}"),
        }
    }

    /// Parses [`Charset::name`] back.
    pub fn from_name(name: &str) -> Option<Charset> {
        match name {
            "utf-8" => Some(Charset::Utf8),
            "windows-1252" => Some(Charset::Windows1252),
            other => {
                let ccsid: u16 = other.strip_prefix("ebcdic-")?.parse().ok()?;
                ebcdic_tables::table(ccsid).map(|_| Charset::Ebcdic(ccsid))
            }
        }
    }

    pub fn is_ebcdic(self) -> bool {
        matches!(self, Charset::Ebcdic(_))
    }

    /// Decodes one line (no line end) into `out`, replacing what cannot be decoded with U+FFFD.
    pub fn decode_into(self, bytes: &[u8], out: &mut String) {
        match self {
            Charset::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => out.push_str(text),
                Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
            },
            Charset::Windows1252 => out.extend(bytes.iter().map(|&b| windows_1252_char(b))),
            Charset::Ebcdic(ccsid) => match ebcdic_tables::table(ccsid) {
                Some(table) => out.extend(bytes.iter().map(|&b| table[usize::from(b)])),
                None => out.extend(bytes.iter().map(|_| '\u{FFFD}')),
            },
        }
    }
}

/// The 0x80–0x9F block of Windows-1252 (the rest is Latin-1). Shared with the PDF writer,
/// whose standard fonts use WinAnsiEncoding, the same table.
pub const WINDOWS_1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

pub fn windows_1252_char(byte: u8) -> char {
    match byte {
        0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// The WinAnsiEncoding byte of a char, if the standard PDF fonts can show it.
pub fn windows_1252_byte(ch: char) -> Option<u8> {
    let code = u32::from(ch);
    if code < 0x80 || (0xA0..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    WINDOWS_1252_HIGH
        .iter()
        .position(|&high| high == ch && !('\u{80}'..='\u{9F}').contains(&high))
        .and_then(|index| u8::try_from(0x80 + index).ok())
}

/// The code pages a guess chooses from, in tie-break order (each euro variant right after its
/// base page): US/international and French. The other shipped tables (German, Nordic,
/// Italian, Spanish, UK, Icelandic) share their accented letters' positions with these, so a
/// guess between them would be a coin toss: they are used when a source or side-car says so.
const EBCDIC_CANDIDATES: &[u16] = &[37, 1140, 500, 1148, 297, 1147];

/// Whether a sample looks like EBCDIC text rather than ASCII: nearly every byte in EBCDIC's
/// letter, digit, blank and punctuation ranges, many of them above 0x80 (EBCDIC letters and
/// digits all are), and not UTF-8. (EBCDIC's blank is ASCII `@`, so ASCII counts prove nothing.)
pub fn looks_ebcdic(sample: &[u8]) -> bool {
    if sample.is_empty() || high_byte_share(sample) < 0.3 {
        return false;
    }
    if let Err(error) = std::str::from_utf8(sample) {
        if error.error_len().is_none() && error.valid_up_to() + 4 >= sample.len() {
            return false;
        }
    } else {
        return false;
    }
    let ebcdic_text = sample
        .iter()
        .filter(|&&byte| is_ebcdic_text_byte(byte) || matches!(byte, 0x25 | 0x15 | 0x0D | 0x0C))
        .count();
    ebcdic_text * 10 >= sample.len() * 9
}

/// An EBCDIC letter, digit, blank or common punctuation byte (any Latin-1 code page).
pub fn is_ebcdic_text_byte(byte: u8) -> bool {
    matches!(byte, 0x40 | 0x81..=0x89 | 0x91..=0x99 | 0xA2..=0xA9 | 0xC1..=0xC9 | 0xD1..=0xD9 | 0xE2..=0xE9 | 0xF0..=0xF9 | 0x4A..=0x50 | 0x5A..=0x61 | 0x6A..=0x6F | 0x79..=0x7F | 0x9F | 0xC0 | 0xD0 | 0xE0)
}

/// The share of bytes at or above 0x80.
pub fn high_byte_share(sample: &[u8]) -> f64 {
    if sample.is_empty() {
        return 0.0;
    }
    sample.iter().filter(|&&b| b >= 0x80).count() as f64 / sample.len() as f64
}

/// Picks the EBCDIC code page that makes the most sense of a sample: accented letters inside
/// words score, symbols inside words cost (`Cr}me` in CCSID 37 is `Crème` in 297).
pub fn guess_ccsid(sample: &[u8], fallback: u16) -> u16 {
    let mut best = (i64::MIN, fallback);
    for &ccsid in EBCDIC_CANDIDATES {
        let Some(table) = ebcdic_tables::table(ccsid) else {
            continue;
        };
        let score = score_table(sample, table);
        if score > best.0 {
            best = (score, ccsid);
        }
    }
    if best.0 <= 0 {
        return fallback;
    }
    best.1
}

fn score_table(sample: &[u8], table: &[char; 256]) -> i64 {
    let mut score = 0i64;
    for window in sample.windows(3) {
        let (before, ch, after) = (
            table[usize::from(window[0])],
            table[usize::from(window[1])],
            table[usize::from(window[2])],
        );
        let letters_around = i64::from(before.is_alphabetic()) + i64::from(after.is_alphabetic());
        if !ch.is_ascii() && ch.is_alphabetic() {
            score += letters_around;
        } else if matches!(
            ch,
            '@' | '#'
                | '$'
                | '{'
                | '}'
                | '\\'
                | '['
                | ']'
                | '|'
                | '!'
                | '§'
                | '£'
                | '¢'
                | '¬'
                | '¦'
                | '~'
                | '^'
                | '`'
                | '¤'
        ) && letters_around == 2
        {
            score -= 2;
        } else if ch == '€' && (before.is_ascii_digit() || before == ' ' || after == ' ') {
            score += 1;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str, ccsid: u16) -> Vec<u8> {
        let table = ebcdic_tables::table(ccsid).unwrap();
        text.chars()
            .map(|ch| table.iter().position(|&c| c == ch).unwrap() as u8)
            .collect()
    }

    #[test]
    fn french_text_in_297_is_recognised_over_037() {
        let bytes = encode("Crème brûlée façon maison, café, été, à payer", 297);
        assert!(looks_ebcdic(&bytes));
        assert_eq!(guess_ccsid(&bytes, 37), 297);
    }

    #[test]
    fn the_euro_sign_picks_1147_over_297() {
        let bytes = encode("Total TTC : 27,00 € pour la crème brûlée", 1147);
        assert_eq!(guess_ccsid(&bytes, 37), 1147);
    }

    #[test]
    fn plain_english_keeps_the_fallback() {
        let bytes = encode("TOTAL AMOUNT 27.00", 37);
        assert_eq!(guess_ccsid(&bytes, 37), 37);
    }

    #[test]
    fn windows_1252_round_trips_the_euro_and_oe() {
        for ch in ['€', 'œ', 'Œ', 'é', 'ç', '’'] {
            let byte = windows_1252_byte(ch).unwrap();
            assert_eq!(windows_1252_char(byte), ch);
        }
        assert_eq!(windows_1252_byte('→'), None);
    }

    #[test]
    fn tables_agree_with_the_iconv_reference() {
        // ../shared holds tables generated independently with the same iconv.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/samples/ibmi/ebcdic-tables");
        let entries = std::fs::read_dir(&dir)
            .expect("the reference tables in ../shared/samples/ibmi/ebcdic-tables");
        let mut checked = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let ccsid: u16 = name.trim_start_matches("IBM").parse().unwrap();
            let table = ebcdic_tables::table(ccsid).unwrap();
            for line in std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
            {
                let mut parts = line.split('\t');
                let byte = u8::from_str_radix(parts.next().unwrap(), 16).unwrap();
                let code = u32::from_str_radix(parts.next().unwrap().trim_start_matches("U+"), 16)
                    .unwrap();
                assert_eq!(
                    u32::from(table[usize::from(byte)]),
                    code,
                    "CCSID {ccsid} byte {byte:02X}"
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 20);
    }
}
