//! TNEF (`application/ms-tnef`, the `winmail.dat` Outlook sends): the attachments inside.
//!
//! Our own parser: the one TNEF crate on crates.io (`tnef` 0.1.1, 2019) has had one release
//! and no maintenance since. Layout ([MS-OXTNEF]): signature `0x223E9F78` (u32 LE), a u16
//! key, then attributes: level (u8: 1 message, 2 attachment), attribute id (u32 LE, type in
//! the high word), length (u32 LE), data, checksum (u16, not checked: senders get it wrong and
//! the data is taken anyway).
//!
//! Attachment attributes: `attAttachRendData` starts an attachment, `attAttachTitle` carries
//! its 8.3 name, `attAttachData` its bytes, and `attAttachment` a MAPI property list with the
//! long file name (`PR_ATTACH_LONG_FILENAME`), the MIME type (`PR_ATTACH_MIME_TAG`) and, from
//! some senders, the bytes (`PR_ATTACH_DATA_OBJ`) instead of `attAttachData`.
//!
//! Every length is checked against what is left of the input before anything is read or
//! allocated: truncated input is an error, never a panic or a huge allocation.

use thiserror::Error;

/// First four bytes of every TNEF stream (little-endian `0x223E9F78`).
pub const TNEF_SIGNATURE: u32 = 0x223E_9F78;

const LEVEL_ATTACHMENT: u8 = 2;

const ATT_ATTACH_RENDDATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

const PR_ATTACH_DATA_OBJ: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PR_DISPLAY_NAME: u16 = 0x3001;

const PT_SHORT: u16 = 0x0002;
const PT_LONG: u16 = 0x0003;
const PT_FLOAT: u16 = 0x0004;
const PT_DOUBLE: u16 = 0x0005;
const PT_CURRENCY: u16 = 0x0006;
const PT_APPTIME: u16 = 0x0007;
const PT_ERROR: u16 = 0x000A;
const PT_BOOLEAN: u16 = 0x000B;
const PT_OBJECT: u16 = 0x000D;
const PT_I8: u16 = 0x0014;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_SYSTIME: u16 = 0x0040;
const PT_CLSID: u16 = 0x0048;
const PT_BINARY: u16 = 0x0102;
const PT_NULL: u16 = 0x0001;
const MV_FLAG: u16 = 0x1000;

/// Size of the interface id that opens a `PT_OBJECT` value.
const OBJECT_IID_BYTES: usize = 16;

/// One file found inside a TNEF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefAttachment {
    /// The long file name when the sender gave one, else the 8.3 title, else the display name.
    pub name: Option<String>,
    pub bytes: Vec<u8>,
    /// `PR_ATTACH_MIME_TAG`, lowercased, when present.
    pub mime_type: Option<String>,
}

/// Why a TNEF stream could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TnefError {
    #[error("not tnef: the signature is missing")]
    NoSignature,
    #[error("truncated tnef: {what} at byte {offset} needs {needed} bytes, {left} left")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: u64,
        left: usize,
    },
    #[error("bad tnef attribute level {level} at byte {offset}")]
    BadLevel { level: u8, offset: usize },
    #[error("bad mapi property type 0x{property_type:04x} in an attachment's property list")]
    BadPropertyType { property_type: u16 },
}

/// The attachments of a TNEF stream, in order. Attachments without any bytes (Outlook's
/// placeholders) are left out.
pub fn attachments(bytes: &[u8]) -> Result<Vec<TnefAttachment>, TnefError> {
    let mut reader = Reader::new(bytes);
    let signature = reader
        .u32("signature")
        .map_err(|_| TnefError::NoSignature)?;
    if signature != TNEF_SIGNATURE {
        return Err(TnefError::NoSignature);
    }
    reader.u16("key")?;

    let mut found: Vec<PendingAttachment> = Vec::new();
    while !reader.is_empty() {
        let attribute_offset = reader.offset;
        let level = reader.u8("attribute level")?;
        if level != 1 && level != LEVEL_ATTACHMENT {
            return Err(TnefError::BadLevel {
                level,
                offset: attribute_offset,
            });
        }
        let attribute_id = reader.u32("attribute id")?;
        let length = reader.u32("attribute length")?;
        let data = reader.take(u64::from(length), "attribute data")?;
        reader.u16("attribute checksum")?;
        if level != LEVEL_ATTACHMENT {
            continue;
        }
        if attribute_id == ATT_ATTACH_RENDDATA || found.is_empty() {
            found.push(PendingAttachment::default());
        }
        let Some(current) = found.last_mut() else {
            continue;
        };
        match attribute_id {
            ATT_ATTACH_TITLE => current.title = Some(decode_string8(data)),
            ATT_ATTACH_DATA => current.data = Some(data),
            ATT_ATTACHMENT => read_attachment_properties(data, current)?,
            _ => {}
        }
    }
    Ok(found
        .into_iter()
        .filter_map(PendingAttachment::finish)
        .collect())
}

/// An attachment while its attributes are being read; borrows the input's bytes.
#[derive(Default)]
struct PendingAttachment<'a> {
    title: Option<String>,
    long_name: Option<String>,
    short_name: Option<String>,
    display_name: Option<String>,
    mime_type: Option<String>,
    data: Option<&'a [u8]>,
    data_object: Option<&'a [u8]>,
}

impl PendingAttachment<'_> {
    fn finish(self) -> Option<TnefAttachment> {
        // PR_ATTACH_DATA_OBJ, when given, is the whole file (an embedded message or OLE object
        // whose attAttachData is only a stub): the tnef tool prefers it too.
        let bytes = self.data_object.or(self.data)?;
        let name = [
            self.long_name,
            self.short_name,
            self.title,
            self.display_name,
        ]
        .into_iter()
        .flatten()
        .find(|name| !name.trim().is_empty());
        Some(TnefAttachment {
            name,
            bytes: bytes.to_vec(),
            mime_type: self.mime_type.map(|mime| mime.to_ascii_lowercase()),
        })
    }
}

/// Reads the MAPI property list of an `attAttachment` attribute into `attachment`.
fn read_attachment_properties<'a>(
    data: &'a [u8],
    attachment: &mut PendingAttachment<'a>,
) -> Result<(), TnefError> {
    let mut reader = Reader::new(data);
    let count = reader.u32("property count")?;
    for _ in 0..count {
        if reader.is_empty() {
            return Err(reader.truncated("property", 4));
        }
        let property_type = reader.u16("property type")?;
        let property_id = reader.u16("property id")?;
        if property_id >= 0x8000 {
            skip_property_name(&mut reader)?;
        }
        let values = read_property_values(&mut reader, property_type)?;
        let Some(first) = values.first() else {
            continue;
        };
        match (property_id, first) {
            (PR_ATTACH_LONG_FILENAME, PropertyValue::Text(text)) => {
                attachment.long_name = Some(text.clone())
            }
            (PR_ATTACH_FILENAME, PropertyValue::Text(text)) => {
                attachment.short_name = Some(text.clone())
            }
            (PR_DISPLAY_NAME, PropertyValue::Text(text)) => {
                attachment.display_name = Some(text.clone())
            }
            (PR_ATTACH_MIME_TAG, PropertyValue::Text(text)) => {
                attachment.mime_type = Some(text.clone())
            }
            (PR_ATTACH_DATA_OBJ, PropertyValue::Bytes(bytes)) => {
                attachment.data_object = Some(*bytes)
            }
            _ => {}
        }
    }
    Ok(())
}

/// Named properties carry a GUID and either a number or a UTF-16 name: skipped.
fn skip_property_name(reader: &mut Reader<'_>) -> Result<(), TnefError> {
    reader.take(16, "named property guid")?;
    let kind = reader.u32("named property kind")?;
    if kind == 0 {
        reader.u32("named property number")?;
        return Ok(());
    }
    let name_length = reader.u32("named property name length")?;
    reader.take(u64::from(name_length), "named property name")?;
    reader.align4();
    Ok(())
}

enum PropertyValue<'a> {
    Text(String),
    Bytes(&'a [u8]),
    Other,
}

fn read_property_values<'a>(
    reader: &mut Reader<'a>,
    property_type: u16,
) -> Result<Vec<PropertyValue<'a>>, TnefError> {
    let base_type = property_type & !MV_FLAG;
    let is_multi_valued = property_type & MV_FLAG != 0;
    let fixed_size = match base_type {
        PT_NULL | PT_SHORT | PT_LONG | PT_FLOAT | PT_ERROR | PT_BOOLEAN => Some(4),
        PT_DOUBLE | PT_CURRENCY | PT_APPTIME | PT_I8 | PT_SYSTIME => Some(8),
        PT_CLSID => Some(16),
        PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT => None,
        _ => return Err(TnefError::BadPropertyType { property_type }),
    };
    if let Some(size) = fixed_size {
        let count = if is_multi_valued {
            reader.u32("value count")?
        } else {
            1
        };
        reader.take(u64::from(count) * size, "fixed-size values")?;
        return Ok(vec![PropertyValue::Other]);
    }
    // Variable-size values always come with a count, even single-valued ones.
    let count = reader.u32("value count")?;
    let mut values = Vec::new();
    for _ in 0..count {
        let length = reader.u32("value length")?;
        let bytes = reader.take(u64::from(length), "value")?;
        reader.align4();
        let value = match base_type {
            PT_STRING8 => PropertyValue::Text(decode_string8(bytes)),
            PT_UNICODE => PropertyValue::Text(decode_utf16(bytes)),
            PT_OBJECT => PropertyValue::Bytes(bytes.get(OBJECT_IID_BYTES..).unwrap_or_default()),
            _ => PropertyValue::Bytes(bytes),
        };
        // Only the first value of a property is used: keep no more than that in memory.
        if values.is_empty() {
            values.push(value);
        }
    }
    Ok(values)
}

/// An 8-bit string: UTF-8 when it is, else Windows-1252; up to its first NUL.
fn decode_string8(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// A UTF-16LE string, up to its first NUL.
fn decode_utf16(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    char::decode_utf16(units)
        .map(|decoded| decoded.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// A cursor over the input; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    fn is_empty(&self) -> bool {
        self.offset >= self.bytes.len()
    }

    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.offset)
    }

    fn truncated(&self, what: &'static str, needed: u64) -> TnefError {
        TnefError::Truncated {
            what,
            offset: self.offset,
            needed,
            left: self.left(),
        }
    }

    fn take(&mut self, length: u64, what: &'static str) -> Result<&'a [u8], TnefError> {
        let fits = usize::try_from(length)
            .ok()
            .filter(|&length| length <= self.left());
        let Some(length) = fits else {
            return Err(self.truncated(what, length));
        };
        let taken = &self.bytes[self.offset..self.offset + length];
        self.offset += length;
        Ok(taken)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, TnefError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, TnefError> {
        let bytes = self.take(2, what)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, TnefError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Values are padded to a multiple of four bytes; padding cut short by the end is fine.
    fn align4(&mut self) {
        let padding = (4 - self.offset % 4) % 4;
        self.offset = (self.offset + padding).min(self.bytes.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let mut out = vec![level];
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let checksum = data
            .iter()
            .fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)));
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    fn header() -> Vec<u8> {
        let mut out = TNEF_SIGNATURE.to_le_bytes().to_vec();
        out.extend_from_slice(&[0x01, 0x00]);
        out
    }

    fn unicode_property(id: u16, text: &str) -> Vec<u8> {
        let mut value: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        value.extend_from_slice(&[0, 0]);
        let mut out = PT_UNICODE.to_le_bytes().to_vec();
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(&value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_title_data_and_long_name() {
        let mut properties = 2u32.to_le_bytes().to_vec();
        properties.extend(unicode_property(
            PR_ATTACH_LONG_FILENAME,
            "Facture n°42.pdf",
        ));
        properties.extend(unicode_property(PR_ATTACH_MIME_TAG, "Application/PDF"));
        let mut tnef = header();
        tnef.extend(attribute(1, 0x0008_9006, &[0, 0, 1, 0]));
        tnef.extend(attribute(2, ATT_ATTACH_RENDDATA, &[0; 14]));
        tnef.extend(attribute(2, ATT_ATTACH_TITLE, b"FACTUR~1.PDF\0"));
        tnef.extend(attribute(2, ATT_ATTACH_DATA, b"%PDF-1.4 hello"));
        tnef.extend(attribute(2, ATT_ATTACHMENT, &properties));
        let found = attachments(&tnef).expect("valid tnef");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_deref(), Some("Facture n°42.pdf"));
        assert_eq!(found[0].mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(found[0].bytes, b"%PDF-1.4 hello");
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let mut tnef = header();
        tnef.extend(attribute(2, ATT_ATTACH_RENDDATA, &[0; 14]));
        tnef.extend(attribute(2, ATT_ATTACH_DATA, &[7; 100]));
        assert!(attachments(&tnef).is_ok());
        for cut in 0..tnef.len() {
            let _ = attachments(&tnef[..cut]);
        }
        assert!(matches!(
            attachments(&tnef[..tnef.len() - 5]),
            Err(TnefError::Truncated { .. })
        ));
    }

    #[test]
    fn a_huge_declared_length_is_refused_without_allocating() {
        let mut tnef = header();
        tnef.push(2);
        tnef.extend_from_slice(&ATT_ATTACH_DATA.to_le_bytes());
        tnef.extend_from_slice(&u32::MAX.to_le_bytes());
        tnef.extend_from_slice(b"short");
        let error = attachments(&tnef).expect_err("truncated");
        assert!(error
            .to_string()
            .starts_with("truncated tnef: attribute data"));
    }

    #[test]
    fn not_tnef() {
        assert_eq!(attachments(b"PK\x03\x04"), Err(TnefError::NoSignature));
        assert_eq!(attachments(b""), Err(TnefError::NoSignature));
    }
}
