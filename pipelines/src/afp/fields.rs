//! The structured-field reader: MO:DCA records one at a time from a byte stream.
//!
//! A structured field is `5A`, a 2-byte length (itself included, the `5A` not), a 3-byte id
//! `D3 TT CC`, a flag byte, 2 reserved bytes, then its data. The reader:
//!
//! - skips CR/LF between fields and 2-byte record-length prefixes (files moved as variable
//!   records), and says where a byte that is none of these stands;
//! - drops the introducer extension (flag bit 0) and the padding (flag bit 4: the last byte
//!   is the pad length, or `00` after a 2-byte pad length);
//! - joins a segmented field (flag bit 2) with the fields of the same id that continue it;
//! - bounds one field (joined segments included) by [`MAX_FIELD_BYTES`].
//!
//! It never reads more than one field ahead and holds only that field.

use std::io::{self, BufRead};

use super::AfpError;

/// The largest field, segments joined, that is taken (an image can be segmented over many
/// fields; a bomb cannot).
pub const MAX_FIELD_BYTES: usize = 64 << 20;

const FLAG_EXTENSION: u8 = 0x80;
const FLAG_SEGMENTED: u8 = 0x20;
const FLAG_PADDING: u8 = 0x08;

/// One structured field: its id and its data (extension and padding removed, segments joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: [u8; 3],
    pub data: Vec<u8>,
    /// Byte offset of the field's `5A` in the stream.
    pub offset: u64,
}

impl Field {
    /// The type code (`A8` begin, `A9` end …).
    pub fn kind(&self) -> u8 {
        self.id[1]
    }

    /// The category code (`AF` page, `AD` page group …).
    pub fn category(&self) -> u8 {
        self.id[2]
    }

    /// The 8-byte name most begin and end fields open with, decoded from EBCDIC (CCSID 500),
    /// trailing blanks removed; empty when the field has none.
    pub fn name(&self) -> String {
        decode_name(self.data.get(..8).unwrap_or_default())
    }
}

/// An EBCDIC name (CCSID 500) without trailing blanks or NULs.
pub fn decode_name(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    crate::charset::Charset::Ebcdic(500).decode_into(bytes, &mut text);
    text.trim_end_matches([' ', '\0', '\u{FFFD}']).to_string()
}

/// The three-letter name of a field id, for messages (`BPG`, `PTX` …), or its hex.
pub fn acronym(id: [u8; 3]) -> String {
    let known = match (id[1], id[2]) {
        (0xA8, 0xA5) => "BPF",
        (0xA9, 0xA5) => "EPF",
        (0xA8, 0xC6) => "BRG",
        (0xA9, 0xC6) => "ERG",
        (0xA8, 0xCE) => "BRS",
        (0xA9, 0xCE) => "ERS",
        (0xA8, 0xA8) => "BDT",
        (0xA9, 0xA8) => "EDT",
        (0xA8, 0xAD) => "BNG",
        (0xA9, 0xAD) => "ENG",
        (0xA8, 0xAF) => "BPG",
        (0xA9, 0xAF) => "EPG",
        (0xA8, 0xC9) => "BAG",
        (0xA9, 0xC9) => "EAG",
        (0xA8, 0x9B) => "BPT",
        (0xA9, 0x9B) => "EPT",
        (0xA8, 0xDF) => "BMO",
        (0xA9, 0xDF) => "EMO",
        (0xA8, 0x5F) => "BPS",
        (0xA9, 0x5F) => "EPS",
        (0xA8, 0xFB) => "BIM",
        (0xA9, 0xFB) => "EIM",
        (0xA8, 0x7B) => "BII",
        (0xA9, 0x7B) => "EII",
        (0xA8, 0x92) => "BOC",
        (0xA9, 0x92) => "EOC",
        (0xA8, 0xBB) => "BGR",
        (0xA9, 0xBB) => "EGR",
        (0xA8, 0xEB) => "BBC",
        (0xA9, 0xEB) => "EBC",
        (0xA8, 0xC7) => "BOG",
        (0xA9, 0xC7) => "EOG",
        (0xA8, 0xCD) => "BFM",
        (0xA9, 0xCD) => "EFM",
        (0xA8, 0xCC) => "BMM",
        (0xA9, 0xCC) => "EMM",
        (0xA8, 0xC4) => "BDG",
        (0xA9, 0xC4) => "EDG",
        (0xA8, 0x89) => "BFN",
        (0xA9, 0x89) => "EFN",
        (0xA8, 0x87) => "BCP",
        (0xA9, 0x87) => "ECP",
        (0xA8, 0x8A) => "BCF",
        (0xA9, 0x8A) => "ECF",
        (0xA8, 0xCA) => "BDM",
        (0xA9, 0xCA) => "EDM",
        (0xA8, 0xD9) => "BRG",
        (0xA8, 0xA7) => "BDI",
        (0xA9, 0xA7) => "EDI",
        (0xA0, 0x90) => "TLE",
        (0xEE, 0x9B) => "PTX",
        (0xA6, 0xAF) => "PGD",
        (0xB1, 0x9B) => "PTD",
        (0xA6, 0x9B) => "PTD",
        (0xAB, 0x8A) => "MCF",
        (0xB1, 0x8A) => "MCF",
        (0xAF, 0xD8) => "IPO",
        (0xAF, 0x5F) => "IPS",
        (0xAF, 0xC3) => "IOB",
        (0xEE, 0xFB) => "IPD",
        (0xA6, 0xFB) => "IDD",
        (0xEE, 0xEE) => "NOP",
        (0xAB, 0xCC) => "IMM",
        _ => "",
    };
    if known.is_empty() {
        format!("{:02X}{:02X}{:02X}", id[0], id[1], id[2])
    } else {
        known.to_string()
    }
}

/// Reads structured fields one by one.
pub struct FieldReader<R> {
    inner: R,
    offset: u64,
    /// A field read ahead while joining segments that turned out not to continue them.
    ahead: Option<Field>,
}

impl<R: BufRead> FieldReader<R> {
    pub fn new(inner: R) -> FieldReader<R> {
        FieldReader {
            inner,
            offset: 0,
            ahead: None,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next field, or `None` at the end of the stream.
    pub fn next_field(&mut self) -> Result<Option<Field>, AfpError> {
        let first = match self.ahead.take() {
            Some(field) => (field, false),
            None => match self.raw()? {
                Some(raw) => raw,
                None => return Ok(None),
            },
        };
        let (mut field, mut segmented) = first;
        while segmented {
            let Some((next, next_segmented)) = self.raw()? else {
                return Err(AfpError::Truncated {
                    offset: self.offset,
                    what: format!(
                        "the segmented {} at offset {} has no last segment",
                        acronym(field.id),
                        field.offset
                    ),
                });
            };
            if next.id != field.id {
                // The last segment carried the flag too: tolerated, the field ends here.
                self.ahead = Some(next);
                break;
            }
            if field.data.len() + next.data.len() > MAX_FIELD_BYTES {
                return Err(AfpError::TooLarge {
                    offset: field.offset,
                    what: format!(
                        "segmented {} over {} MiB",
                        acronym(field.id),
                        MAX_FIELD_BYTES >> 20
                    ),
                });
            }
            field.data.extend_from_slice(&next.data);
            segmented = next_segmented;
        }
        Ok(Some(field))
    }

    /// One field as it is in the stream, and whether its segment flag is set.
    fn raw(&mut self) -> Result<Option<(Field, bool)>, AfpError> {
        let start = loop {
            let buffer = self.inner.fill_buf()?;
            let Some(&byte) = buffer.first() else {
                return Ok(None);
            };
            match byte {
                0x5A => break self.offset,
                // Line ends between records, and the NUL padding some transfers add.
                0x0D | 0x0A | 0x00 if buffer.len() < 3 || buffer[2] != 0x5A => {
                    self.consume(1);
                }
                _ if buffer.len() >= 3 && buffer[2] == 0x5A => {
                    // A 2-byte record prefix (its length, or anything) before the introducer.
                    self.consume(2);
                }
                _ => {
                    return Err(AfpError::Malformed {
                        offset: self.offset,
                        what: format!(
                            "byte {byte:02x} where a structured field (5A) should begin: not MO:DCA, or line data (not supported)"
                        ),
                    })
                }
            }
        };
        let mut head = [0u8; 9];
        self.read_exact(&mut head, start, "structured field introducer")?;
        let length = usize::from(u16::from_be_bytes([head[1], head[2]]));
        if length < 8 {
            return Err(AfpError::Malformed {
                offset: start,
                what: format!("structured field length {length}, less than its introducer's 8"),
            });
        }
        let id = [head[3], head[4], head[5]];
        if id[0] != 0xD3 {
            return Err(AfpError::Malformed {
                offset: start,
                what: format!(
                    "structured field id {:02x}{:02x}{:02x} does not begin with D3",
                    id[0], id[1], id[2]
                ),
            });
        }
        let flags = head[6];
        let mut data = vec![0u8; length - 8];
        self.read_exact(&mut data, start, &acronym(id))?;
        if flags & FLAG_EXTENSION != 0 {
            let extension = usize::from(data.first().copied().unwrap_or(0));
            if extension == 0 || extension > data.len() {
                return Err(AfpError::Malformed {
                    offset: start,
                    what: format!(
                        "{} introducer extension of {extension} bytes in {} bytes of data",
                        acronym(id),
                        data.len()
                    ),
                });
            }
            data.drain(..extension);
        }
        if flags & FLAG_PADDING != 0 {
            let pad = match data.last() {
                Some(0) if data.len() >= 3 => {
                    let n = data.len();
                    usize::from(u16::from_be_bytes([data[n - 3], data[n - 2]]))
                }
                Some(&n) => usize::from(n),
                None => 0,
            };
            if pad == 0 || pad > data.len() {
                return Err(AfpError::Malformed {
                    offset: start,
                    what: format!(
                        "{} padding of {pad} bytes in {} bytes of data",
                        acronym(id),
                        data.len()
                    ),
                });
            }
            data.truncate(data.len() - pad);
        }
        Ok(Some((
            Field {
                id,
                data,
                offset: start,
            },
            flags & FLAG_SEGMENTED != 0,
        )))
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.offset += n as u64;
    }

    fn read_exact(&mut self, buffer: &mut [u8], start: u64, what: &str) -> Result<(), AfpError> {
        match self.inner.read_exact(buffer) {
            Ok(()) => {
                self.offset += buffer.len() as u64;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                Err(AfpError::Truncated {
                    offset: start,
                    what: format!("the stream ends inside {what}"),
                })
            }
            Err(error) => Err(AfpError::Io(error)),
        }
    }
}

/// A triplet of a field's data: its id and contents (after the length and id bytes).
#[derive(Debug, Clone, Copy)]
pub struct Triplet<'a> {
    pub id: u8,
    pub data: &'a [u8],
}

/// The triplets in `bytes` (each `length, id, data`); stops at a length that does not fit.
pub fn triplets(bytes: &[u8]) -> impl Iterator<Item = Triplet<'_>> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let length = usize::from(*rest.first()?);
        if length < 2 || length > rest.len() {
            return None;
        }
        let triplet = Triplet {
            id: rest[1],
            data: &rest[2..length],
        };
        rest = &rest[length..];
        Some(triplet)
    })
}

/// A fully qualified name triplet (X'02'): its type and name bytes.
pub fn fully_qualified_name<'a>(triplet: &Triplet<'a>) -> Option<(u8, &'a [u8])> {
    if triplet.id != 0x02 || triplet.data.len() < 2 {
        return None;
    }
    Some((triplet.data[0], &triplet.data[2..]))
}

/// A 2-byte big-endian unsigned number at `at`.
pub fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// A 2-byte big-endian signed number at `at`.
pub fn i16_at(bytes: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// A 3-byte big-endian unsigned number at `at`.
pub fn u24_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        0,
        *bytes.get(at)?,
        *bytes.get(at + 1)?,
        *bytes.get(at + 2)?,
    ]))
}

/// A 3-byte big-endian signed number at `at`.
pub fn i24_at(bytes: &[u8], at: usize) -> Option<i32> {
    let value = u24_at(bytes, at)?;
    Some(((value << 8) as i32) >> 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: [u8; 3], flags: u8, data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x5A];
        bytes.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&[flags, 0, 0]);
        bytes.extend_from_slice(data);
        bytes
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Field>, AfpError> {
        let mut reader = FieldReader::new(bytes);
        let mut fields = Vec::new();
        while let Some(field) = reader.next_field()? {
            fields.push(field);
        }
        Ok(fields)
    }

    const BPG: [u8; 3] = [0xD3, 0xA8, 0xAF];
    const PTX: [u8; 3] = [0xD3, 0xEE, 0x9B];

    #[test]
    fn crlf_and_record_prefixes_between_fields_are_skipped() {
        let mut bytes = field(BPG, 0, b"PAGE0001");
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&[0x00, 0x11]);
        bytes.extend(field(PTX, 0, b"abc"));
        let fields = read_all(&bytes).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].data, b"abc");
        assert_eq!(fields[1].offset, 21);
    }

    #[test]
    fn segments_are_joined_and_padding_and_extension_removed() {
        let mut bytes = field(PTX, FLAG_SEGMENTED, b"one ");
        bytes.extend(field(PTX, FLAG_SEGMENTED, b"two "));
        bytes.extend(field(PTX, FLAG_PADDING, b"three\0\0\x03"));
        bytes.extend(field(BPG, FLAG_EXTENSION, b"\x03xyNAME"));
        let fields = read_all(&bytes).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].data, b"one two three");
        assert_eq!(fields[1].data, b"NAME");
    }

    #[test]
    fn truncated_and_garbage_streams_are_errors_with_offsets() {
        let bytes = field(PTX, 0, b"some text");
        for cut in 1..bytes.len() {
            let error = read_all(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(error, AfpError::Truncated { offset: 0, .. }),
                "{error}"
            );
        }
        let error = read_all(b"%PDF-1.4").unwrap_err().to_string();
        assert!(error.contains("byte 25"), "{error}");
        let mut short = field(PTX, 0, b"");
        short[2] = 4;
        assert!(read_all(&short)
            .unwrap_err()
            .to_string()
            .contains("length 4"));
    }

    #[test]
    fn numbers_are_big_endian_and_signed_where_asked() {
        assert_eq!(i24_at(&[0xFF, 0xFF, 0xFE], 0), Some(-2));
        assert_eq!(u24_at(&[0x00, 0x07, 0xC0], 0), Some(1984));
        assert_eq!(i16_at(&[0x80, 0x00], 0), Some(-32768));
        assert_eq!(u16_at(&[0x01], 0), None);
    }
}
