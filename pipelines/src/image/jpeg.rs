//! JPEG files: the markers are read for size, components and resolution, and the file's bytes
//! (up to its end-of-image marker) go into the PDF as `/DCTDecode`. Pixels only for OCR
//! bitmaps, through zune-jpeg.

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::bitmap::Bitmap;
use super::{check_pixels, resolution, Encoding, ImageError, ImageLimits, ImagePage, PageColor};

/// What the markers say.
struct Header {
    width: u32,
    height: u32,
    components: u8,
    adobe: bool,
    dpi: Option<(f64, f64)>,
    /// Length of the file up to and with its EOI marker.
    end: usize,
}

pub(super) fn page(bytes: &[u8], limits: &ImageLimits) -> Result<ImagePage, ImageError> {
    let header = header(bytes)?;
    check_pixels(0, header.width, header.height, limits)?;
    let color = match header.components {
        1 => PageColor::Gray,
        3 => PageColor::Rgb,
        4 => PageColor::Cmyk,
        n => return Err(unsupported(&format!("{n} components"))),
    };
    let (dpi_x, dpi_y) = resolution(header.dpi);
    Ok(ImagePage {
        width_px: header.width,
        height_px: header.height,
        dpi_x,
        dpi_y,
        encoding: Encoding::Dct {
            adobe_inverted: header.adobe && header.components == 4,
        },
        color,
        bits_per_component: 8,
        inverted: false,
        data: bytes[..header.end].to_vec(),
        smask: None,
        rotate: 0,
    })
}

pub(super) fn bitmap(bytes: &[u8], limits: &ImageLimits) -> Result<Bitmap, ImageError> {
    let header = header(bytes)?;
    check_pixels(0, header.width, header.height, limits)?;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(header.width as usize)
        .set_max_height(header.height as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(&bytes[..header.end]), options);
    let data = decoder.decode().map_err(|error| ImageError::Malformed {
        kind: "jpeg",
        what: error.to_string().to_lowercase(),
    })?;
    if data.len() != header.width as usize * header.height as usize {
        return Err(ImageError::Malformed {
            kind: "jpeg",
            what: "decoded size differs from the header".into(),
        });
    }
    Ok(Bitmap::Gray {
        width: header.width,
        height: header.height,
        data,
    })
}

fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(malformed("no start-of-image marker"));
    }
    let mut frame: Option<(u32, u32, u8)> = None;
    let mut adobe = false;
    let mut jfif: Option<(f64, f64)> = None;
    let mut exif: Option<(f64, f64)> = None;
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(truncated("no start-of-scan marker"));
        };
        at += 2;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        let Some(length) = bytes
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return Err(truncated("marker without its length"));
        };
        if length < 2 {
            return Err(malformed("marker segment shorter than its length field"));
        }
        let Some(segment) = bytes.get(at + 2..at + length) else {
            return Err(truncated("marker segment cut short"));
        };
        match marker {
            0xC0..=0xC2 => {
                let [precision, h0, h1, w0, w1, components, ..] = *segment else {
                    return Err(malformed("short frame header"));
                };
                if precision != 8 {
                    return Err(unsupported(&format!("{precision}-bit samples")));
                }
                let height = u32::from(u16::from_be_bytes([h0, h1]));
                let width = u32::from(u16::from_be_bytes([w0, w1]));
                if height == 0 {
                    return Err(unsupported("height given by a DNL marker"));
                }
                frame = Some((width, height, components));
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(unsupported(
                    "lossless, hierarchical or arithmetic-coded jpeg",
                ));
            }
            0xE0 if segment.starts_with(b"JFIF\0") => jfif = jfif_density(segment),
            0xE1 if segment.starts_with(b"Exif\0\0") => exif = exif_density(&segment[6..]),
            0xEE if segment.starts_with(b"Adobe") => adobe = true,
            0xD9 => return Err(truncated("end of image before any scan")),
            0xDA => break,
            _ => {}
        }
        at += length;
    }
    let Some((width, height, components)) = frame else {
        return Err(malformed("no frame header before the scan"));
    };
    let Some(eoi) = memchr::memmem::rfind(&bytes[at..], &[0xFF, 0xD9]) else {
        return Err(truncated("no end-of-image marker"));
    };
    Ok(Header {
        width,
        height,
        components,
        adobe,
        dpi: jfif.or(exif),
        end: at + eoi + 2,
    })
}

/// JFIF density: units 1 = dots per inch, 2 = per cm, 0 = aspect ratio only.
fn jfif_density(segment: &[u8]) -> Option<(f64, f64)> {
    let [_, _, _, _, _, _, _, units, x0, x1, y0, y1, ..] = *segment else {
        return None;
    };
    let per_inch = match units {
        1 => 1.0,
        2 => 2.54,
        _ => return None,
    };
    let x = f64::from(u16::from_be_bytes([x0, x1])) * per_inch;
    let y = f64::from(u16::from_be_bytes([y0, y1])) * per_inch;
    Some((x, y))
}

/// XResolution, YResolution and ResolutionUnit of an EXIF block's first IFD (a little TIFF).
fn exif_density(tiff: &[u8]) -> Option<(f64, f64)> {
    let big = match tiff.get(..4)? {
        [b'M', b'M', 0, 42] => true,
        [b'I', b'I', 42, 0] => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b = tiff.get(at..at + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b = tiff.get(at..at + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    let (mut x, mut y, mut unit) = (None, None, 2u16);
    for entry in (0..entries).map(|i| ifd + 2 + 12 * i) {
        let tag = u16_at(entry)?;
        let rational = || {
            let at = usize::try_from(u32_at(entry + 8)?).ok()?;
            let (numerator, denominator) = (u32_at(at)?, u32_at(at + 4)?);
            (denominator != 0).then(|| f64::from(numerator) / f64::from(denominator))
        };
        match tag {
            282 => x = rational(),
            283 => y = rational(),
            296 => unit = u16_at(entry + 8)?,
            _ => {}
        }
    }
    let per_inch = match unit {
        2 => 1.0,
        3 => 2.54,
        _ => return None,
    };
    Some((x? * per_inch, y? * per_inch))
}

fn unsupported(what: &str) -> ImageError {
    ImageError::Unsupported {
        kind: "jpeg",
        what: what.to_owned(),
    }
}

fn malformed(what: &str) -> ImageError {
    ImageError::Malformed {
        kind: "jpeg",
        what: what.to_owned(),
    }
}

fn truncated(what: &str) -> ImageError {
    ImageError::Truncated {
        kind: "jpeg",
        what: what.to_owned(),
    }
}
