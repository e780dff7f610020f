//! Resources of a run: overlays, page segments and data objects (IOCA, IM, object
//! containers) by name, from the run's inline resource groups, else from the configured
//! resource folder; and decoded images, each decoded once per run.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

use super::background::{self, PdfBackground};
use super::fields::{Field, FieldReader};
use super::ioca::{self, ImImage};
use super::{collect, container_kind, AfpOptions, BEGIN};
use crate::image::{ImageLimits, ImagePage};

/// The largest resource file read from the folder.
const MAX_RESOURCE_FILE: u64 = 32 << 20;

/// Named resources and decoded images.
pub struct Resources {
    by_name: HashMap<String, Arc<Vec<Field>>>,
    bytes: usize,
    max_bytes: usize,
    dir: Option<PathBuf>,
    /// Folder lookups already tried (found or not).
    looked_up: HashMap<String, bool>,
    images: HashMap<(String, u64), (u64, Arc<ImagePage>)>,
    next_image: u64,
    /// PDF pages used as overlays, by name (None: looked for, not found or unreadable).
    backgrounds: HashMap<String, Option<Arc<PdfBackground>>>,
}

impl Resources {
    pub fn new(options: &AfpOptions) -> Resources {
        Resources {
            by_name: HashMap::new(),
            bytes: 0,
            max_bytes: options.max_resource_bytes,
            dir: options.resource_dir.clone(),
            looked_up: HashMap::new(),
            images: HashMap::new(),
            next_image: 1,
            backgrounds: HashMap::new(),
        }
    }

    /// Keeps a resource (BRS…ERS, or a bare object BMO…EMO, BPS…EPS, BIM…EIM …) under its
    /// names: the BRS's and the object's inside it.
    pub fn add(&mut self, fields: Vec<Field>) {
        let size: usize = fields.iter().map(|field| field.data.len()).sum();
        if self.bytes + size > self.max_bytes {
            tracing::warn!(
                resource = %fields.first().map(Field::name).unwrap_or_default(),
                "inline resources over the limit: resource not kept"
            );
            return;
        }
        self.bytes += size;
        let Some(first) = fields.first() else {
            return;
        };
        let outer = first.name();
        let is_wrapper = first.id[2] == 0xCE;
        let inner = fields
            .get(1)
            .filter(|field| is_wrapper && field.kind() == BEGIN)
            .map(Field::name);
        let object: Vec<Field> = if is_wrapper && inner.is_some() {
            fields[1..fields.len().saturating_sub(1)].to_vec()
        } else {
            fields
        };
        let object = Arc::new(object);
        if let Some(inner) = inner.filter(|name| !name.is_empty()) {
            self.by_name.insert(inner, object.clone());
        }
        if !outer.is_empty() {
            self.by_name.insert(outer, object);
        }
    }

    /// The resource named `name`, inline or from the folder.
    pub fn get(&mut self, name: &str) -> Option<Arc<Vec<Field>>> {
        if let Some(found) = self.by_name.get(name) {
            return Some(found.clone());
        }
        if name.is_empty() || self.looked_up.contains_key(name) {
            return None;
        }
        let found = self.load(name);
        self.looked_up.insert(name.to_string(), found);
        if found {
            self.by_name.get(name).cloned()
        } else {
            None
        }
    }

    /// Reads the folder's file for `name` (an AFP resource file, a bare overlay or segment),
    /// keeping every resource in it.
    fn load(&mut self, name: &str) -> bool {
        let Some(dir) = self.dir.clone() else {
            return false;
        };
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return false;
        }
        let candidates = [
            "", ".afp", ".AFP", ".ovl", ".OVL", ".psg", ".PSG", ".ovly", ".pseg",
        ];
        let Some(path) = candidates
            .iter()
            .map(|extension| dir.join(format!("{name}{extension}")))
            .find(|path| path.is_file())
        else {
            return false;
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "resource file cannot be read");
                return false;
            }
        };
        if file.metadata().map(|m| m.len()).unwrap_or(0) > MAX_RESOURCE_FILE {
            tracing::warn!(path = %path.display(), "resource file too large: not read");
            return false;
        }
        let mut reader = FieldReader::new(BufReader::new(file));
        let mut objects = Vec::new();
        loop {
            let field = match reader.next_field() {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "resource file is damaged");
                    return false;
                }
            };
            let wanted =
                field.kind() == BEGIN && (field.id[2] == 0xCE || super::is_object(field.id[2]));
            if !wanted {
                continue;
            }
            match collect(&mut reader, field, self.max_bytes) {
                Ok(fields) => objects.push(fields),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "resource file is damaged");
                    return false;
                }
            }
        }
        let single = objects.len() == 1;
        for fields in objects {
            if single && !self.by_name.contains_key(name) {
                self.by_name
                    .insert(name.to_string(), Arc::new(fields.clone()));
            }
            self.add(fields);
        }
        self.by_name.contains_key(name)
    }

    /// The resource folder's `NAME.pdf`, to draw as overlay `name`; a damaged one is logged
    /// and counts as missing.
    pub fn pdf_background(&mut self, name: &str) -> Option<Arc<PdfBackground>> {
        if let Some(found) = self.backgrounds.get(name) {
            return found.clone();
        }
        let dir = self.dir.clone()?;
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        let found = [".pdf", ".PDF"]
            .iter()
            .map(|extension| dir.join(format!("{name}{extension}")))
            .find(|path| path.is_file())
            .and_then(|path| {
                let too_large = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > MAX_RESOURCE_FILE;
                if too_large {
                    tracing::warn!(path = %path.display(), "background pdf too large: not read");
                    return None;
                }
                let bytes = std::fs::read(&path).ok()?;
                let id = self.next_image;
                self.next_image += 1;
                match background::load(&bytes, id) {
                    Ok(background) => Some(Arc::new(background)),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "background pdf cannot be used");
                        None
                    }
                }
            });
        self.backgrounds.insert(name.to_string(), found.clone());
        found
    }

    /// The PDF an object container holds (its first page), decoded once per run; None when
    /// the container holds no PDF (or a damaged one, logged).
    pub fn container_pdf(&mut self, name: &str, fields: &[Field]) -> Option<Arc<PdfBackground>> {
        let mut data = Vec::new();
        for field in fields {
            if field.id[1] == 0xEE && field.id[2] == 0x92 {
                data.extend_from_slice(&field.data);
            }
        }
        if !data.starts_with(b"%PDF") {
            return None;
        }
        let mut hasher = DefaultHasher::new();
        data.hash(&mut hasher);
        let key = format!("container {name} {:016x}", hasher.finish());
        if let Some(found) = self.backgrounds.get(&key) {
            return found.clone();
        }
        let id = self.next_image;
        self.next_image += 1;
        let found = match background::load(&data, id) {
            Ok(background) => Some(Arc::new(background)),
            Err(error) => {
                tracing::warn!(object = name, %error, "pdf in an object container cannot be drawn");
                None
            }
        };
        self.backgrounds.insert(key, found.clone());
        found
    }

    /// The image of an image object (IOCA, IM, or an object container holding JPEG, TIFF or
    /// PNG), decoded once per run; its id identifies it to the PDF writer.
    pub fn image(
        &mut self,
        name: &str,
        fields: &[Field],
        limits: &ImageLimits,
    ) -> Result<(u64, Arc<ImagePage>), String> {
        let mut hasher = DefaultHasher::new();
        for field in fields {
            field.id.hash(&mut hasher);
            field.data.hash(&mut hasher);
        }
        let key = (name.to_string(), hasher.finish());
        if let Some((id, image)) = self.images.get(&key) {
            return Ok((*id, image.clone()));
        }
        let image = Arc::new(decode_image(fields, limits)?);
        let id = self.next_image;
        self.next_image += 1;
        self.images.insert(key, (id, image.clone()));
        Ok((id, image))
    }
}

fn decode_image(fields: &[Field], limits: &ImageLimits) -> Result<ImagePage, String> {
    let Some(begin) = fields.first() else {
        return Err("empty object".into());
    };
    let data_of = |category: u8, kind: u8| -> Vec<u8> {
        let mut data = Vec::new();
        for field in fields {
            if field.id[1] == kind && field.id[2] == category {
                data.extend_from_slice(&field.data);
            }
        }
        data
    };
    match begin.id[2] {
        0xFB => {
            let ipd = data_of(0xFB, 0xEE);
            let idd = fields
                .iter()
                .find(|field| field.id[1] == 0xA6 && field.id[2] == 0xFB)
                .map(|field| field.data.as_slice());
            ioca::decode_ioca(&ipd, idd, limits).map_err(|error| error.to_string())
        }
        0x7B => {
            let iid = fields
                .iter()
                .find(|field| field.id[1] == 0xA6 && field.id[2] == 0x7B)
                .ok_or("im image without IID")?;
            let mut image = ImImage::new(&iid.data).map_err(|error| error.to_string())?;
            for field in fields {
                match (field.id[1], field.id[2]) {
                    (0xAC, 0x7B) => image
                        .cell_position(&field.data)
                        .map_err(|error| error.to_string())?,
                    (0xEE, 0x7B) => image
                        .raster(&field.data)
                        .map_err(|error| error.to_string())?,
                    _ => {}
                }
            }
            image.finish(limits).map_err(|error| error.to_string())
        }
        0x92 => {
            let data = data_of(0x92, 0xEE);
            let Some(kind) = container_kind(&data) else {
                let start: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
                return Err(format!(
                    "object container of an unsupported type (first bytes {})",
                    start.join(" ")
                ));
            };
            let mut pages = crate::image::image_pages(&data, kind, limits)
                .map_err(|error| error.to_string())?;
            if pages.is_empty() {
                return Err("object container holds no image".into());
            }
            Ok(pages.swap_remove(0))
        }
        other => Err(format!("objects of category {other:02x} are not images")),
    }
}
