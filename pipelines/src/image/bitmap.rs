//! Plain bitmaps: what decoders hand over, what OCR engines read (PNM), and the CCITT
//! decoding and G4 re-encoding of bi-level pages through the `fax` crate.

use std::convert::Infallible;

use fax::decoder::{pels, DecodeStatus, Group3Decoder, Group4Decoder};
use fax::encoder::Encoder;
use fax::{Color, VecWriter};

use super::ImageError;

/// A decoded page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bitmap {
    /// Rows of `(width + 7) / 8` bytes, most significant bit first, 1 = black (as PBM).
    Bilevel {
        width: u32,
        height: u32,
        data: Vec<u8>,
    },
    /// One byte a pixel, 0 = black.
    Gray {
        width: u32,
        height: u32,
        data: Vec<u8>,
    },
}

impl Bitmap {
    /// PNM: P4 for bi-level, P5 for grey.
    pub(super) fn to_pnm(&self) -> Vec<u8> {
        let (magic, width, height, data) = match self {
            Bitmap::Bilevel {
                width,
                height,
                data,
            } => ("P4", width, height, data),
            Bitmap::Gray {
                width,
                height,
                data,
            } => ("P5", width, height, data),
        };
        let mut out = match self {
            Bitmap::Bilevel { .. } => format!("{magic}\n{width} {height}\n").into_bytes(),
            Bitmap::Gray { .. } => format!("{magic}\n{width} {height}\n255\n").into_bytes(),
        };
        out.extend_from_slice(data);
        out
    }
}

/// Grey from interleaved 8-bit samples: 1 (grey), 3 (RGB) or 4 (CMYK) colour channels,
/// optionally followed by alpha, which is composed over white.
pub(super) fn to_gray(samples: &[u8], channels: usize, alpha: bool) -> Vec<u8> {
    let stride = channels + usize::from(alpha);
    samples
        .chunks_exact(stride)
        .map(|pixel| {
            let gray = match channels {
                3 => {
                    (299 * u32::from(pixel[0])
                        + 587 * u32::from(pixel[1])
                        + 114 * u32::from(pixel[2]))
                        / 1000
                }
                4 => {
                    let ink = |c: u8| 255 - u32::from(c);
                    let k = ink(pixel[3]);
                    (299 * ink(pixel[0]) * k / 255
                        + 587 * ink(pixel[1]) * k / 255
                        + 114 * ink(pixel[2]) * k / 255)
                        / 1000
                }
                _ => u32::from(pixel[0]),
            };
            if !alpha {
                return gray as u8;
            }
            let a = u32::from(pixel[stride - 1]);
            ((gray * a + 255 * (255 - a)) / 255) as u8
        })
        .collect()
}

/// The CCITT flavour of a strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ccitt {
    /// T.6.
    G4,
    /// T.4 one-dimensional, lines starting with EOL.
    G3OneD,
}

/// Decodes CCITT strips into one bi-level bitmap, 1 = a CCITT black pixel. `rows_per_strip`
/// rows are expected of each strip (fewer in the last); a strip that ends early leaves its
/// remaining rows white.
pub(super) fn decode_ccitt(
    strips: &[Vec<u8>],
    flavour: Ccitt,
    width: u32,
    height: u32,
    rows_per_strip: u32,
) -> Result<Bitmap, ImageError> {
    let columns = ccitt_columns(width)?;
    let row_bytes = width.div_ceil(8) as usize;
    let mut data = vec![0u8; row_bytes * height as usize];
    let mut rows = data.chunks_exact_mut(row_bytes);
    let mut left = height;
    for strip in strips {
        let wanted = left.min(rows_per_strip.max(1));
        let mut decoded = 0u32;
        let put = |transitions: &[u16], rows: &mut std::slice::ChunksExactMut<'_, u8>| {
            if let Some(row) = rows.next() {
                pack_row(transitions, columns, row);
            }
        };
        let input = strip.iter().copied().map(Ok::<u8, Infallible>);
        match flavour {
            Ccitt::G4 => {
                let Ok(mut decoder) = Group4Decoder::new(input, columns);
                while decoded < wanted {
                    match decoder.advance() {
                        Ok(DecodeStatus::Incomplete) => put(decoder.transition(), &mut rows),
                        Ok(DecodeStatus::End) => break,
                        Err(_) if decoded == 0 => return Err(ccitt_error(flavour)),
                        Err(_) => break,
                    }
                    decoded += 1;
                }
            }
            Ccitt::G3OneD => {
                let mut decoder = Group3Decoder::new(input).map_err(|_| ccitt_error(flavour))?;
                while decoded < wanted {
                    let status = decoder.advance();
                    // A strip without RTC ends in an error after its last line: keep that line.
                    put(decoder.transitions(), &mut rows);
                    decoded += 1;
                    if !matches!(status, Ok(DecodeStatus::Incomplete)) {
                        break;
                    }
                }
            }
        }
        for _ in decoded..wanted {
            rows.next();
        }
        left -= wanted;
        if left == 0 {
            break;
        }
    }
    Ok(Bitmap::Bilevel {
        width,
        height,
        data,
    })
}

/// The `fax` crate counts columns in u16 and adds two positions (found by fuzzing: a 65535
/// pixel wide page overflowed its encoder): pages up to 32767 pixels wide (2.7 m at 300 dpi)
/// are decoded and encoded, wider ones only embedded as they are.
const MAX_CCITT_COLUMNS: u32 = 32767;

fn ccitt_columns(width: u32) -> Result<u16, ImageError> {
    u16::try_from(width)
        .ok()
        .filter(|_| width <= MAX_CCITT_COLUMNS)
        .ok_or_else(|| ImageError::Unsupported {
            kind: "tiff",
            what: format!(
                "ccitt page {width} pixels wide in several strips (at most {MAX_CCITT_COLUMNS})"
            ),
        })
}

fn ccitt_error(flavour: Ccitt) -> ImageError {
    ImageError::Malformed {
        kind: "tiff",
        what: format!(
            "undecodable {} strip",
            if flavour == Ccitt::G4 {
                "ccitt g4"
            } else {
                "ccitt g3"
            }
        ),
    }
}

/// One row of transitions (starting white) into packed bits, 1 = black.
fn pack_row(transitions: &[u16], width: u16, row: &mut [u8]) {
    for (x, color) in pels(transitions, width).enumerate() {
        if color == Color::Black {
            row[x / 8] |= 0x80 >> (x % 8);
        }
    }
}

/// Encodes a bi-level bitmap (1 = CCITT black) as one G4 stream.
pub(super) fn encode_g4(width: u32, height: u32, data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let columns = ccitt_columns(width)?;
    let row_bytes = width.div_ceil(8) as usize;
    let mut encoder = Encoder::new(VecWriter::new());
    for row in data.chunks_exact(row_bytes).take(height as usize) {
        let colors = (0..usize::from(columns)).map(|x| {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                Color::Black
            } else {
                Color::White
            }
        });
        let Ok(()) = encoder.encode_line(colors, columns);
    }
    let Ok(writer) = encoder.finish();
    Ok(writer.finish())
}
