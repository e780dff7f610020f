//! AFP (MO:DCA) print runs → PDF pages, one document per page group.
//!
//! The run is read one structured field at a time ([`fields::FieldReader`]); a page is held
//! from its BPG to its EPG, rendered, handed to the caller, and dropped, so memory is one
//! page plus the run's inline resources (bounded by [`AfpOptions::max_resource_bytes`]),
//! whatever the number of pages.
//!
//! - Structure: BDT/EDT, BNG/ENG (page groups: the documents), BPG/EPG, BAG/EAG, BRG/ERG and
//!   BRS/ERS (inline resources), nesting checked: a misnested or truncated run is an error
//!   that says which field at which offset, never a partial result.
//! - Index: a TLE after BNG belongs to the page group, inside a page to the page
//!   ([`Group::tles`], [`page::AfpPage::tles`]).
//! - Page: PGD (size and units), PTD (text units, both formats), MCF (fonts, both formats),
//!   text objects (BPT…EPT, PTOCA in `ptoca`), IOCA image objects (BIM…EIM, in `ioca`), IM
//!   images (BII…EII), object containers holding JPEG, TIFF or PNG (BOC…EOC), and included
//!   objects: IOB, page segments (IPS) and overlays (IPO), from the run's resource group or
//!   the configured resource folder. A missing resource leaves the page without it and a
//!   warning ("missing overlay O1INVBG1"); graphics (GOCA) and bar codes (BCOCA) are not
//!   drawn and say so.
//!
//! # Layout
//!
//! - `background`: a PDF page as an overlay (the resource folder's `NAME.pdf`)
//! - `convert`: a run → parts (PDF and text), one per page group or burst rule
//! - `fields`: the structured-field reader, triplets and number helpers
//! - `fonts`: MCF → standard PDF fonts, sizes and code pages
//! - `metrics`: advance widths of Helvetica and Times (generated)
//! - `ptoca`: the PTOCA text interpreter
//! - `ioca`: IOCA image content (IPD) and IM images → [`crate::image::ImagePage`]
//! - `page`: the page model (text runs, rules, images in points) and its text
//! - `pdf`: the streaming PDF writer for AFP pages
//! - `resources`: inline and folder resources: overlays, page segments, image objects

mod background;
pub mod convert;
pub mod fields;
pub mod fonts;
pub(crate) mod ioca;
mod metrics;
pub mod page;
pub mod pdf;
mod ptoca;
mod resources;

use std::io::{self, BufRead};
use std::path::PathBuf;
use std::sync::Arc;

use fields::{acronym, fully_qualified_name, i24_at, triplets, u16_at, u24_at, Field, FieldReader};
use fonts::MappedFont;
use page::{AfpPage, Item, PlacedImage};
use ptoca::{FontLookup, Placement, TextState};
pub use resources::Resources;

use crate::image::{ImageKind, ImageLimits, ImagePage};

/// Why a run cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum AfpError {
    #[error("i/o error while reading the afp: {0}")]
    Io(#[from] io::Error),
    #[error("afp is truncated at offset {offset}: {what}")]
    Truncated { offset: u64, what: String },
    #[error("afp is malformed at offset {offset}: {what}")]
    Malformed { offset: u64, what: String },
    #[error("afp field too large at offset {offset}: {what}")]
    TooLarge { offset: u64, what: String },
    #[error("afp presentation text is damaged: {what}")]
    Text { what: String },
    #[error("afp has no page: {holds}")]
    NoPage { holds: String },
}

impl AfpError {
    /// Whether trying again can help.
    pub fn is_transient(&self) -> bool {
        matches!(self, AfpError::Io(_))
    }
}

/// How to read runs.
#[derive(Debug, Clone)]
pub struct AfpOptions {
    /// The code page of fonts whose names give none, and of names and TLE values.
    pub default_ccsid: u16,
    /// A folder of resources the runs do not carry inline: overlays and page segments as
    /// AFP files named after them (`O1INVBG1`, `O1INVBG1.afp`, `.ovl`, `.psg`), or an
    /// overlay as a PDF whose first page is the background (`O1INVBG1.pdf`).
    pub resource_dir: Option<PathBuf>,
    pub image_limits: ImageLimits,
    /// Inline resources kept for one run, in bytes.
    pub max_resource_bytes: usize,
}

impl Default for AfpOptions {
    fn default() -> Self {
        AfpOptions {
            default_ccsid: 500,
            resource_dir: None,
            image_limits: ImageLimits::default(),
            max_resource_bytes: 64 << 20,
        }
    }
}

/// A page group (BNG…ENG): the unit a run is cut into.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// 1-based, in the run.
    pub number: usize,
    pub name: String,
    /// Index attributes (TLE name, value) of the group, in order.
    pub tles: Vec<(String, String)>,
}

/// Where rendered pages go.
pub trait PageSink {
    /// A page, with the top-level page group it is in, if any.
    fn page(&mut self, page: &AfpPage, group: Option<&Group>) -> io::Result<()>;
    /// A top-level page group ended.
    fn group_end(&mut self, group: &Group) -> io::Result<()>;
}

/// What a run held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AfpSummary {
    pub pages: usize,
    pub groups: usize,
}

/// Renders the run read from `reader`, page by page, into `sink`.
pub fn render<R: BufRead>(
    reader: R,
    options: &AfpOptions,
    sink: &mut dyn PageSink,
) -> Result<AfpSummary, AfpError> {
    let mut run = Run {
        reader: FieldReader::new(reader),
        options,
        resources: Resources::new(options),
        stack: Vec::new(),
        group: None,
        group_depth: 0,
        summary: AfpSummary::default(),
        seen: std::collections::BTreeMap::new(),
        fields: 0,
    };
    run.read(sink)?;
    if run.summary.pages == 0 {
        let holds = if run.seen.is_empty() {
            format!(
                "its {} structured fields begin no document, page or resource",
                run.fields
            )
        } else {
            let listed: Vec<String> = run
                .seen
                .iter()
                .map(|(name, count)| format!("{count} {name}"))
                .collect();
            format!(
                "it holds {} (a resource or font file, not a print run?)",
                listed.join(", ")
            )
        };
        return Err(AfpError::NoPage { holds });
    }
    Ok(run.summary)
}

struct Open {
    id: [u8; 3],
    name: String,
    offset: u64,
}

struct Run<'o, R> {
    reader: FieldReader<R>,
    options: &'o AfpOptions,
    resources: Resources,
    stack: Vec<Open>,
    group: Option<Group>,
    /// Page groups can nest; the outermost one is the document.
    group_depth: usize,
    summary: AfpSummary,
    /// What the run holds outside pages (BRS, BIM, BFN …), for the message of a run without
    /// pages.
    seen: std::collections::BTreeMap<String, usize>,
    /// Fields read at the top level.
    fields: usize,
}

pub(crate) const BEGIN: u8 = 0xA8;
const END: u8 = 0xA9;

const PAGE: u8 = 0xAF;
const PAGE_GROUP: u8 = 0xAD;
const RESOURCE: u8 = 0xCE;
const TLE: [u8; 3] = [0xD3, 0xA0, 0x90];

/// Categories of objects and resources collected whole and drawn from their fields.
pub(crate) fn is_object(category: u8) -> bool {
    matches!(
        category,
        0x9B | 0xFB
            | 0x7B
            | 0x92
            | 0xBB
            | 0xEB
            | 0xDF
            | 0x5F
            | 0xCD
            | 0xCC
            | 0x89
            | 0x87
            | 0x8A
            | 0xC3
            | 0xCA
            | 0xD9
    )
}

impl<R: BufRead> Run<'_, R> {
    fn read(&mut self, sink: &mut dyn PageSink) -> Result<(), AfpError> {
        while let Some(field) = self.reader.next_field()? {
            self.fields += 1;
            if field.kind() == BEGIN && field.category() != PAGE {
                *self.seen.entry(acronym(field.id)).or_default() += 1;
            }
            match (field.kind(), field.category()) {
                (BEGIN, PAGE) => {
                    let fields = collect(&mut self.reader, field, self.options.max_resource_bytes)?;
                    self.page(&fields, sink)?;
                }
                (BEGIN, RESOURCE) => {
                    let fields = collect(&mut self.reader, field, self.options.max_resource_bytes)?;
                    self.resources.add(fields);
                }
                (BEGIN, category) if is_object(category) => {
                    // A resource outside BRS (a bare overlay in a resource group), or an
                    // object between pages: kept by name, drawn when included.
                    let fields = collect(&mut self.reader, field, self.options.max_resource_bytes)?;
                    self.resources.add(fields);
                }
                (BEGIN, category) => {
                    if category == PAGE_GROUP {
                        self.group_depth += 1;
                        if self.group_depth == 1 {
                            self.summary.groups += 1;
                            self.group = Some(Group {
                                number: self.summary.groups,
                                name: field.name(),
                                tles: Vec::new(),
                            });
                        }
                    }
                    self.stack.push(Open {
                        id: field.id,
                        name: field.name(),
                        offset: field.offset,
                    });
                }
                (END, category) => {
                    self.close(&field)?;
                    if category == PAGE_GROUP {
                        self.group_depth = self.group_depth.saturating_sub(1);
                        if self.group_depth == 0 {
                            if let Some(group) = self.group.take() {
                                sink.group_end(&group)?;
                            }
                        }
                    }
                }
                _ if field.id == TLE => {
                    if let (Some(group), Some(tle)) = (
                        self.group.as_mut(),
                        tle(&field.data, self.options.default_ccsid),
                    ) {
                        group.tles.push(tle);
                    }
                }
                _ => {}
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(AfpError::Truncated {
                offset: self.reader.offset(),
                what: format!(
                    "the stream ends inside {} {} opened at offset {}",
                    acronym(open.id),
                    open.name,
                    open.offset
                ),
            });
        }
        Ok(())
    }

    fn close(&mut self, end: &Field) -> Result<(), AfpError> {
        match self.stack.pop() {
            Some(open) if open.id[2] == end.category() => Ok(()),
            Some(open) => Err(AfpError::Malformed {
                offset: end.offset,
                what: format!(
                    "{} closes {} {} opened at offset {}",
                    acronym(end.id),
                    acronym(open.id),
                    open.name,
                    open.offset
                ),
            }),
            None => Err(AfpError::Malformed {
                offset: end.offset,
                what: format!("{} closes nothing", acronym(end.id)),
            }),
        }
    }

    fn page(&mut self, fields: &[Field], sink: &mut dyn PageSink) -> Result<(), AfpError> {
        self.summary.pages += 1;
        let mut page = AfpPage {
            number: self.summary.pages,
            ..AfpPage::default()
        };
        let mut painter = Painter {
            options: self.options,
            resources: &mut self.resources,
            page: &mut page,
        };
        painter.draw(fields, Origin::default(), 0)?;
        page.fit_runs();
        sink.page(&page, self.group.as_ref())?;
        Ok(())
    }
}

/// The fields from `begin` to its matching end, nesting checked, at most `max_bytes` of data.
pub(crate) fn collect<R: BufRead>(
    reader: &mut FieldReader<R>,
    begin: Field,
    max_bytes: usize,
) -> Result<Vec<Field>, AfpError> {
    let mut open = vec![(begin.id, begin.offset)];
    let mut bytes = begin.data.len();
    let mut fields = vec![begin];
    while let Some(&(top, top_offset)) = open.last() {
        let Some(field) = reader.next_field()? else {
            return Err(AfpError::Truncated {
                offset: reader.offset(),
                what: format!(
                    "the stream ends inside {} opened at offset {top_offset}",
                    acronym(top)
                ),
            });
        };
        bytes += field.data.len();
        if bytes > max_bytes {
            return Err(AfpError::TooLarge {
                offset: field.offset,
                what: format!(
                    "{} opened at offset {} holds more than {} MiB",
                    acronym(fields[0].id),
                    fields[0].offset,
                    max_bytes >> 20
                ),
            });
        }
        match field.kind() {
            BEGIN => open.push((field.id, field.offset)),
            END if field.category() == top[2] => {
                open.pop();
            }
            END => {
                return Err(AfpError::Malformed {
                    offset: field.offset,
                    what: format!(
                        "{} closes {} opened at offset {top_offset}",
                        acronym(field.id),
                        acronym(top)
                    ),
                })
            }
            _ => {}
        }
        fields.push(field);
    }
    Ok(fields)
}

/// A TLE's attribute name and value.
fn tle(data: &[u8], ccsid: u16) -> Option<(String, String)> {
    let (mut name, mut value) = (None, None);
    for triplet in triplets(data) {
        if let Some((0x0B, bytes)) = fully_qualified_name(&triplet) {
            name = Some(decode_text(bytes, ccsid));
        } else if triplet.id == 0x36 {
            value = Some(decode_text(
                triplet.data.get(2..).unwrap_or_default(),
                ccsid,
            ));
        }
    }
    Some((name?, value.unwrap_or_default()))
}

fn decode_text(bytes: &[u8], ccsid: u16) -> String {
    let mut text = String::with_capacity(bytes.len());
    let charset = if crate::ebcdic_tables::table(ccsid).is_some() {
        crate::charset::Charset::Ebcdic(ccsid)
    } else {
        crate::charset::Charset::Ebcdic(500)
    };
    charset.decode_into(bytes, &mut text);
    text.trim().to_string()
}

/// Where an included thing's origin is on the page, in points from the top-left.
#[derive(Debug, Clone, Copy, Default)]
struct Origin {
    left: f32,
    top: f32,
}

/// Units per inch of a measurement base and a units-per-unit-base value.
fn per_inch(base: u8, units: u16) -> f32 {
    let units = f32::from(units.max(1));
    if base == 0x01 {
        units / 10.0 * 2.54
    } else {
        units / 10.0
    }
}

/// Units per inch along x and y and the extent, from the layout PGD, PTD-2 (`extent_bytes`
/// 3) and PTD-1 (2) share: X base, Y base, X units, Y units (2 bytes each), X and Y extent.
fn units_and_extent(data: &[u8], extent_bytes: usize) -> Option<(f32, f32, f32, f32)> {
    let extent = |at: usize| match extent_bytes {
        2 => u16_at(data, at).map(f32::from),
        _ => u24_at(data, at).map(|value| value as f32),
    };
    Some((
        per_inch(*data.first()?, u16_at(data, 2)?),
        per_inch(*data.get(1)?, u16_at(data, 4)?),
        extent(6)?,
        extent(6 + extent_bytes)?,
    ))
}

/// The environment an object is drawn in: fonts, page or overlay size, text units.
#[derive(Debug, Clone)]
struct Environment {
    fonts: Vec<(u8, MappedFont)>,
    default_ccsid: u16,
    /// Units per inch of the page (or overlay) and its extent in those units.
    units_x: f32,
    units_y: f32,
    extent_x: f32,
    extent_y: f32,
    /// Text units and extent from the PTD, when given.
    text: Option<(f32, f32, f32, f32)>,
    /// The initial text conditions of a PTD-2, as PTOCA.
    text_conditions: Vec<u8>,
}

impl FontLookup for Environment {
    fn font(&self, lid: u8) -> Option<&MappedFont> {
        self.fonts
            .iter()
            .rev()
            .find(|(id, _)| *id == lid)
            .map(|(_, font)| font)
    }

    fn default_ccsid(&self) -> u16 {
        self.default_ccsid
    }
}

impl Environment {
    fn new(default_ccsid: u16) -> Environment {
        // A US letter page at 1440 units per inch until a PGD says otherwise.
        Environment {
            fonts: Vec::new(),
            default_ccsid,
            units_x: 1440.0,
            units_y: 1440.0,
            extent_x: 8.5 * 1440.0,
            extent_y: 11.0 * 1440.0,
            text: None,
            text_conditions: Vec::new(),
        }
    }

    /// Takes what an environment field says (MCF, PGD, PTD).
    fn take(&mut self, field: &Field) {
        let data = &field.data;
        match (field.id[1], field.id[2]) {
            (0xAB, 0x8A) => self.fonts.extend(fonts::map_coded_font_2(data)),
            (0xB1, 0x8A) => self.fonts.extend(fonts::map_coded_font_1(data)),
            (0xA6, 0xAF) | (0xA6, 0xDF) => {
                if let Some((ux, uy, ex, ey)) = units_and_extent(data, 3) {
                    (self.units_x, self.units_y, self.extent_x, self.extent_y) = (ux, uy, ex, ey);
                }
            }
            (0xB1, 0x9B) => {
                if let Some(text) = units_and_extent(data, 3) {
                    self.text = Some(text);
                    self.text_conditions = data.get(14..).unwrap_or_default().to_vec();
                }
            }
            (0xA6, 0x9B) => {
                if let Some(text) = units_and_extent(data, 2) {
                    self.text = Some(text);
                }
            }
            _ => {}
        }
    }

    fn width_pt(&self) -> f32 {
        self.extent_x * 72.0 / self.units_x
    }

    fn height_pt(&self) -> f32 {
        self.extent_y * 72.0 / self.units_y
    }
}

/// The object area of an image or container: where and how big, from OBD/OBP/MIO or IOB.
#[derive(Debug, Clone, Copy, Default)]
struct Area {
    /// Top-left offset in the including environment's units.
    x: Option<i32>,
    y: Option<i32>,
    /// Size in the area's own units.
    width: Option<u32>,
    height: Option<u32>,
    units_x: Option<f32>,
    units_y: Option<f32>,
    mapping: Option<u8>,
}

impl Area {
    /// Takes the triplets of an OBD, IOB or MIO: measurement units (4B), area size (4C),
    /// mapping option (04).
    fn triplets(&mut self, bytes: &[u8]) {
        for triplet in triplets(bytes) {
            let data = triplet.data;
            match triplet.id {
                0x4B => {
                    if let (Some(&xb), Some(&yb), Some(xu), Some(yu)) =
                        (data.first(), data.get(1), u16_at(data, 2), u16_at(data, 4))
                    {
                        self.units_x = Some(per_inch(xb, xu));
                        self.units_y = Some(per_inch(yb, yu));
                    }
                }
                0x4C => {
                    if let (Some(w), Some(h)) = (u24_at(data, 1), u24_at(data, 4)) {
                        self.width = Some(w);
                        self.height = Some(h);
                    }
                }
                0x04 => self.mapping = data.first().copied(),
                _ => {}
            }
        }
    }

    /// The OBP's position (of the area, in the including environment's units).
    fn position(&mut self, obp: &[u8]) {
        if let (Some(x), Some(y)) = (i24_at(obp, 2), i24_at(obp, 5)) {
            self.x = Some(x);
            self.y = Some(y);
        }
    }

    /// The area's top-left corner on the page, in points from the page's top-left.
    fn top_left(&self, environment: &Environment, origin: Origin) -> (f32, f32) {
        (
            origin.left + self.x.unwrap_or(0) as f32 * 72.0 / environment.units_x,
            origin.top + self.y.unwrap_or(0) as f32 * 72.0 / environment.units_y,
        )
    }

    /// An IOB's or include's override of this area: what it gives wins.
    fn overridden_by(mut self, other: &Area) -> Area {
        self.x = other.x.or(self.x);
        self.y = other.y.or(self.y);
        self.width = other.width.or(self.width);
        self.height = other.height.or(self.height);
        self.units_x = other.units_x.or(self.units_x);
        self.units_y = other.units_y.or(self.units_y);
        self.mapping = other.mapping.or(self.mapping);
        self
    }
}

/// Draws fields onto a page.
struct Painter<'a> {
    options: &'a AfpOptions,
    resources: &'a mut Resources,
    page: &'a mut AfpPage,
}

/// Overlays and page segments can include others; deeper than this is a loop.
const MAX_INCLUDE_DEPTH: usize = 4;

impl Painter<'_> {
    fn warn(&mut self, warning: String) {
        if !self.page.warnings.contains(&warning) {
            self.page.warnings.push(warning);
        }
    }

    /// Draws a page's, overlay's or page segment's fields (its begin and end included).
    fn draw(&mut self, fields: &[Field], origin: Origin, depth: usize) -> Result<(), AfpError> {
        let mut environment = Environment::new(self.options.default_ccsid);
        let top_level = depth == 0;
        let mut at = 1;
        // The environment group (BAG…EAG), or the fields before the first object.
        while at < fields.len() {
            let field = &fields[at];
            if field.kind() == BEGIN && is_object(field.category()) {
                break;
            }
            environment.take(field);
            at += 1;
            if field.kind() == END && field.category() == 0xC9 {
                break;
            }
        }
        if top_level {
            self.page.width = environment.width_pt();
            self.page.height = environment.height_pt();
        }
        while at < fields.len() {
            let field = &fields[at];
            if field.kind() == BEGIN && is_object(field.category()) {
                let end = matching_end(fields, at);
                self.object(&fields[at..end], &environment, origin, Area::default())?;
                at = end;
                continue;
            }
            match (field.id[1], field.id[2]) {
                (0xA0, 0x90) => {
                    if let Some(tle) = tle(&field.data, self.options.default_ccsid) {
                        self.page.tles.push(tle);
                    }
                }
                (0xAF, 0xD8) | (0xAF, 0x5F) => {
                    let overlay = field.id[2] == 0xD8;
                    let name = field.name();
                    let (x, y) = (
                        i24_at(&field.data, 8).unwrap_or(0),
                        i24_at(&field.data, 11).unwrap_or(0),
                    );
                    let kind = if overlay { "overlay" } else { "page segment" };
                    if depth >= MAX_INCLUDE_DEPTH {
                        self.warn(format!(
                            "{kind} {name} includes itself or nests too deep: not drawn"
                        ));
                    } else if let Some(included) = self.resources.get(&name) {
                        let inner = Origin {
                            left: origin.left + x as f32 * 72.0 / environment.units_x,
                            top: origin.top + y as f32 * 72.0 / environment.units_y,
                        };
                        if overlay {
                            self.draw(&included, inner, depth + 1)?;
                        } else {
                            self.segment(&included, &environment, inner)?;
                        }
                    } else if let Some(background) = overlay
                        .then(|| self.resources.pdf_background(&name))
                        .flatten()
                    {
                        let left = origin.left + x as f32 * 72.0 / environment.units_x;
                        let top = origin.top + y as f32 * 72.0 / environment.units_y;
                        let bottom = self.page.height - top - background.height;
                        self.page
                            .items
                            .push(Item::Background(page::PlacedBackground {
                                background,
                                x: left,
                                y: bottom,
                                scale_x: 1.0,
                                scale_y: 1.0,
                            }));
                    } else {
                        self.warn(format!("missing {kind} {name}"));
                    }
                }
                (0xAF, 0xC3) => self.include_object(field, &environment, origin)?,
                _ => {}
            }
            at += 1;
        }
        Ok(())
    }

    /// A page segment: objects drawn in the including environment, from the segment's origin.
    fn segment(
        &mut self,
        fields: &[Field],
        environment: &Environment,
        origin: Origin,
    ) -> Result<(), AfpError> {
        let mut at = 1;
        while at < fields.len() {
            if fields[at].kind() == BEGIN && is_object(fields[at].category()) {
                let end = matching_end(fields, at);
                self.object(&fields[at..end], environment, origin, Area::default())?;
                at = end;
            } else {
                at += 1;
            }
        }
        Ok(())
    }

    /// IOB: an object from the resources, at the IOB's position and size.
    fn include_object(
        &mut self,
        field: &Field,
        environment: &Environment,
        origin: Origin,
    ) -> Result<(), AfpError> {
        let data = &field.data;
        let name = field.name();
        let unset = |value: Option<i32>| value.filter(|&v| v != -1 && v != 0x00FF_FFFF);
        let mut area = Area {
            x: unset(i24_at(data, 10)),
            y: unset(i24_at(data, 13)),
            ..Area::default()
        };
        area.triplets(data.get(27..).unwrap_or_default());
        let Some(object) = self.resources.get(&name) else {
            self.warn(format!("missing object {name}"));
            return Ok(());
        };
        self.object(&object, environment, origin, area)
    }

    /// One object (text, image, container …), its begin and end included.
    fn object(
        &mut self,
        fields: &[Field],
        environment: &Environment,
        origin: Origin,
        include: Area,
    ) -> Result<(), AfpError> {
        let Some(begin) = fields.first() else {
            return Ok(());
        };
        match begin.category() {
            0x9B => self.text(fields, environment, origin),
            0xFB | 0x7B | 0x92 => self.image(fields, environment, origin, include),
            0xBB => {
                self.warn("graphics (GOCA) not drawn".into());
                Ok(())
            }
            0xEB => {
                self.warn("bar code (BCOCA) not drawn".into());
                Ok(())
            }
            0x5F => self.segment(fields, environment, origin),
            _ => Ok(()),
        }
    }

    fn text(
        &mut self,
        fields: &[Field],
        environment: &Environment,
        origin: Origin,
    ) -> Result<(), AfpError> {
        let mut local = environment.clone();
        let mut area = Area::default();
        for field in fields {
            match (field.id[1], field.id[2]) {
                (0xB1, 0x9B) | (0xA6, 0x9B) => local.take(field),
                (0xA6, 0x6B) => area.triplets(&field.data),
                (0xAC, 0x6B) => area.position(&field.data),
                _ => {}
            }
        }
        let (units_x, units_y, extent_x, extent_y) =
            local
                .text
                .unwrap_or((local.units_x, local.units_y, local.extent_x, local.extent_y));
        let placement = Placement {
            left: origin.left + area.x.unwrap_or(0) as f32 * 72.0 / environment.units_x,
            top: origin.top + area.y.unwrap_or(0) as f32 * 72.0 / environment.units_y,
            units_x,
            units_y,
            extent_x,
            extent_y,
            page_height: self.page.height,
        };
        let mut state = TextState::new(units_y);
        let mut warnings = std::mem::take(&mut self.page.warnings);
        if !local.text_conditions.is_empty() {
            let mut conditions = local.text_conditions.clone();
            if !conditions.starts_with(&[0x2B, 0xD3]) {
                conditions.splice(0..0, [0x2B, 0xD3]);
            }
            ptoca::interpret(
                &conditions,
                &mut state,
                &placement,
                &local,
                self.page,
                &mut warnings,
            )?;
        }
        let mut result = Ok(());
        for field in fields {
            if field.id[1] == 0xEE && field.id[2] == 0x9B {
                result = ptoca::interpret(
                    &field.data,
                    &mut state,
                    &placement,
                    &local,
                    self.page,
                    &mut warnings,
                );
                if result.is_err() {
                    break;
                }
            }
        }
        self.page.warnings = warnings;
        result
    }

    fn image(
        &mut self,
        fields: &[Field],
        environment: &Environment,
        origin: Origin,
        include: Area,
    ) -> Result<(), AfpError> {
        let Some(begin) = fields.first() else {
            return Ok(());
        };
        let name = begin.name();
        let mut area = Area::default();
        for field in fields {
            match (field.id[1], field.id[2]) {
                (0xA6, 0x6B) => area.triplets(&field.data),
                (0xAC, 0x6B) => area.position(&field.data),
                (0xAB, 0xFB) | (0xAB, 0x92) => {
                    // MIO / MCD: repeating groups of triplets after a 2-byte length.
                    area.triplets(field.data.get(2..).unwrap_or_default());
                }
                // IOC of an IM image: its position.
                (0xA7, 0x7B) => {
                    if let (Some(x), Some(y)) = (i24_at(&field.data, 0), i24_at(&field.data, 3)) {
                        area.x = Some(x);
                        area.y = Some(y);
                    }
                }
                _ => {}
            }
        }
        let area = area.overridden_by(&include);
        if begin.category() == 0x92 {
            if let Some(background) = self.resources.container_pdf(&name, fields) {
                self.place_pdf(background, &area, environment, origin);
                return Ok(());
            }
        }
        let decoded = match self
            .resources
            .image(&name, fields, &self.options.image_limits)
        {
            Ok(decoded) => decoded,
            Err(reason) => {
                self.warn(format!("image {name} not drawn: {reason}"));
                return Ok(());
            }
        };
        let (id, image) = decoded;
        self.place_image(id, image, &area, environment, origin);
        Ok(())
    }

    /// A PDF held in an object container: its first page scaled to fit the object area.
    fn place_pdf(
        &mut self,
        background: Arc<background::PdfBackground>,
        area: &Area,
        environment: &Environment,
        origin: Origin,
    ) {
        let (left, top) = area.top_left(environment, origin);
        let (natural_w, natural_h) = (background.width, background.height);
        let scale = match (area.width, area.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 && natural_w > 0.0 && natural_h > 0.0 => {
                let w = w as f32 * 72.0 / area.units_x.unwrap_or(environment.units_x);
                let h = h as f32 * 72.0 / area.units_y.unwrap_or(environment.units_y);
                (w / natural_w).min(h / natural_h)
            }
            _ => 1.0,
        };
        if !scale.is_finite() || scale <= 0.0 {
            return;
        }
        let y = self.page.height - top - natural_h * scale;
        self.page
            .items
            .push(Item::Background(page::PlacedBackground {
                background,
                x: left,
                y,
                scale_x: scale,
                scale_y: scale,
            }));
    }

    fn place_image(
        &mut self,
        id: u64,
        image: Arc<ImagePage>,
        area: &Area,
        environment: &Environment,
        origin: Origin,
    ) {
        let (left, top) = area.top_left(environment, origin);
        let natural = (image.width_pt(), image.height_pt());
        let box_size = match (area.width, area.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => Some((
                w as f32 * 72.0 / area.units_x.unwrap_or(environment.units_x),
                h as f32 * 72.0 / area.units_y.unwrap_or(environment.units_y),
            )),
            _ => None,
        };
        let (x, y, width, height) = match (box_size, area.mapping) {
            // Scale to fill: the image stretched to the area.
            (Some((w, h)), Some(0x60)) => (left, top, w, h),
            // Position (and trim), image point to pel: the image at its own size.
            (Some(_), Some(0x00 | 0x10 | 0x41 | 0x42 | 0x50)) | (None, _) => {
                (left, top, natural.0, natural.1)
            }
            // Center and trim: its own size, centred.
            (Some((w, h)), Some(0x30)) => (
                left + (w - natural.0) / 2.0,
                top + (h - natural.1) / 2.0,
                natural.0,
                natural.1,
            ),
            // Scale to fit (the default): as large as fits, aspect kept, centred.
            (Some((w, h)), _) => {
                let scale = (w / natural.0).min(h / natural.1);
                let (iw, ih) = (natural.0 * scale, natural.1 * scale);
                (left + (w - iw) / 2.0, top + (h - ih) / 2.0, iw, ih)
            }
        };
        if ![x, y, width, height].iter().all(|v| v.is_finite()) || width <= 0.0 || height <= 0.0 {
            return;
        }
        self.page.items.push(Item::Image(PlacedImage {
            id,
            image,
            x,
            y: self.page.height - y - height,
            width,
            height,
        }));
    }
}

/// The index after the end that matches the begin at `at` (or the end of `fields`).
fn matching_end(fields: &[Field], at: usize) -> usize {
    let mut depth = 0usize;
    for (index, field) in fields.iter().enumerate().skip(at) {
        match field.kind() {
            BEGIN => depth += 1,
            END => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return index + 1;
                }
            }
            _ => {}
        }
    }
    fields.len()
}

/// How an object container's bytes are read, by their first bytes.
fn container_kind(data: &[u8]) -> Option<ImageKind> {
    if data.starts_with(&[0xFF, 0xD8]) {
        Some(ImageKind::Jpeg)
    } else if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        Some(ImageKind::Tiff)
    } else if data.starts_with(b"\x89PNG") {
        Some(ImageKind::Png)
    } else {
        None
    }
}
