//! PDF pages used as overlays: a shop that has its form background as a PDF (exported once
//! from the IBM i, or redrawn) puts `O1INVBG1.pdf` in the resource folder, and pages that
//! include overlay O1INVBG1 show the PDF's first page beneath their text, as a form XObject:
//! its content and every object its resources reach are copied once per output PDF,
//! vectors and fonts as they are.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use lopdf::{Dictionary, Object, ObjectId};

/// The first page of a PDF, ready to be drawn as a form XObject.
#[derive(Debug)]
pub struct PdfBackground {
    /// Identifies it within the run (one copy per output PDF).
    pub id: u64,
    /// The page's size in points (its media box).
    pub width: f32,
    pub height: f32,
    /// The lower-left corner of its media box (its content is drawn relative to it).
    pub origin: (f32, f32),
    content: Vec<u8>,
    resources: Dictionary,
    /// Every indirect object the resources reach, by their number in the source PDF.
    objects: BTreeMap<ObjectId, Object>,
}

/// Reads the first page of `bytes`.
pub fn load(bytes: &[u8], id: u64) -> Result<PdfBackground, String> {
    let document =
        lopdf::Document::load_mem(bytes).map_err(|error| format!("not a readable pdf: {error}"))?;
    let pages = document.get_pages();
    let (_, &page_id) = pages.iter().next().ok_or("the pdf has no page")?;
    let content = document
        .get_page_content(page_id)
        .map_err(|error| format!("its first page's content cannot be read: {error}"))?;
    let (inline, inherited) = document
        .get_page_resources(page_id)
        .map_err(|error| format!("its first page's resources cannot be read: {error}"))?;
    let mut resources = Dictionary::new();
    for id in inherited.iter().rev() {
        if let Ok(Object::Dictionary(dict)) = document.get_object(*id) {
            for (key, value) in dict.iter() {
                resources.set(key.clone(), value.clone());
            }
        }
    }
    if let Some(dict) = inline {
        for (key, value) in dict.iter() {
            resources.set(key.clone(), value.clone());
        }
    }
    let media_box = document
        .get_object(page_id)
        .and_then(Object::as_dict)
        .ok()
        .and_then(|page| page.get(b"MediaBox").ok())
        .and_then(|value| match value {
            Object::Reference(id) => document.get_object(*id).ok(),
            other => Some(other),
        })
        .and_then(|value| value.as_array().ok())
        .map(|values| values.iter().filter_map(number).collect::<Vec<f32>>())
        .filter(|values| values.len() == 4)
        .unwrap_or_else(|| vec![0.0, 0.0, 595.28, 841.89]);
    let mut objects = BTreeMap::new();
    let mut pending: Vec<ObjectId> = Vec::new();
    references(&Object::Dictionary(resources.clone()), &mut pending);
    while let Some(reference) = pending.pop() {
        if objects.contains_key(&reference) {
            continue;
        }
        let Ok(object) = document.get_object(reference) else {
            continue;
        };
        references(object, &mut pending);
        objects.insert(reference, object.clone());
        if objects.len() > 100_000 {
            return Err("its first page reaches more than 100,000 objects".into());
        }
    }
    Ok(PdfBackground {
        id,
        width: media_box[2] - media_box[0],
        height: media_box[3] - media_box[1],
        origin: (media_box[0], media_box[1]),
        content,
        resources,
        objects,
    })
}

fn number(object: &Object) -> Option<f32> {
    match object {
        Object::Integer(value) => Some(*value as f32),
        Object::Real(value) => Some(*value),
        _ => None,
    }
}

fn references(object: &Object, found: &mut Vec<ObjectId>) {
    match object {
        Object::Reference(id) => found.push(*id),
        Object::Array(items) => items.iter().for_each(|item| references(item, found)),
        Object::Dictionary(dict) => dict.iter().for_each(|(_, value)| references(value, found)),
        Object::Stream(stream) => stream
            .dict
            .iter()
            .for_each(|(_, value)| references(value, found)),
        _ => {}
    }
}

impl PdfBackground {
    /// Writes the copied objects and the form XObject into a PDF being written: `allocate`
    /// gives new object numbers, `begin` starts an object. Returns the form's number.
    pub fn write<W: Write>(
        &self,
        out: &mut W,
        allocate: &mut dyn FnMut() -> u32,
        begin: &mut dyn FnMut(&mut W, u32) -> io::Result<()>,
    ) -> io::Result<u32> {
        let numbers: HashMap<ObjectId, u32> =
            self.objects.keys().map(|&old| (old, allocate())).collect();
        for (old, object) in &self.objects {
            let Some(&number) = numbers.get(old) else {
                continue;
            };
            begin(out, number)?;
            let mut bytes = Vec::new();
            serialize(&mut bytes, object, &numbers);
            out.write_all(&bytes)?;
            out.write_all(b"\nendobj\n")?;
        }
        let form = allocate();
        begin(out, form)?;
        let mut resources = Vec::new();
        serialize(
            &mut resources,
            &Object::Dictionary(self.resources.clone()),
            &numbers,
        );
        let compressed = {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&self.content)?;
            encoder.finish()?
        };
        write!(
            out,
            "<< /Type /XObject /Subtype /Form /BBox [{} {} {} {}] /Resources ",
            self.origin.0,
            self.origin.1,
            self.origin.0 + self.width,
            self.origin.1 + self.height
        )?;
        out.write_all(&resources)?;
        write!(
            out,
            " /Filter /FlateDecode /Length {} >>\nstream\n",
            compressed.len()
        )?;
        out.write_all(&compressed)?;
        out.write_all(b"\nendstream\nendobj\n")?;
        Ok(form)
    }
}

/// A PDF object as PDF syntax, references renumbered.
fn serialize(out: &mut Vec<u8>, object: &Object, numbers: &HashMap<ObjectId, u32>) {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(value) => out.extend_from_slice(if *value { b"true" } else { b"false" }),
        Object::Integer(value) => out.extend_from_slice(value.to_string().as_bytes()),
        Object::Real(value) => out.extend_from_slice(format!("{value:.6}").as_bytes()),
        Object::Name(name) => {
            out.push(b'/');
            for &byte in name {
                if byte.is_ascii_alphanumeric() || b"-_.+*".contains(&byte) {
                    out.push(byte);
                } else {
                    out.extend_from_slice(format!("#{byte:02X}").as_bytes());
                }
            }
        }
        Object::String(bytes, _) => {
            out.push(b'<');
            for byte in bytes {
                out.extend_from_slice(format!("{byte:02X}").as_bytes());
            }
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for item in items {
                serialize(out, item, numbers);
                out.push(b' ');
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => serialize_dictionary(out, dict, numbers, None),
        Object::Stream(stream) => {
            serialize_dictionary(out, &stream.dict, numbers, Some(stream.content.len()));
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&stream.content);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Reference(id) => match numbers.get(id) {
            Some(number) => out.extend_from_slice(format!("{number} 0 R").as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
    }
}

fn serialize_dictionary(
    out: &mut Vec<u8>,
    dict: &Dictionary,
    numbers: &HashMap<ObjectId, u32>,
    length: Option<usize>,
) {
    out.extend_from_slice(b"<< ");
    for (key, value) in dict.iter() {
        if length.is_some() && key.as_slice() == b"Length" {
            continue;
        }
        serialize(out, &Object::Name(key.clone()), numbers);
        out.push(b' ');
        serialize(out, value, numbers);
        out.push(b' ');
    }
    if let Some(length) = length {
        out.extend_from_slice(format!("/Length {length} ").as_bytes());
    }
    out.extend_from_slice(b">>");
}
