//! IOCA image content and IM images → image pages ready to embed.
//!
//! Two kinds of raster live in AFP: IOCA image objects (`BIM … EIM`: an Image Data Descriptor,
//! IDD `D3A6FB`, and Image Picture Data, IPD `D3EEFB`, whose concatenated data is one IOCA
//! Image Segment), read by [`decode_ioca`]; and the older IM images (`BII … EII`: IID
//! `D3A67B`, optional cells ICP `D3AC7B`, raster IRD `D3EE7B`), read through [`ImImage`]. Both
//! give a [`crate::image::ImagePage`]: the bytes a PDF image XObject holds, its filter and its
//! colour space. Nothing here reads files or panics on any input; every refusal is an
//! [`IocaError`]. References: IOCA Reference AFPC-0003-09 (chapters 4–5, appendices A, B, D,
//! F) and MO:DCA Reference AFPC-0004-10 (appendix C, "IM Image Object").
//!
//! # IOCA image segments
//!
//! The IPD data is a chain of self-defining fields: the long format `ID LEN data` (one-byte
//! code, one-byte length of what follows) and the extended format `FE ID LENLEN data` (two-byte
//! code starting `FE`, two-byte length), IOCA ch. 4. Read: Begin/End Segment (`70`/`71`),
//! Begin/End Image Content (`91`/`93`), Image Size (`94`), Image Encoding (`95`: compression,
//! recording algorithm, bit order), IDE Size (`96`), IDE Structure (`9B`), Band Image (`98`,
//! one band only) and Image Data (`FE92`, repeatable, concatenated; Band Image Data `FE9C` of a
//! one-band image alike). The Image LUT-ID (`97`, retired), External Algorithm Specification
//! (`9F`), nColor Names (`FEB3`) and unknown fields are skipped by their length; a
//! transparency mask (`8E` … `8F`) is skipped whole (the image is shown opaque). Only the
//! first image content of a segment is shown (several are a FS45/FS48 feature); data after
//! its End Image Content is ignored. An Image Data field of length 0 (invalid, written by
//! afplib's `IPDSpan.afp`) is taken to run to the end of the segment, before a trailing
//! `93 00 71 00`.
//!
//! | Compression (`95` COMPRID) | Becomes |
//! |---|---|
//! | `03` none, `0C` TIFF PackBits | `/FlateDecode` of the rows repacked (rows whole bytes) |
//! | `82` G4 MMR | `/CCITTFaxDecode` K −1, bytes as they are |
//! | `80` G3 MH, `81` G3 MR | `/CCITTFaxDecode` K 0, K > 0 |
//! | `09` TIFF algorithm 2 | `/CCITTFaxDecode` K 0 with EncodedByteAlign |
//! | `83` JPEG | `/DCTDecode`, bytes as they are (up to the EOI marker) |
//! | `01` IBM MMR, `06` RL4, `08`/`0A` ABIC, `0B`, `0D`/`0E` LZW, `20`, `84` JBIG2, `FE` | refused ([`IocaError::Unsupported`], naming the algorithm) |
//!
//! IBM MMR is not G4: its first line is one-dimensional and an EOL separates it from the
//! two-dimensional lines (IOCA appendix A), so no PDF filter reads it.
//!
//! Image data elements (uncompressed or PackBits): 1 bit bilevel; 2, 4, 8 or 16 bit grey
//! (YCbCr/YCrCb Y only, or no IDE Structure); 24 bit RGB; 24 bit YCbCr/YCrCb (turned into
//! RGB); 32 bit CMYK (8 bits each) and 4 bit CMYK (1 bit each). Subtractive (ASFLAG) grey gets
//! `/Decode [1 0]`, subtractive colour is inverted in the bytes. Refused: gray coding, nColor,
//! uneven component sizes, image subsampling (`FECE`) outside JPEG, several bands, tiles
//! (`8C`/`8D`, Tile TOC `FEBB` and friends). Recording algorithms: RIDIC (`01`, rows padded
//! to bytes), unpadded RIDIC (`04`), bottom-to-top (`03`, uncompressed only, rows padded to
//! 32 bits); bit order `01` (right-to-left) is reversed in every byte before anything else
//! (JPEG excepted).
//!
//! # Colours
//!
//! Bilevel IOCA and IM data say 1 = significant (toned, black) and 0 = untoned (IOCA appendix
//! B; MO:DCA IRD semantics), the opposite of `DeviceGray`. So uncompressed bilevel pages are
//! `DeviceGray` with `inverted` (`/Decode [1 0]`), and CCITT pages are plain fax (a decoded
//! black run is a 1 in IOCA terms): `BlackIs1 false`, no `/Decode`. A foreground colour from
//! the IDD (Set Bilevel Image Color `F6`, Set Extended Bilevel Image Color `F4` in RGB, CMYK
//! or the standard OCA colours) or the IID colour of an IM image, other than black or the
//! device default, makes the page `/Indexed` over white and that colour (and CCITT
//! `BlackIs1 true`). Grey with no IDE Structure is additive: 0 is black (IOCA appendix B).
//! Untoned points are drawn white, not transparent.
//!
//! # Size and resolution
//!
//! The size is the Image Size parameter's HSIZE × VSIZE; when it is missing or 0, the IDD's
//! XSIZE × YSIZE; JPEG sizes come from the JPEG (IOCA EC-9401: the data wins), a G4 image with
//! VSIZE 0 is decoded to count its rows. CCITT data recorded with RIDIC is compressed at the
//! width rounded up to 8 (IOCA appendix F), so such pages are that padded width (the extra
//! columns are white). The resolution is the IDD's (which the IOCA reference says replaces the
//! image's own when writing to the image presentation space), else the Image Size parameter's,
//! else [`DEFAULT_DPI`] = 240; unit base `00` is per 10 inches, `01` per 10 centimetres,
//! `02` (a ratio only) and 0 count as unstated, as do values outside
//! [`MIN_DPI`]..=[`MAX_DPI`].
//!
//! # Limits
//!
//! Width × height is checked against [`ImageLimits::max_pixels`] before anything is
//! allocated for the pixels. Uncompressed data shorter than the size needs leaves the missing
//! rows white (IOCA EC-9511: "present all successfully decompressed image data"); no data at
//! all is an error.
//!
//! # IM images
//!
//! The IID gives the unit base (10 inches or 10 centimetres), the image points per unit base,
//! the size of a simple image, the default cell size and the colour. The raster is
//! uncompressed, 1 bit a point, rows *not* padded (the bits run on across rows, MO:DCA IRD
//! semantics; the IPDS IM-Image command set calls it the unpadded recording); data as long as
//! rows padded to whole bytes would need is taken as padded rows. A celled image places each
//! cell at its ICP offset and repeats it over its fill rectangle; the page covers the IID
//! size and every fill rectangle.

use std::convert::Infallible;

use fax::decoder::{DecodeStatus, Group4Decoder};

use crate::image::{
    image_pages, Encoding, ImageError, ImageKind, ImageLimits, ImagePage, PageColor, MAX_DPI,
    MIN_DPI,
};

/// Resolution assumed when neither the IDD, the Image Size parameter nor the IID states one:
/// 240 dpi, the resolution of the IBM page printers AFP grew up on, the one an IM image's
/// constant IID data spells (`0960` = 2400 per 10 inches), and the resolution an
/// "image point to pel" image without a resolution is printed at on them.
pub(crate) const DEFAULT_DPI: f32 = 240.0;

/// The `fax` crate counts columns in u16 and overflows near 65535; IOCA sizes stop at 32767.
const MAX_CCITT_COLUMNS: u32 = 32767;

/// Why an image object cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum IocaError {
    #[error("truncated image: {what}")]
    Truncated { what: String },
    #[error("malformed image: {what}")]
    Malformed { what: String },
    #[error("unsupported image: {what}")]
    Unsupported { what: String },
    #[error("image of {width}x{height} pixels, more than the limit of {limit}")]
    TooManyPixels { width: u64, height: u64, limit: u64 },
    #[error("jpeg image: {0}")]
    Jpeg(ImageError),
}

fn truncated(what: impl Into<String>) -> IocaError {
    IocaError::Truncated { what: what.into() }
}

fn malformed(what: impl Into<String>) -> IocaError {
    IocaError::Malformed { what: what.into() }
}

fn unsupported(what: impl Into<String>) -> IocaError {
    IocaError::Unsupported { what: what.into() }
}

// ---------------------------------------------------------------------------------------------
// IOCA
// ---------------------------------------------------------------------------------------------

/// The image content of one IOCA image object: `ipd` is the concatenated data of its IPD
/// fields (the self-defining fields 70 00 Begin Segment … 71 00 End Segment); `idd`, the data of
/// the image data descriptor (IDD, D3A6FB) when the object has one (unit base, resolutions,
/// size, then self-defining fields): its size stands in for a missing or zero Image Size, its
/// resolution is the image's (the IOCA reference gives it precedence), its Set (Extended)
/// Bilevel Image Color colours a bilevel image.
pub(crate) fn decode_ioca(
    ipd: &[u8],
    idd: Option<&[u8]>,
    limits: &ImageLimits,
) -> Result<ImagePage, IocaError> {
    let content = read_segment(ipd)?;
    let idd = idd.map(read_idd).transpose()?;
    let stated = idd
        .as_ref()
        .and_then(|idd| dpi_of(idd.unit_base, idd.x_resolution, idd.y_resolution))
        .or_else(|| {
            content
                .size
                .and_then(|size| dpi_of(size.unit_base, size.x_resolution, size.y_resolution))
        });
    let dpi = stated.unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
    let foreground = idd.as_ref().and_then(|idd| idd.foreground);
    // The Image Size, with 0 or a missing parameter taken from the IDD.
    let stated_size = |pick: fn(&ImageSize) -> u16, idd_pick: fn(&Idd) -> u16| {
        let own = content.size.as_ref().map(pick).unwrap_or(0);
        if own != 0 {
            u32::from(own)
        } else {
            idd.as_ref().map(idd_pick).map(u32::from).unwrap_or(0)
        }
    };
    let width = stated_size(|s| s.width, |i| i.x_size);
    let height = stated_size(|s| s.height, |i| i.y_size);

    if content.bands > 1 {
        return Err(unsupported(format!(
            "band image with {} bands",
            content.bands
        )));
    }
    if content.data.is_empty() {
        return Err(truncated("no image data"));
    }
    match content.compression {
        0x83 => jpeg(&content, stated, limits),
        0x82 | 0x80 | 0x81 | 0x09 => ccitt(&content, width, height, dpi, foreground, limits),
        0x03 | 0x0C => raw(&content, width, height, dpi, foreground, limits),
        other => Err(unsupported(format!(
            "{} compression (x'{other:02x}')",
            compression_name(other)
        ))),
    }
}

fn compression_name(code: u8) -> &'static str {
    match code {
        0x01 => "ibm mmr",
        0x06 => "rl4",
        0x08 => "abic",
        0x0A => "concatenated abic",
        0x0B => "os/2 image support",
        0x0D => "tiff lzw",
        0x0E => "tiff lzw with differencing predictor",
        0x20 => "solid fill rectangle",
        0x84 => "jbig2",
        0xFE => "user-defined",
        _ => "unknown",
    }
}

/// The Image Size parameter (`94`).
#[derive(Debug, Clone, Copy)]
struct ImageSize {
    unit_base: u8,
    x_resolution: u16,
    y_resolution: u16,
    width: u16,
    height: u16,
}

/// What one image content says and holds.
#[derive(Debug)]
struct Content {
    size: Option<ImageSize>,
    compression: u8,
    recording: u8,
    bit_order: u8,
    ide_size: Option<u8>,
    structure: Option<IdeStructure>,
    bands: u8,
    subsampled: bool,
    data: Vec<u8>,
}

impl Default for Content {
    fn default() -> Self {
        // IOCA defaults: no compression, RIDIC, left-to-right bits (Image Encoding).
        Self {
            size: None,
            compression: 0x03,
            recording: 0x01,
            bit_order: 0,
            ide_size: None,
            structure: None,
            bands: 1,
            subsampled: false,
            data: Vec::new(),
        }
    }
}

/// The IDE Structure parameter (`9B`).
#[derive(Debug, Clone)]
struct IdeStructure {
    subtractive: bool,
    gray_code: bool,
    format: u8,
    /// Bits of each component, trailing zero sizes dropped.
    sizes: Vec<u8>,
}

/// One self-defining field: its code (`00xx` for the long format, `FExx` for the extended
/// one), its parameters, and where the next field starts.
fn read_field(ipd: &[u8], at: usize) -> Result<(u16, &[u8], usize), IocaError> {
    let Some(&first) = ipd.get(at) else {
        return Err(truncated("self-defining field missing"));
    };
    if first == 0xFE {
        let (Some(&second), Some(length)) = (ipd.get(at + 1), ipd.get(at + 2..at + 4)) else {
            return Err(truncated(format!(
                "self-defining field x'fe..' at byte {at} without its length"
            )));
        };
        let code = u16::from_be_bytes([first, second]);
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let start = at + 4;
        if code == 0xFE92 && length == 0 {
            // afplib's IPDSpan.afp: the Image Data runs on (in the next IPD) to the end.
            let mut end = ipd.len();
            for tail in [&[0x71u8, 0x00][..], &[0x93, 0x00]] {
                if ipd.get(start..end).is_some_and(|rest| rest.ends_with(tail)) {
                    end -= tail.len();
                }
            }
            let data = ipd.get(start..end).unwrap_or_default();
            return Ok((code, data, end.max(start)));
        }
        let Some(data) = ipd.get(start..start + length) else {
            return Err(truncated(format!(
                "{} at byte {at} announces {length} bytes, {} remain",
                field_name(code),
                ipd.len().saturating_sub(start)
            )));
        };
        Ok((code, data, start + length))
    } else {
        let Some(&length) = ipd.get(at + 1) else {
            return Err(truncated(format!(
                "self-defining field x'{first:02x}' at byte {at} without its length"
            )));
        };
        let start = at + 2;
        let length = usize::from(length);
        let Some(data) = ipd.get(start..start + length) else {
            return Err(truncated(format!(
                "{} at byte {at} announces {length} bytes, {} remain",
                field_name(u16::from(first)),
                ipd.len().saturating_sub(start)
            )));
        };
        Ok((u16::from(first), data, start + length))
    }
}

fn field_name(code: u16) -> String {
    let name = match code {
        0x70 => "begin segment",
        0x71 => "end segment",
        0x8C => "begin tile",
        0x8D => "end tile",
        0x8E => "begin transparency mask",
        0x8F => "end transparency mask",
        0x91 => "begin image content",
        0x93 => "end image content",
        0x94 => "image size parameter",
        0x95 => "image encoding parameter",
        0x96 => "ide size parameter",
        0x97 => "image lut-id parameter",
        0x98 => "band image parameter",
        0x9B => "ide structure parameter",
        0x9F => "external algorithm specification parameter",
        0xB5 => "tile position parameter",
        0xB6 => "tile size parameter",
        0xB7 => "tile set color parameter",
        0xFE92 => "image data",
        0xFE9C => "band image data",
        0xFEB3 => "ncolor names parameter",
        0xFEB8 => "include tile parameter",
        0xFEBB => "tile toc parameter",
        0xFECE => "image subsampling parameter",
        _ => "self-defining field",
    };
    if code > 0xFF {
        format!("{name} (x'{code:04x}')")
    } else {
        format!("{name} (x'{code:02x}')")
    }
}

/// Reads the first image content of an image segment.
fn read_segment(ipd: &[u8]) -> Result<Content, IocaError> {
    let mut at = 0;
    let mut content: Option<Content> = None;
    let mut in_mask = false;
    while at < ipd.len() {
        let (code, data, next) = read_field(ipd, at)?;
        at = next;
        let Some(content) = content.as_mut() else {
            match code {
                0x91 => content = Some(Content::default()),
                0x71 => break,
                // Begin Segment; anything else before the content is not image content.
                _ => {}
            }
            continue;
        };
        if in_mask {
            match code {
                0x8F => in_mask = false,
                0x93 | 0x71 => return Err(malformed("transparency mask without its end (x'8f')")),
                _ => {}
            }
            continue;
        }
        match code {
            0x93 => return Ok(std::mem::take(content)),
            0x71 => {
                return Err(malformed(
                    "end segment before the end image content (x'93')",
                ))
            }
            0x91 => return Err(malformed("begin image content inside an image content")),
            0x94 => {
                let [unit_base, x0, x1, y0, y1, w0, w1, h0, h1, ..] = *data else {
                    return Err(truncated(format!(
                        "image size parameter of {} bytes (9 needed)",
                        data.len()
                    )));
                };
                content.size = Some(ImageSize {
                    unit_base,
                    x_resolution: u16::from_be_bytes([x0, x1]),
                    y_resolution: u16::from_be_bytes([y0, y1]),
                    width: u16::from_be_bytes([w0, w1]),
                    height: u16::from_be_bytes([h0, h1]),
                });
            }
            0x95 => {
                let [compression, recording, ref rest @ ..] = *data else {
                    return Err(truncated(format!(
                        "image encoding parameter of {} bytes (2 needed)",
                        data.len()
                    )));
                };
                content.compression = compression;
                content.recording = recording;
                content.bit_order = rest.first().copied().unwrap_or(0);
            }
            0x96 => {
                let Some(&bits) = data.first() else {
                    return Err(truncated("empty ide size parameter"));
                };
                content.ide_size = Some(bits);
            }
            0x98 => {
                let Some(&bands) = data.first() else {
                    return Err(truncated("empty band image parameter"));
                };
                content.bands = bands;
            }
            0x9B => {
                let [flags, format, _, _, _, ref sizes @ ..] = *data else {
                    return Err(truncated(format!(
                        "ide structure parameter of {} bytes (6 needed)",
                        data.len()
                    )));
                };
                let mut sizes = sizes.to_vec();
                while sizes.last() == Some(&0) {
                    sizes.pop();
                }
                content.structure = Some(IdeStructure {
                    subtractive: flags & 0x80 != 0,
                    gray_code: flags & 0x40 != 0,
                    format,
                    sizes,
                });
            }
            0x8E => in_mask = true,
            0xFE92 => content.data.extend_from_slice(data),
            0xFE9C => {
                let Some((&band, rest)) = data.split_first() else {
                    return Err(truncated("empty band image data"));
                };
                if band != 1 {
                    return Err(unsupported(format!("band image data of band {band}")));
                }
                content
                    .data
                    .extend_from_slice(rest.get(2..).unwrap_or_default());
            }
            0xFECE => content.subsampled = !data.is_empty(),
            0x8C | 0x8D | 0xB5 | 0xB6 | 0xB7 | 0xFEB8 | 0xFEBB => {
                return Err(unsupported(format!("tiled image ({})", field_name(code))))
            }
            // Begin Segment, LUT-ID, External Algorithm Specification, nColor Names, unknown.
            _ => {}
        }
    }
    match content {
        None => Err(malformed("no begin image content (x'91')")),
        Some(_) => Err(truncated("image content without its end (x'93')")),
    }
}

/// The IDD's data (the IOCA-defined descriptor): unit base, resolutions, size, and the
/// self-defining fields that may follow.
#[derive(Debug)]
struct Idd {
    unit_base: u8,
    x_resolution: u16,
    y_resolution: u16,
    x_size: u16,
    y_size: u16,
    /// The bilevel foreground colour, when it is neither black nor a default.
    foreground: Option<[u8; 3]>,
}

fn read_idd(idd: &[u8]) -> Result<Idd, IocaError> {
    let [unit_base, x0, x1, y0, y1, w0, w1, h0, h1, ref fields @ ..] = *idd else {
        return Err(truncated(format!(
            "image data descriptor of {} bytes (9 needed)",
            idd.len()
        )));
    };
    let mut foreground = None;
    let mut at = 0;
    // Set Bilevel Image Color (F6), Set Extended Bilevel Image Color (F4), function set (F7):
    // the last colour field wins; a field that cannot be read is ignored (IOCA appendix D).
    while let (Some(&code), Some(&length)) = (fields.get(at), fields.get(at + 1)) {
        let Some(data) = fields.get(at + 2..at + 2 + usize::from(length)) else {
            break;
        };
        at += 2 + usize::from(length);
        let color = match code {
            0xF6 => match *data {
                [0x00, _, c0, c1, ..] => Some(oca_color(u16::from_be_bytes([c0, c1]))),
                _ => None,
            },
            0xF4 => extended_color(data),
            _ => None,
        };
        if let Some(color) = color {
            foreground = color;
        }
    }
    Ok(Idd {
        unit_base,
        x_resolution: u16::from_be_bytes([x0, x1]),
        y_resolution: u16::from_be_bytes([y0, y1]),
        x_size: u16::from_be_bytes([w0, w1]),
        y_size: u16::from_be_bytes([h0, h1]),
        foreground: foreground.filter(|rgb| *rgb != [0, 0, 0]),
    })
}

/// A standard OCA colour (MO:DCA appendix A, table 43) as RGB; `None` for the defaults
/// (shown black). The colour of the medium is white.
fn oca_color(value: u16) -> Option<[u8; 3]> {
    Some(match value {
        0x0001 | 0xFF01 => [0, 0, 255],
        0x0002 | 0xFF02 => [255, 0, 0],
        0x0003 | 0xFF03 => [255, 0, 255],
        0x0004 | 0xFF04 => [0, 255, 0],
        0x0005 | 0xFF05 => [0, 255, 255],
        0x0006 | 0xFF06 => [255, 255, 0],
        0x0007 | 0xFF08 => [255, 255, 255],
        0x0008 => [0, 0, 0],
        0x0009 => [0, 0, 170],
        0x000A => [255, 128, 0],
        0x000B => [170, 0, 170],
        0x000C => [0, 146, 0],
        0x000D => [0, 146, 170],
        0x000E => [196, 160, 32],
        0x000F => [131, 131, 131],
        0x0010 => [144, 48, 0],
        _ => return None,
    })
}

/// Set Extended Bilevel Image Color (`F4`): `Some(colour)` when understood (RGB, CMYK,
/// standard OCA), `None` to ignore the field (highlight, CIELAB, reserved, cut short).
fn extended_color(data: &[u8]) -> Option<Option<[u8; 3]>> {
    let [_, space, _, _, _, _, s1, s2, s3, s4, ref value @ ..] = *data else {
        return None;
    };
    // Each component right-aligned in whole bytes, 1 to 8 bits (IOCA appendix D).
    let components = |sizes: &[u8]| -> Option<Vec<f32>> {
        let mut at = 0;
        sizes
            .iter()
            .map(|&bits| {
                if !(1..=8).contains(&bits) {
                    return None;
                }
                let v = *value.get(at)?;
                at += 1;
                let max = (1u16 << bits) - 1;
                Some(f32::from(u16::from(v).min(max)) / f32::from(max))
            })
            .collect()
    };
    let to_byte = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    match space {
        0x01 => {
            let c = components(&[s1, s2, s3])?;
            Some(Some([to_byte(c[0]), to_byte(c[1]), to_byte(c[2])]))
        }
        0x04 => {
            let c = components(&[s1, s2, s3, s4])?;
            let k = 1.0 - c[3];
            Some(Some([
                to_byte((1.0 - c[0]) * k),
                to_byte((1.0 - c[1]) * k),
                to_byte((1.0 - c[2]) * k),
            ]))
        }
        0x40 => {
            let [c0, c1, ..] = *value else { return None };
            Some(oca_color(u16::from_be_bytes([c0, c1])))
        }
        _ => None,
    }
}

/// Dots per inch from a unit base and points per unit base; `None` when unstated.
fn dpi_of(unit_base: u8, x: u16, y: u16) -> Option<(f32, f32)> {
    let per_inch = match unit_base {
        0x00 => 1.0,
        0x01 => 2.54,
        _ => return None,
    };
    let dpi = |v: u16| f32::from(v) / 10.0 * per_inch;
    let (x, y) = (dpi(x), dpi(y));
    let believable = |dpi: f32| (MIN_DPI..=MAX_DPI).contains(&dpi);
    (believable(x) && believable(y)).then_some((x, y))
}

fn check_pixels(width: u32, height: u32, limits: &ImageLimits) -> Result<(), IocaError> {
    if width == 0 || height == 0 {
        return Err(malformed(format!("image of {width}x{height} pixels")));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(IocaError::TooManyPixels {
            width: u64::from(width),
            height: u64::from(height),
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn jpeg(
    content: &Content,
    stated: Option<(f32, f32)>,
    limits: &ImageLimits,
) -> Result<ImagePage, IocaError> {
    let pages =
        image_pages(&content.data, ImageKind::Jpeg, limits).map_err(|error| match error {
            ImageError::TooManyPixels {
                width,
                height,
                limit,
                ..
            } => IocaError::TooManyPixels {
                width: u64::from(width),
                height: u64::from(height),
                limit,
            },
            other => IocaError::Jpeg(other),
        })?;
    let Some(mut page) = pages.into_iter().next() else {
        return Err(malformed("jpeg without an image"));
    };
    let (dpi_x, dpi_y) = stated.unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
    page.dpi_x = dpi_x;
    page.dpi_y = dpi_y;
    Ok(page)
}

/// The pixel layout of uncompressed image data elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    /// 1 bit, 1 = significant (black).
    Bilevel,
    /// Y only; additive: 0 is black.
    Gray {
        bits: u8,
        subtractive: bool,
    },
    Rgb {
        subtractive: bool,
    },
    /// 8-bit Y, Cb, Cr (or Y, Cr, Cb when `cr_first`), JFIF full range.
    YCbCr {
        cr_first: bool,
        subtractive: bool,
    },
    /// Additive CMYK is ink: 0 is white (IOCA appendix B), as in PDF.
    Cmyk {
        bits: u8,
        subtractive: bool,
    },
}

impl Model {
    fn bits_per_pixel(self) -> u32 {
        match self {
            Model::Bilevel => 1,
            Model::Gray { bits, .. } => u32::from(bits),
            Model::Rgb { .. } | Model::YCbCr { .. } => 24,
            Model::Cmyk { bits, .. } => 4 * u32::from(bits),
        }
    }
}

fn model(content: &Content) -> Result<Model, IocaError> {
    let Some(structure) = &content.structure else {
        return match content.ide_size.unwrap_or(1) {
            1 => Ok(Model::Bilevel),
            bits @ (2 | 4 | 8 | 16) => Ok(Model::Gray {
                bits,
                subtractive: false,
            }),
            bits => Err(unsupported(format!("{bits}-bit grey image data elements"))),
        };
    };
    if structure.gray_code {
        return Err(unsupported("gray-coded image data elements"));
    }
    let total: u32 = structure.sizes.iter().map(|&s| u32::from(s)).sum();
    if let Some(ide_size) = content.ide_size {
        if u32::from(ide_size) != total {
            return Err(malformed(format!(
                "ide structure sizes {:?} do not add up to the ide size {ide_size}",
                structure.sizes
            )));
        }
    }
    let subtractive = structure.subtractive;
    match (structure.format, structure.sizes.as_slice()) {
        // Bilevel ignores ASFLAG (IOCA appendix B).
        (0x02 | 0x12, [1]) => Ok(Model::Bilevel),
        (0x02 | 0x12, &[bits @ (2 | 4 | 8 | 16)]) => Ok(Model::Gray { bits, subtractive }),
        (0x02 | 0x12, [8, 8, 8]) => Ok(Model::YCbCr {
            cr_first: structure.format == 0x02,
            subtractive,
        }),
        (0x01, [8, 8, 8]) => Ok(Model::Rgb { subtractive }),
        (0x04, &[bits @ (1 | 8), b, c, d]) if [b, c, d] == [bits; 3] => {
            Ok(Model::Cmyk { bits, subtractive })
        }
        (0x80..=0x8F, _) => Err(unsupported("ncolor image")),
        (format @ (0x01 | 0x02 | 0x04 | 0x12), sizes) => Err(unsupported(format!(
            "{} image with component sizes {sizes:?}",
            match format {
                0x01 => "rgb",
                0x02 => "ycrcb",
                0x04 => "cmyk",
                _ => "ycbcr",
            }
        ))),
        (format, _) => Err(unsupported(format!("color model x'{format:02x}'"))),
    }
}

fn reversed_bits(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b.reverse_bits()).collect()
}

/// The data as recorded: bit order `01` reversed in every byte.
fn recorded_bytes(content: &Content) -> std::borrow::Cow<'_, [u8]> {
    if content.bit_order == 0x01 {
        std::borrow::Cow::Owned(reversed_bits(&content.data))
    } else {
        std::borrow::Cow::Borrowed(&content.data)
    }
}

fn ccitt(
    content: &Content,
    width: u32,
    height: u32,
    dpi: (f32, f32),
    foreground: Option<[u8; 3]>,
    limits: &ImageLimits,
) -> Result<ImagePage, IocaError> {
    let model = model(content)?;
    if model != Model::Bilevel {
        return Err(malformed(format!(
            "ccitt compression of {}-bit image data elements",
            model.bits_per_pixel()
        )));
    }
    if content.subsampled {
        return Err(unsupported("image subsampling"));
    }
    // RIDIC compresses rows padded to whole bytes (IOCA appendix F).
    let columns = match content.recording {
        0x01 => width.div_ceil(8) * 8,
        0x04 => width,
        other => {
            return Err(unsupported(format!(
                "recording algorithm x'{other:02x}' with ccitt compression"
            )))
        }
    };
    if columns == 0 {
        return Err(malformed("ccitt image without a width"));
    }
    let data = recorded_bytes(content).into_owned();
    let height = if height == 0 {
        if content.compression != 0x82 {
            return Err(unsupported("g3 image without a height"));
        }
        count_g4_rows(&data, columns, limits)?
    } else {
        height
    };
    check_pixels(columns, height, limits)?;
    let k = match content.compression {
        0x82 => -1,
        // Any K > 0 means mixed 1-D/2-D lines, each with its tag bit; the largest IOCA height
        // bounds the run of 2-D lines.
        0x81 => 32767,
        _ => 0,
    };
    let (color, black_is_1) = match foreground {
        Some(rgb) => (indexed(rgb), true),
        None => (PageColor::Gray, false),
    };
    Ok(ImagePage {
        width_px: columns,
        height_px: height,
        dpi_x: dpi.0,
        dpi_y: dpi.1,
        encoding: Encoding::CcittFax {
            k,
            black_is_1,
            encoded_byte_align: content.compression == 0x09,
        },
        color,
        bits_per_component: 1,
        inverted: false,
        data,
        smask: None,
        rotate: 0,
    })
}

/// White and the foreground colour: index 0 untoned, 1 significant.
fn indexed(rgb: [u8; 3]) -> PageColor {
    PageColor::Indexed(vec![255, 255, 255, rgb[0], rgb[1], rgb[2]])
}

/// The rows of a G4 stream (for a VSIZE of 0), up to its end-of-facsimile-block or the point
/// where it no longer decodes.
fn count_g4_rows(data: &[u8], columns: u32, limits: &ImageLimits) -> Result<u32, IocaError> {
    let Some(width) = u16::try_from(columns)
        .ok()
        .filter(|_| columns <= MAX_CCITT_COLUMNS)
    else {
        return Err(unsupported(format!(
            "g4 image {columns} pixels wide without a height"
        )));
    };
    let most = (limits.max_pixels / u64::from(columns)).min(u64::from(MAX_CCITT_COLUMNS));
    let input = data.iter().copied().map(Ok::<u8, Infallible>);
    let Ok(mut decoder) = Group4Decoder::new(input, width);
    let mut rows = 0u64;
    while rows < most {
        match decoder.advance() {
            Ok(DecodeStatus::Incomplete) => rows += 1,
            Ok(DecodeStatus::End) | Err(_) => break,
        }
    }
    if rows == 0 {
        return Err(malformed("g4 data without a decodable row"));
    }
    // `most` is at most 32767.
    Ok(rows as u32)
}

/// Uncompressed (or PackBits) image data elements → Flate rows.
fn raw(
    content: &Content,
    width: u32,
    height: u32,
    dpi: (f32, f32),
    foreground: Option<[u8; 3]>,
    limits: &ImageLimits,
) -> Result<ImagePage, IocaError> {
    let model = model(content)?;
    if content.subsampled {
        return Err(unsupported("image subsampling"));
    }
    if width == 0 {
        return Err(malformed("uncompressed image without a width"));
    }
    if height == 0 {
        return Err(unsupported("uncompressed image without a height"));
    }
    check_pixels(width, height, limits)?;
    let bpp = model.bits_per_pixel() as usize;
    let (width_px, height_px) = (width as usize, height as usize);
    let line_bits = width_px * bpp;
    let (stride_bits, bottom_up) = match content.recording {
        0x01 => (line_bits.div_ceil(8) * 8, false),
        0x04 => (line_bits, false),
        0x03 if content.compression == 0x03 => (line_bits.div_ceil(32) * 32, true),
        other => {
            return Err(unsupported(format!(
                "recording algorithm x'{other:02x}' with {} data",
                if content.compression == 0x03 {
                    "uncompressed"
                } else {
                    "packbits"
                }
            )))
        }
    };
    let recorded = recorded_bytes(content);
    let needed = stride_bits.saturating_mul(height_px).div_ceil(8);
    let source = if content.compression == 0x0C {
        std::borrow::Cow::Owned(unpack_bits(&recorded, needed))
    } else {
        recorded
    };
    let row_bytes = line_bits.div_ceil(8);
    let mut out = vec![0u8; row_bytes * height_px];
    let rows_present = (source.len().saturating_mul(8) / stride_bits.max(1)).min(height_px);
    for line in 0..rows_present {
        let row = if bottom_up {
            height_px - 1 - line
        } else {
            line
        };
        let start = row * row_bytes;
        if let Some(dst) = out.get_mut(start..start + row_bytes) {
            copy_bits(&source, line * stride_bits, dst, line_bits);
        }
    }
    // Rows in output order that had no data.
    let missing = |row: usize| {
        if bottom_up {
            height_px - 1 - row >= rows_present
        } else {
            row >= rows_present
        }
    };
    let (color, bits, inverted, white) = match model {
        Model::Bilevel => match foreground {
            Some(rgb) => (indexed(rgb), 1, false, 0x00),
            None => (PageColor::Gray, 1, true, 0x00),
        },
        Model::Gray { bits, subtractive } => (
            PageColor::Gray,
            bits,
            subtractive,
            if subtractive { 0x00 } else { 0xFF },
        ),
        Model::Rgb { subtractive } => {
            if subtractive {
                invert(&mut out);
            }
            (PageColor::Rgb, 8, false, 0xFF)
        }
        Model::YCbCr {
            cr_first,
            subtractive,
        } => {
            for pixel in out.chunks_exact_mut(3) {
                let y = if subtractive {
                    255 - pixel[0]
                } else {
                    pixel[0]
                };
                let (cb, cr) = if cr_first {
                    (pixel[2], pixel[1])
                } else {
                    (pixel[1], pixel[2])
                };
                pixel.copy_from_slice(&ycbcr_to_rgb(y, cb, cr));
            }
            (PageColor::Rgb, 8, false, 0xFF)
        }
        Model::Cmyk { bits, subtractive } => {
            if subtractive {
                invert(&mut out);
            }
            (PageColor::Cmyk, bits, false, 0x00)
        }
    };
    for (row, bytes) in out.chunks_exact_mut(row_bytes.max(1)).enumerate() {
        if missing(row) {
            bytes.fill(white);
        }
    }
    Ok(ImagePage {
        width_px: width,
        height_px: height,
        dpi_x: dpi.0,
        dpi_y: dpi.1,
        encoding: Encoding::Flate {
            png_predictor: false,
        },
        color,
        bits_per_component: bits,
        inverted,
        data: deflate(&out),
        smask: None,
        rotate: 0,
    })
}

fn invert(bytes: &mut [u8]) {
    for byte in bytes {
        *byte = !*byte;
    }
}

/// JFIF (full-range BT.601) YCbCr → RGB.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        byte(y + 1.402 * cr),
        byte(y - 0.344_136 * cb - 0.714_136 * cr),
        byte(y + 1.772 * cb),
    ]
}

/// Copies `bits` bits starting at bit `from` of `source` (most significant bit first) to the
/// start of `dst`, the bits past the end of `source` as 0 and the last byte's spare bits 0.
fn copy_bits(source: &[u8], from: usize, dst: &mut [u8], bits: usize) {
    let bytes = bits.div_ceil(8).min(dst.len());
    let first = from / 8;
    let shift = (from % 8) as u32;
    for (i, out) in dst.iter_mut().take(bytes).enumerate() {
        let high = source.get(first + i).copied().unwrap_or(0);
        *out = if shift == 0 {
            high
        } else {
            let low = source.get(first + i + 1).copied().unwrap_or(0);
            (high << shift) | (low >> (8 - shift))
        };
    }
    if !bits.is_multiple_of(8) && bytes == bits.div_ceil(8) {
        if let Some(last) = dst.get_mut(bytes - 1) {
            *last &= 0xFFu8 << (8 - bits % 8);
        }
    }
}

/// TIFF PackBits, decoded up to `limit` bytes.
fn unpack_bits(source: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit.min(source.len().saturating_mul(2)));
    let mut at = 0;
    while out.len() < limit {
        let Some(&header) = source.get(at) else { break };
        at += 1;
        let n = header as i8;
        if n >= 0 {
            let count = usize::from(header) + 1;
            let end = (at + count).min(source.len());
            out.extend_from_slice(source.get(at..end).unwrap_or_default());
            at = end;
        } else if n != -128 {
            let Some(&byte) = source.get(at) else { break };
            at += 1;
            let count = 1 + usize::from(n.unsigned_abs());
            out.extend(std::iter::repeat_n(byte, count));
        }
    }
    out.truncate(limit);
    out
}

use crate::image::deflate;

// ---------------------------------------------------------------------------------------------
// IM images
// ---------------------------------------------------------------------------------------------

/// An IM image (BII … EII): IID (D3A67B) data, then cells: each ICP (D3AC7B) data with the IRD
/// (D3EE7B) raster data that follows it; one cell when there is no ICP.
#[derive(Debug)]
pub(crate) struct ImImage {
    width: u32,
    height: u32,
    dpi: (f32, f32),
    /// Default cell size (IID bytes 28–31), 0 when none.
    cell_width: u16,
    cell_height: u16,
    foreground: Option<[u8; 3]>,
    cells: Vec<Cell>,
}

#[derive(Debug)]
struct Cell {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    fill_width: u32,
    fill_height: u32,
    data: Vec<u8>,
}

impl Cell {
    /// Bytes of the cell's raster with its rows padded to whole bytes: more is not kept.
    fn padded_len(&self) -> usize {
        (self.width as usize).div_ceil(8) * self.height as usize
    }

    /// Whether the raster holds rows padded to whole bytes rather than the architected
    /// unpadded bit stream.
    fn padded_rows(&self) -> bool {
        !self.width.is_multiple_of(8) && self.height > 1 && self.data.len() >= self.padded_len()
    }

    fn bit(&self, row: u32, column: u32, padded: bool) -> bool {
        let stride = if padded {
            u64::from(self.width.div_ceil(8) * 8)
        } else {
            u64::from(self.width)
        };
        let index = u64::from(row) * stride + u64::from(column);
        usize::try_from(index / 8)
            .ok()
            .and_then(|byte| self.data.get(byte))
            .is_some_and(|byte| byte & (0x80 >> (index % 8)) != 0)
    }
}

impl ImImage {
    /// Reads the Image Input Descriptor: resolution (bytes 12–17), size (18–21), default cell
    /// size (28–31, when present) and colour (34–35, when present).
    pub(crate) fn new(iid: &[u8]) -> Result<ImImage, IocaError> {
        let Some(&[x_base, y_base, x0, x1, y0, y1, w0, w1, h0, h1]) = iid.get(12..22) else {
            return Err(truncated(format!(
                "image input descriptor of {} bytes (22 needed)",
                iid.len()
            )));
        };
        let resolution = |base: u8, units: u16| dpi_of(base, units, units).map(|(dpi, _)| dpi);
        let dpi = match (
            resolution(x_base, u16::from_be_bytes([x0, x1])),
            resolution(y_base, u16::from_be_bytes([y0, y1])),
        ) {
            (Some(x), Some(y)) => (x, y),
            _ => (DEFAULT_DPI, DEFAULT_DPI),
        };
        let u16_at = |at: usize| {
            iid.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .unwrap_or(0)
        };
        Ok(ImImage {
            width: u32::from(u16::from_be_bytes([w0, w1])),
            height: u32::from(u16::from_be_bytes([h0, h1])),
            dpi,
            cell_width: u16_at(28),
            cell_height: u16_at(30),
            foreground: iid
                .get(34..36)
                .and_then(|c| oca_color(u16::from_be_bytes([c[0], c[1]])))
                .filter(|rgb| *rgb != [0, 0, 0]),
            cells: Vec::new(),
        })
    }

    /// Starts a cell: its offset (bytes 0–3), size (4–7, `FFFF` = the IID default) and fill
    /// rectangle (8–11, `FFFF` = the cell size).
    pub(crate) fn cell_position(&mut self, icp: &[u8]) -> Result<(), IocaError> {
        let Some(&[x0, x1, y0, y1, cw0, cw1, ch0, ch1, fw0, fw1, fh0, fh1]) = icp.get(..12) else {
            return Err(truncated(format!(
                "image cell position of {} bytes (12 needed)",
                icp.len()
            )));
        };
        let size = |value: u16, default: u16, axis: &str| match value {
            0xFFFF if default == 0 => Err(malformed(format!(
                "image cell {axis} size x'ffff' without a default in the image input descriptor"
            ))),
            0xFFFF => Ok(u32::from(default)),
            0 => Err(malformed(format!("image cell {axis} size 0"))),
            value => Ok(u32::from(value)),
        };
        let width = size(u16::from_be_bytes([cw0, cw1]), self.cell_width, "x")?;
        let height = size(u16::from_be_bytes([ch0, ch1]), self.cell_height, "y")?;
        let fill = |value: u16, cell: u32| match value {
            0xFFFF | 0 => cell,
            value => u32::from(value),
        };
        self.cells.push(Cell {
            x: u32::from(u16::from_be_bytes([x0, x1])),
            y: u32::from(u16::from_be_bytes([y0, y1])),
            width,
            height,
            fill_width: fill(u16::from_be_bytes([fw0, fw1]), width),
            fill_height: fill(u16::from_be_bytes([fh0, fh1]), height),
            data: Vec::new(),
        });
        Ok(())
    }

    /// Adds raster data to the current cell (the whole image when no ICP came first).
    pub(crate) fn raster(&mut self, ird: &[u8]) -> Result<(), IocaError> {
        if self.cells.is_empty() {
            if self.width == 0 || self.height == 0 {
                return Err(malformed(format!(
                    "raster data for an image of {}x{} points",
                    self.width, self.height
                )));
            }
            self.cells.push(Cell {
                x: 0,
                y: 0,
                width: self.width,
                height: self.height,
                fill_width: self.width,
                fill_height: self.height,
                data: Vec::new(),
            });
        }
        if let Some(cell) = self.cells.last_mut() {
            let room = cell.padded_len().saturating_sub(cell.data.len());
            cell.data
                .extend_from_slice(ird.get(..room.min(ird.len())).unwrap_or_default());
        }
        Ok(())
    }

    /// The image: every cell painted over its fill rectangle, 1 = significant.
    pub(crate) fn finish(self, limits: &ImageLimits) -> Result<ImagePage, IocaError> {
        let cells: Vec<&Cell> = self.cells.iter().filter(|c| !c.data.is_empty()).collect();
        if cells.is_empty() {
            return Err(truncated("im image without raster data"));
        }
        let (mut width, mut height) = (u64::from(self.width), u64::from(self.height));
        for cell in &cells {
            width = width.max(u64::from(cell.x) + u64::from(cell.fill_width));
            height = height.max(u64::from(cell.y) + u64::from(cell.fill_height));
        }
        // Offsets and sizes are u16: the sums fit in u32.
        let (width, height) = (width as u32, height as u32);
        check_pixels(width, height, limits)?;
        let painted: u64 = cells
            .iter()
            .map(|c| u64::from(c.fill_width) * u64::from(c.fill_height))
            .sum();
        if painted > limits.max_pixels.saturating_mul(4) {
            return Err(unsupported(format!(
                "image cells painting {painted} points, more than 4 times the pixel limit"
            )));
        }
        let row_bytes = width.div_ceil(8) as usize;
        let mut out = vec![0u8; row_bytes * height as usize];
        for cell in cells {
            let padded = cell.padded_rows();
            let rows = cell.y..(cell.y + cell.fill_height).min(height);
            let columns = cell.x..(cell.x + cell.fill_width).min(width);
            for y in rows {
                let row_start = y as usize * row_bytes;
                let Some(row) = out.get_mut(row_start..row_start + row_bytes) else {
                    continue;
                };
                let source_row = (y - cell.y) % cell.height;
                for x in columns.clone() {
                    if cell.bit(source_row, (x - cell.x) % cell.width, padded) {
                        if let Some(byte) = row.get_mut(x as usize / 8) {
                            *byte |= 0x80 >> (x % 8);
                        }
                    }
                }
            }
        }
        let (color, inverted) = match self.foreground {
            Some(rgb) => (indexed(rgb), false),
            None => (PageColor::Gray, true),
        };
        Ok(ImagePage {
            width_px: width,
            height_px: height,
            dpi_x: self.dpi.0,
            dpi_y: self.dpi.1,
            encoding: Encoding::Flate {
                png_predictor: false,
            },
            color,
            bits_per_component: 1,
            inverted,
            data: deflate(&out),
            smask: None,
            rotate: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use fax::encoder::Encoder;
    use fax::{Color, VecWriter};

    use super::*;

    /// The IPD of `fop_euro_cp1147.afp` (shared/samples/ibmi/afp, written by Apache FOP with
    /// `images mode="b+w"`): a 160×48 bilevel logo, uncompressed, 72 dpi.
    const FOP_BILEVEL_IPD: &str = concat!(
        "70009101ff94090002d002d000a0003095020301fe9203c0000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000ffffffffffffffffffffffffffffffffffffff00ffffffffffffffffffffffffffffffffffffff0",
        "0ffffffffffffffffffffffffffffffffffffff00ffffffffffffffffffffffffffffffffffffff00fffffffff000000",
        "0000000000000000000000000fffffffff0000000000000000000000000000000fffffffff0000000000000000000000",
        "000000000fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffff",
        "ff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003f",
        "f003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff",
        "0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff0",
        "03ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff00",
        "3ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffff",
        "ff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003f",
        "f003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff",
        "0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff0",
        "03ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff00",
        "3ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffffff003ff003ff003ff003ff003ff003ff0fffffff",
        "ff003ff003ff003ff003ff003ff003ff0fffffffff0000000000000000000000000000000fffffffff00000000000000",
        "00000000000000000ffffffffffffffffffffffffffffffffffffff00ffffffffffffffffffffffffffffffffffffff0",
        "0ffffffffffffffffffffffffffffffffffffff00ffffffffffffffffffffffffffffffffffffff00000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000000000000000000000093007100",
    );
    /// Its IDD: 720 points per 10 inches, 160×48, function set 10.
    const FOP_BILEVEL_IDD: &str = "0002d002d000a00030f702010a";

    /// The product brief's samples and corpora, beside the checkout (as in CI).
    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/samples/ibmi/afp");
    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpora/afp");

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    fn limits() -> ImageLimits {
        ImageLimits::default()
    }

    /// The structured fields of an AFP file: (id, data), walking `5A` + length.
    fn structured_fields(afp: &[u8]) -> Vec<([u8; 3], &[u8])> {
        let mut fields = Vec::new();
        let mut at = 0;
        while at + 9 <= afp.len() {
            assert_eq!(afp[at], 0x5A, "structured field introducer at {at}");
            let length = usize::from(u16::from_be_bytes([afp[at + 1], afp[at + 2]]));
            let id = [afp[at + 3], afp[at + 4], afp[at + 5]];
            let flags = afp[at + 6];
            let mut start = at + 9;
            if flags & 0x80 != 0 {
                start += usize::from(afp[start]);
            }
            let end = at + 1 + length;
            fields.push((id, &afp[start..end]));
            at = end;
        }
        fields
    }

    /// The first IOCA image object's IPD data (its IPD fields concatenated) and IDD data.
    fn first_image(afp: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut ipd = Vec::new();
        let mut idd = None;
        let mut inside = false;
        for (id, data) in structured_fields(afp) {
            match id {
                [0xD3, 0xA8, 0xFB] => inside = true,
                [0xD3, 0xA9, 0xFB] if inside => break,
                [0xD3, 0xA6, 0xFB] if inside => idd = Some(data.to_vec()),
                [0xD3, 0xEE, 0xFB] if inside => ipd.extend_from_slice(data),
                _ => {}
            }
        }
        (ipd, idd)
    }

    /// A sample of ../shared; its absence fails the test (never a silent skip).
    fn read_sample(dir: &str, name: &str) -> Option<Vec<u8>> {
        let path = format!("{dir}/{name}");
        match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                panic!("{path}: {error} (the shared samples must sit beside the checkout)")
            }
        }
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn bit(rows: &[u8], row_bytes: usize, x: usize, y: usize) -> bool {
        rows[y * row_bytes + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// A segment around one Image Data field, with the given parameters in between.
    fn segment(parameters: &[u8], data: &[u8]) -> Vec<u8> {
        let mut ipd = hex("70009101ff");
        ipd.extend_from_slice(parameters);
        for chunk in data.chunks(0xFFFF) {
            ipd.extend_from_slice(&[0xFE, 0x92]);
            ipd.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            ipd.extend_from_slice(chunk);
        }
        ipd.extend_from_slice(&hex("93007100"));
        ipd
    }

    fn size_240(width: u16, height: u16) -> Vec<u8> {
        let mut field = hex("94090009600960");
        field.extend_from_slice(&width.to_be_bytes());
        field.extend_from_slice(&height.to_be_bytes());
        field
    }

    /// The logo of the samples as dark (true) / light pixels, from `logo.png`.
    fn logo_dark_pixels() -> Option<Vec<bool>> {
        let png = read_sample(SAMPLES, "logo.png")?;
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!((info.width, info.height), (160, 48));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        Some(
            buffer[..info.buffer_size()]
                .chunks_exact(3)
                .map(|p| {
                    (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000
                        < 128
                })
                .collect(),
        )
    }

    #[test]
    fn fop_bilevel_logo() {
        let ipd = hex(FOP_BILEVEL_IPD);
        let idd = hex(FOP_BILEVEL_IDD);
        let page = decode_ioca(&ipd, Some(&idd), &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (160, 48));
        assert_eq!((page.dpi_x, page.dpi_y), (72.0, 72.0));
        assert_eq!(
            page.encoding,
            Encoding::Flate {
                png_predictor: false
            }
        );
        assert_eq!(page.color, PageColor::Gray);
        assert_eq!(page.bits_per_component, 1);
        assert!(page.inverted, "bilevel 1 is black: /Decode [1 0]");
        let rows = inflate(&page.data);
        assert_eq!(rows.len(), 20 * 48);
        let dark: u32 = rows.iter().map(|b| b.count_ones()).sum();
        assert_eq!(dark, 3988);
        assert!(!bit(&rows, 20, 0, 0));
        assert!(!bit(&rows, 20, 3, 4) && bit(&rows, 20, 4, 4));
        assert!(bit(&rows, 20, 155, 4) && !bit(&rows, 20, 156, 4));
        assert!(bit(&rows, 20, 39, 12) && !bit(&rows, 20, 40, 12));
        assert!(!bit(&rows, 20, 49, 12) && bit(&rows, 20, 50, 12));
        // Without the IDD, the Image Size parameter says the same.
        let alone = decode_ioca(&ipd, None, &limits()).unwrap();
        assert_eq!((alone.width_px, alone.dpi_x), (160, 72.0));
        assert_eq!(alone.data, page.data);
        if let Some(logo) = logo_dark_pixels() {
            for y in 0..48 {
                for x in 0..160 {
                    assert_eq!(bit(&rows, 20, x, y), logo[y * 160 + x], "pixel {x},{y}");
                }
            }
        }
    }

    #[test]
    fn fop_grey_logo() {
        let Some(afp) = read_sample(SAMPLES, "fop_invoices_tle_ioca_ipo.afp") else {
            return;
        };
        let (ipd, idd) = first_image(&afp);
        assert!(ipd.starts_with(&hex("70009101ff94090002d002d000a00030950203019601089b")));
        assert_eq!(idd.as_deref(), Some(&hex("0002d002d000a00030f702010b")[..]));
        let page = decode_ioca(&ipd, idd.as_deref(), &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (160, 48));
        assert_eq!((page.dpi_x, page.dpi_y), (72.0, 72.0));
        assert_eq!(page.encoding_name(), "flate");
        assert_eq!(page.color, PageColor::Gray);
        assert_eq!(page.bits_per_component, 8);
        assert!(!page.inverted, "additive grey: 0 is black");
        let grey = inflate(&page.data);
        assert_eq!(grey.len(), 160 * 48);
        assert_eq!(grey.iter().filter(|&&v| v < 128).count(), 3988);
        if let Some(logo) = logo_dark_pixels() {
            let differ = grey
                .iter()
                .zip(&logo)
                .filter(|(v, dark)| (**v < 128) != **dark)
                .count();
            assert_eq!(differ, 0);
        }
    }

    #[test]
    fn every_prefix_of_the_samples_is_an_error_or_the_image() {
        let mut samples = vec![hex(FOP_BILEVEL_IPD)];
        if let Some(afp) = read_sample(SAMPLES, "fop_invoices_tle_ioca_ipo.afp") {
            samples.push(first_image(&afp).0);
        }
        for ipd in samples {
            let whole = decode_ioca(&ipd, None, &limits()).unwrap();
            for cut in 0..ipd.len() {
                let result = decode_ioca(&ipd[..cut], None, &limits());
                // Only the End Segment (71 00) may be missing.
                if cut < ipd.len() - 2 {
                    assert!(result.is_err(), "prefix of {cut} bytes decoded");
                } else {
                    assert_eq!(result.unwrap().data, whole.data);
                }
            }
        }
    }

    #[test]
    fn garbage_and_mutations_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let small = ImageLimits {
            max_pixels: 1 << 20,
            max_pages: 1,
        };
        for _ in 0..3000 {
            let length = (next() % 64) as usize;
            let mut bytes: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            let _ = decode_ioca(&bytes, Some(&bytes), &small);
            // The same behind a valid start, so that the parameters are read.
            let mut ipd = hex("70009101ff");
            ipd.append(&mut bytes);
            let _ = decode_ioca(&ipd, None, &small);
            if let Ok(mut image) = ImImage::new(&ipd) {
                let _ = image.cell_position(&ipd[5..]);
                let _ = image.raster(&ipd);
                let _ = image.finish(&small);
            }
        }
        let sample = hex(FOP_BILEVEL_IPD);
        for at in 0..sample.len().min(40) {
            for value in [
                0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x12, 0x7F, 0x80, 0x82, 0xFE, 0xFF,
            ] {
                let mut mutated = sample.clone();
                mutated[at] = value;
                let _ = decode_ioca(&mutated, None, &small);
            }
        }
    }

    #[test]
    fn truncated_and_malformed_inputs_are_errors() {
        let small = limits();
        assert!(matches!(
            decode_ioca(&[], None, &small),
            Err(IocaError::Malformed { .. })
        ));
        assert!(matches!(
            decode_ioca(&hex("7000"), None, &small),
            Err(IocaError::Malformed { .. })
        ));
        assert!(matches!(
            decode_ioca(&hex("70009101ff9409"), None, &small),
            Err(IocaError::Truncated { .. })
        ));
        assert!(matches!(
            decode_ioca(&hex("70009101fffe9200"), None, &small),
            Err(IocaError::Truncated { .. })
        ));
        // No image data.
        let error = decode_ioca(&segment(&size_240(8, 8), &[]), None, &small).unwrap_err();
        assert_eq!(error.to_string(), "truncated image: no image data");
        // No size anywhere.
        let error = decode_ioca(&segment(&[], &[0xFF; 8]), None, &small).unwrap_err();
        assert!(matches!(error, IocaError::Malformed { .. }), "{error}");
        // A short IDD.
        let ipd = segment(&size_240(8, 1), &[0xFF]);
        assert!(matches!(
            decode_ioca(&ipd, Some(&[0, 9]), &small),
            Err(IocaError::Truncated { .. })
        ));
        let error = decode_ioca(
            &hex(FOP_BILEVEL_IPD),
            None,
            &ImageLimits {
                max_pixels: 1000,
                max_pages: 1,
            },
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "image of 160x48 pixels, more than the limit of 1000"
        );
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        let cases: [(&str, &str); 6] = [
            ("95020101", "ibm mmr compression (x'01')"),
            ("95020d01", "tiff lzw compression (x'0d')"),
            ("95020801", "abic compression (x'08')"),
            ("95028401", "jbig2 compression (x'84')"),
            ("96010898020201", "band image with 2 bands"),
            ("9b06c01200000008960108", "gray-coded image data elements"),
        ];
        for (parameters, what) in cases {
            let mut fields = size_240(8, 8);
            fields.extend_from_slice(&hex(parameters));
            let error = decode_ioca(&segment(&fields, &[0; 64]), None, &limits()).unwrap_err();
            assert_eq!(error.to_string(), format!("unsupported image: {what}"));
        }
        // Tiles.
        let ipd = hex("70009101fffebb0002000093007100");
        let error = decode_ioca(&ipd, None, &limits()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unsupported image: tiled image (tile toc parameter (x'febb'))"
        );
    }

    #[test]
    fn ipdspan_image_data_of_length_zero_runs_to_the_end() {
        // The afplib fixture's shape, small: FE92 0000, the data in the next IPD.
        let mut ipd = hex("70009101ff940900096009600010000295020301960101970100fe920000");
        ipd.extend_from_slice(&[0xF0, 0x0F, 0x0F, 0xF0]);
        ipd.extend_from_slice(&hex("93007100"));
        let page = decode_ioca(&ipd, None, &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (16, 2));
        assert_eq!(inflate(&page.data), [0xF0, 0x0F, 0x0F, 0xF0]);

        let Some(afp) = read_sample(CORPUS, "IPDSpan.afp") else {
            return;
        };
        let (ipd, idd) = first_image(&afp);
        let page = decode_ioca(&ipd, idd.as_deref(), &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (1344, 30));
        assert_eq!((page.dpi_x, page.dpi_y), (240.0, 240.0));
        assert_eq!((page.bits_per_component, page.inverted), (1, true));
        let rows = inflate(&page.data);
        assert_eq!(rows.len(), 168 * 30);
        // A curve: the first row starts black at column 95, the last at column 4.
        assert!(!bit(&rows, 168, 94, 0) && bit(&rows, 168, 95, 0));
        assert!(!bit(&rows, 168, 3, 29) && bit(&rows, 168, 4, 29));
    }

    /// A 21×13 bilevel test picture, 1 = black.
    fn picture(x: usize, y: usize) -> bool {
        (x + y).is_multiple_of(5) || (x > 10 && y > 6)
    }

    fn encode_g4(width: usize, height: usize, columns: u16) -> Vec<u8> {
        let mut encoder = Encoder::new(VecWriter::new());
        for y in 0..height {
            let colors = (0..usize::from(columns)).map(|x| {
                if x < width && picture(x, y) {
                    Color::Black
                } else {
                    Color::White
                }
            });
            encoder.encode_line(colors, columns).unwrap();
        }
        encoder.finish().unwrap().finish()
    }

    fn decode_g4(data: &[u8], columns: u16, height: usize) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        fax::decoder::decode_g4(data.iter().copied(), columns, Some(height as u16), |line| {
            rows.push(
                fax::decoder::pels(line, columns)
                    .map(|c| c == Color::Black)
                    .collect(),
            );
        });
        rows
    }

    #[test]
    fn g4_round_trip() {
        // RIDIC: a 21-point-wide image is compressed 24 columns wide.
        let g4 = encode_g4(21, 13, 24);
        let mut fields = size_240(21, 13);
        fields.extend_from_slice(&hex("9503820100960101"));
        let page = decode_ioca(&segment(&fields, &g4), None, &limits()).unwrap();
        assert_eq!(
            page.encoding,
            Encoding::CcittFax {
                k: -1,
                black_is_1: false,
                encoded_byte_align: false
            }
        );
        assert_eq!((page.width_px, page.height_px), (24, 13));
        assert_eq!((page.dpi_x, page.dpi_y), (240.0, 240.0));
        assert_eq!(
            (page.color.clone(), page.bits_per_component),
            (PageColor::Gray, 1)
        );
        assert!(!page.inverted);
        assert_eq!(page.data, g4);
        let rows = decode_g4(&page.data, 24, 13);
        assert_eq!(rows.len(), 13);
        for (y, row) in rows.iter().enumerate() {
            for (x, &black) in row.iter().enumerate() {
                assert_eq!(black, x < 21 && picture(x, y), "pixel {x},{y}");
            }
        }

        // VSIZE 0: the rows are counted.
        let mut fields = size_240(21, 0);
        fields.extend_from_slice(&hex("95028201"));
        let page = decode_ioca(&segment(&fields, &g4), None, &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (24, 13));

        // Unpadded RIDIC: the width as it is; bit order right-to-left is undone.
        let g4 = encode_g4(21, 13, 21);
        let reversed: Vec<u8> = g4.iter().map(|b| b.reverse_bits()).collect();
        let mut fields = size_240(21, 13);
        fields.extend_from_slice(&hex("9503820401"));
        let page = decode_ioca(&segment(&fields, &reversed), None, &limits()).unwrap();
        assert_eq!((page.width_px, &page.data), (21, &g4));

        // G3 flavours.
        for (code, k, align) in [("80", 0, false), ("81", 32767, false), ("09", 0, true)] {
            let mut fields = size_240(16, 2);
            fields.extend_from_slice(&hex(&format!("9502{code}01")));
            let page = decode_ioca(&segment(&fields, &[0; 4]), None, &limits()).unwrap();
            assert_eq!(
                page.encoding,
                Encoding::CcittFax {
                    k,
                    black_is_1: false,
                    encoded_byte_align: align
                }
            );
        }
        // CCITT of grey data is refused.
        let mut fields = size_240(16, 2);
        fields.extend_from_slice(&hex("95028201960108"));
        assert!(decode_ioca(&segment(&fields, &g4), None, &limits()).is_err());
    }

    #[test]
    fn bilevel_foreground_colour_from_the_idd() {
        let mut fields = size_240(8, 1);
        fields.extend_from_slice(&hex("95020301"));
        let ipd = segment(&fields, &[0xA5]);
        // F6: red.
        let idd = hex("000960096000080001f60400000002");
        let page = decode_ioca(&ipd, Some(&idd), &limits()).unwrap();
        assert_eq!(
            page.color,
            PageColor::Indexed(vec![255, 255, 255, 255, 0, 0])
        );
        assert!(!page.inverted);
        assert_eq!(inflate(&page.data), [0xA5]);
        // F4: RGB 8-bit dark blue; black stays grey.
        let idd = hex("000960096000080001f40d00010000000008080800102a6b");
        let page = decode_ioca(&ipd, Some(&idd), &limits()).unwrap();
        assert_eq!(
            page.color,
            PageColor::Indexed(vec![255, 255, 255, 0x10, 0x2A, 0x6B])
        );
        let idd = hex("000960096000080001f60400000008");
        let page = decode_ioca(&ipd, Some(&idd), &limits()).unwrap();
        assert_eq!((page.color, page.inverted), (PageColor::Gray, true));
        // The IDD resolution wins over the image's, and its size fills an Image Size of 0.
        let mut fields = hex("940900012c012c00000000");
        fields.extend_from_slice(&hex("95020301"));
        let ipd = segment(&fields, &[0xFF]);
        let page = decode_ioca(&ipd, Some(&hex("0101f401f400080001")), &limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (8, 1));
        assert_eq!((page.dpi_x, page.dpi_y), (50.0 * 2.54, 50.0 * 2.54));
    }

    #[test]
    fn recording_algorithms_and_colour_models() {
        // Unpadded RIDIC, 1 bit: 5-point rows run on across bytes.
        let mut fields = size_240(5, 3);
        fields.extend_from_slice(&hex("95020304"));
        // Rows 10110 01101 11111, then padding.
        let page = decode_ioca(
            &segment(&fields, &[0b1011_0011, 0b0111_1110]),
            None,
            &limits(),
        )
        .unwrap();
        assert_eq!(inflate(&page.data), [0b1011_0000, 0b0110_1000, 0b1111_1000]);

        // Bottom-to-top, 8-bit grey, rows padded to 32 bits.
        let mut fields = size_240(3, 2);
        fields.extend_from_slice(&hex("95020303960108"));
        let page = decode_ioca(
            &segment(&fields, &[1, 2, 3, 0, 4, 5, 6, 0]),
            None,
            &limits(),
        )
        .unwrap();
        assert_eq!(inflate(&page.data), [4, 5, 6, 1, 2, 3]);

        // Short data: the missing rows are white.
        let mut fields = size_240(2, 3);
        fields.extend_from_slice(&hex("960108"));
        let page = decode_ioca(&segment(&fields, &[9, 9, 7]), None, &limits()).unwrap();
        assert_eq!(inflate(&page.data), [9, 9, 255, 255, 255, 255]);

        // Subtractive grey: /Decode [1 0].
        let mut fields = size_240(2, 1);
        fields.extend_from_slice(&hex("9601089b06801200000008"));
        let page = decode_ioca(&segment(&fields, &[0, 255]), None, &limits()).unwrap();
        assert_eq!((page.color, page.inverted), (PageColor::Gray, true));

        // RGB.
        let mut fields = size_240(1, 2);
        fields.extend_from_slice(&hex("9601189b080001000000080808"));
        let ipd = segment(&fields, &[1, 2, 3, 4, 5, 6]);
        let page = decode_ioca(&ipd, None, &limits()).unwrap();
        assert_eq!((page.color, page.bits_per_component), (PageColor::Rgb, 8));
        assert_eq!(inflate(&page.data), [1, 2, 3, 4, 5, 6]);

        // YCbCr becomes RGB.
        let mut fields = size_240(2, 1);
        fields.extend_from_slice(&hex("9601189b080012000000080808"));
        let page = decode_ioca(
            &segment(&fields, &[255, 128, 128, 0, 128, 128]),
            None,
            &limits(),
        )
        .unwrap();
        assert_eq!(page.color, PageColor::Rgb);
        assert_eq!(inflate(&page.data), [255, 255, 255, 0, 0, 0]);

        // CMYK, 1 bit a component.
        let mut fields = size_240(2, 1);
        fields.extend_from_slice(&hex("9601049b09000400000001010101"));
        let page = decode_ioca(&segment(&fields, &[0x1F]), None, &limits()).unwrap();
        assert_eq!((page.color, page.bits_per_component), (PageColor::Cmyk, 1));
        assert_eq!(inflate(&page.data), [0x1F]);

        // PackBits: 3 literal bytes, then 0xAA five times.
        let mut fields = size_240(8, 8);
        fields.extend_from_slice(&hex("95020c01"));
        let page = decode_ioca(
            &segment(&fields, &[2, 1, 2, 3, 0xFC, 0xAA]),
            None,
            &limits(),
        )
        .unwrap();
        assert_eq!(inflate(&page.data), [1, 2, 3, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);

        // A transparency mask is skipped, its data not taken for the image's.
        let mut fields = size_240(8, 1);
        fields.extend_from_slice(&hex("8e00940900096009600008000195020301fe920001ff8f00"));
        let page = decode_ioca(&segment(&fields, &[0x81]), None, &limits()).unwrap();
        assert_eq!(inflate(&page.data), [0x81]);
    }

    fn iid(width: u16, height: u16, cell: (u16, u16), color: u16) -> Vec<u8> {
        let mut iid = hex("000009600960000000000000");
        iid.extend_from_slice(&[0, 0]);
        iid.extend_from_slice(&0x0960u16.to_be_bytes());
        iid.extend_from_slice(&0x0960u16.to_be_bytes());
        iid.extend_from_slice(&width.to_be_bytes());
        iid.extend_from_slice(&height.to_be_bytes());
        iid.extend_from_slice(&hex("000000002d00"));
        iid.extend_from_slice(&cell.0.to_be_bytes());
        iid.extend_from_slice(&cell.1.to_be_bytes());
        iid.extend_from_slice(&hex("0001"));
        iid.extend_from_slice(&color.to_be_bytes());
        iid
    }

    #[test]
    fn im_simple_image() {
        // 10×2 points, rows not padded: 1100000011 0000110000.
        let mut image = ImImage::new(&iid(10, 2, (0, 0), 0xFFFF)).unwrap();
        image.raster(&[0b1100_0000]).unwrap();
        image.raster(&[0b1100_0011, 0b0000_0000]).unwrap();
        let page = image.finish(&limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (10, 2));
        assert_eq!((page.dpi_x, page.dpi_y), (240.0, 240.0));
        assert_eq!((page.color.clone(), page.inverted), (PageColor::Gray, true));
        assert_eq!(
            inflate(&page.data),
            [0b1100_0000, 0b1100_0000, 0b0000_1100, 0]
        );

        // The same rows padded to whole bytes are recognised by their length.
        let mut image = ImImage::new(&iid(10, 2, (0, 0), 0x0002)).unwrap();
        image
            .raster(&[0b1100_0000, 0b1100_0000, 0b0000_1100, 0])
            .unwrap();
        let page = image.finish(&limits()).unwrap();
        assert_eq!(
            inflate(&page.data),
            [0b1100_0000, 0b1100_0000, 0b0000_1100, 0]
        );
        assert_eq!(
            page.color,
            PageColor::Indexed(vec![255, 255, 255, 255, 0, 0])
        );

        assert!(matches!(
            ImImage::new(&[0; 21]),
            Err(IocaError::Truncated { .. })
        ));
        let image = ImImage::new(&iid(10, 2, (0, 0), 0)).unwrap();
        assert!(matches!(
            image.finish(&limits()),
            Err(IocaError::Truncated { .. })
        ));
    }

    #[test]
    fn im_celled_image() {
        // A 2×2 checker cell repeated over a 5×3 fill rectangle at (1, 1), and a second
        // cell of the default 8×1 size at (0, 5).
        let mut image = ImImage::new(&iid(0, 0, (8, 1), 0xFFFF)).unwrap();
        let icp = |x: u16, y: u16, w: u16, h: u16, fw: u16, fh: u16| {
            [x, y, w, h, fw, fh]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect::<Vec<u8>>()
        };
        image.cell_position(&icp(1, 1, 2, 2, 5, 3)).unwrap();
        image.raster(&[0b1001_0000]).unwrap();
        image
            .cell_position(&icp(0, 5, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF))
            .unwrap();
        image.raster(&[0xFF]).unwrap();
        let page = image.finish(&limits()).unwrap();
        assert_eq!((page.width_px, page.height_px), (8, 6));
        assert_eq!(
            inflate(&page.data),
            [
                0b0000_0000,
                0b0101_0100,
                0b0010_1000,
                0b0101_0100,
                0b0000_0000,
                0b1111_1111
            ]
        );
        let mut image = ImImage::new(&iid(0, 0, (0, 0), 0)).unwrap();
        assert!(image.cell_position(&icp(0, 0, 0xFFFF, 1, 1, 1)).is_err());
        assert!(image.cell_position(&[0; 11]).is_err());
        let mut huge = ImImage::new(&iid(0, 0, (0, 0), 0)).unwrap();
        huge.cell_position(&icp(0, 0, 1, 1, 0x7FFF, 0x7FFF))
            .unwrap();
        huge.raster(&[0x80]).unwrap();
        assert!(matches!(
            huge.finish(&ImageLimits {
                max_pixels: 1 << 20,
                max_pages: 1
            }),
            Err(IocaError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn jpeg_is_kept_as_it_is() {
        let jpeg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../samples/scans/facture-rgb.jpg"
        ))
        .unwrap();
        let fields = hex("9409000960096000000000950283019601");
        let fields = [fields, vec![0x18]].concat();
        let page = decode_ioca(&segment(&fields, &jpeg), None, &limits()).unwrap();
        assert_eq!(
            page.encoding,
            Encoding::Dct {
                adobe_inverted: false
            }
        );
        assert_eq!(page.color, PageColor::Rgb);
        assert_eq!((page.dpi_x, page.dpi_y), (240.0, 240.0));
        assert!(jpeg.starts_with(&page.data));
        assert!(page.width_px > 100 && page.height_px > 100);
        let error = decode_ioca(&segment(&fields, b"not a jpeg"), None, &limits()).unwrap_err();
        assert!(matches!(error, IocaError::Jpeg(_)), "{error}");
    }
}
