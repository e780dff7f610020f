//! Spools (line spools and SCS) → one PDF and one laid-out text per document, streaming.
//!
//! A renderer turns the spool into pages one at a time; each page goes to the PDF writer and
//! the text file of the current part. With a burst rule, a page where the rule's splitter says
//! "new document" closes the current part and opens the next, so a 2,000-invoice print run
//! becomes 2,000 PDFs in one pass over the spool, with one page in memory at a time.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::pdf::PdfWriter;
use crate::scs::{self, ScsOptions, ScsSummary};
use crate::spool::{self, Page, PageFormat, SpoolError, SpoolLayout};

/// How to read a spool.
#[derive(Debug, Clone)]
pub enum Renderer {
    /// A line spool; `format` is what the side-car says about the page (cpi, lpi), if anything.
    Text {
        layout: SpoolLayout,
        format: PageFormat,
    },
    Scs(ScsOptions),
    /// An AFP (MO:DCA) run: one part per page group, else per burst rule.
    Afp(crate::afp::AfpOptions),
}

/// Bytes of a part: in memory while small, in a scratch file once larger than
/// [`SPILL_BYTES`], so a run that is never cut still streams to disk.
#[derive(Debug)]
pub enum PartBytes {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// A part larger than this goes to a scratch file.
pub const SPILL_BYTES: usize = 8 << 20;

/// One document's share of a run: its PDF and text, and its pages (1-based, inclusive, in
/// the run).
#[derive(Debug)]
pub struct PartOutput {
    /// 1-based position of the part in the run.
    pub index: usize,
    pub pdf: PartBytes,
    pub text: PartBytes,
    pub page_first: usize,
    pub page_last: usize,
    /// What the run says of this part alone: an AFP page group's name, index attributes
    /// (`afp.tle.INVOICE_NO`) and warnings (`afp.warning`).
    pub metadata: Vec<(String, String)>,
}

/// What a conversion made.
#[derive(Debug, Default)]
pub struct Converted {
    pub parts: usize,
    pub pages: usize,
    /// What the SCS interpreter says (code page and where it came from, warnings).
    pub scs: Option<ScsSummary>,
    /// What the AFP run held (pages, page groups).
    pub afp: Option<crate::afp::AfpSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("i/o error while converting: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Spool(String),
    #[error("{0}")]
    Afp(#[from] crate::afp::AfpError),
}

impl ConvertError {
    /// Whether trying again can help (disk full, a vanished scratch file), or the spool itself
    /// is the problem.
    pub fn is_transient(&self) -> bool {
        match self {
            ConvertError::Io(_) => true,
            ConvertError::Afp(error) => error.is_transient(),
            ConvertError::Spool(_) => false,
        }
    }
}

impl From<SpoolError> for ConvertError {
    fn from(error: SpoolError) -> Self {
        match error {
            SpoolError::Io(io) => ConvertError::Io(io),
            other => ConvertError::Spool(other.to_string()),
        }
    }
}

/// A writer that keeps its bytes in memory until they pass [`SPILL_BYTES`], then moves
/// them to a scratch file and goes on there.
pub(crate) struct SpillBuffer {
    memory: Vec<u8>,
    file: Option<(BufWriter<File>, PathBuf)>,
    spill_to: PathBuf,
    /// Memory kept before spilling: [`SPILL_BYTES`] for the parts of a burst run, 0 for a
    /// run that is one document (it streams to its file from the first byte).
    limit: usize,
}

impl SpillBuffer {
    pub(crate) fn new(spill_to: PathBuf, limit: usize) -> SpillBuffer {
        SpillBuffer {
            memory: Vec::with_capacity(limit.min(16 * 1024)),
            file: None,
            spill_to,
            limit,
        }
    }

    pub(crate) fn finish(self) -> io::Result<PartBytes> {
        match self.file {
            None => Ok(PartBytes::Memory(self.memory)),
            Some((mut writer, path)) => {
                writer.flush()?;
                Ok(PartBytes::File(path))
            }
        }
    }
}

impl Write for SpillBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some((writer, _)) = self.file.as_mut() {
            return writer.write(buf);
        }
        if self.memory.len() + buf.len() <= self.limit {
            self.memory.extend_from_slice(buf);
            return Ok(buf.len());
        }
        let mut writer = BufWriter::with_capacity(256 * 1024, File::create(&self.spill_to)?);
        writer.write_all(&self.memory)?;
        self.memory = Vec::new();
        writer.write_all(buf)?;
        self.file = Some((writer, self.spill_to.clone()));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some((writer, _)) => writer.flush(),
            None => Ok(()),
        }
    }
}

struct Part {
    pdf: PdfWriter<SpillBuffer>,
    text: SpillBuffer,
    index: usize,
    page_first: usize,
    page_last: usize,
}

/// Where the pages of a run go: the current part; closed parts go to `deliver`.
struct Sink<'a, D> {
    dir: &'a Path,
    rows: usize,
    columns: usize,
    fallback: PageFormat,
    splitter: Option<rules::Splitter<'a>>,
    current: Option<Part>,
    parts: usize,
    page_text: String,
    /// Deflates the parts' pages while the next ones are read and rendered.
    deflate: Option<crate::pdf::DeflateThread>,
    deliver: D,
}

impl<D: FnMut(PartOutput) -> io::Result<()>> Sink<'_, D> {
    fn open(&mut self, first_page: usize) -> io::Result<Part> {
        let index = self.parts + 1;
        let limit = if self.splitter.is_some() {
            SPILL_BYTES
        } else {
            0
        };
        let pdf_buffer = SpillBuffer::new(self.dir.join(format!("part-{index:05}.pdf")), limit);
        let text = SpillBuffer::new(self.dir.join(format!("part-{index:05}.txt")), limit);
        let mut pdf = PdfWriter::new(pdf_buffer, self.rows, self.columns)?;
        pdf.set_default_format(self.fallback);
        if let Some(thread) = &self.deflate {
            pdf.deflate_on(thread);
        }
        Ok(Part {
            pdf,
            text,
            index,
            page_first: first_page,
            page_last: first_page,
        })
    }

    fn close(&mut self) -> io::Result<()> {
        let Some(part) = self.current.take() else {
            return Ok(());
        };
        self.parts += 1;
        let output = PartOutput {
            index: part.index,
            pdf: part.pdf.finish()?.finish()?,
            text: part.text.finish()?,
            page_first: part.page_first,
            page_last: part.page_last,
            metadata: Vec::new(),
        };
        (self.deliver)(output)
    }

    fn page(&mut self, page: &Page) -> io::Result<()> {
        // The page's text is laid out once: the splitter reads it, the part's text file gets it.
        self.page_text.clear();
        let mut bytes = std::mem::take(&mut self.page_text).into_bytes();
        page.write_text(&mut bytes)?;
        self.page_text = String::from_utf8(bytes).unwrap_or_default();
        let starts = match self.splitter.as_mut() {
            Some(splitter) => splitter.page(&self.page_text),
            None => self.current.is_none(),
        };
        if starts || self.current.is_none() {
            self.close()?;
            self.current = Some(self.open(page.number)?);
        }
        let Some(part) = self.current.as_mut() else {
            return Ok(());
        };
        if part.pdf.pages() > 0 {
            part.text.write_all(b"\x0c")?;
        }
        part.text.write_all(self.page_text.as_bytes())?;
        part.text.write_all(b"\n")?;
        part.pdf.add_page(page)?;
        part.page_last = page.number;
        Ok(())
    }
}

/// Converts the spool at `input` and hands each part to `deliver` as soon as it is complete:
/// one part for the whole run without a burst rule, else one per document the rule finds.
/// Without a burst rule the one part is written to a scratch file in `dir` as it comes; with
/// one, parts arrive in memory up to [`SPILL_BYTES`] and as scratch files beyond, so a caller
/// that stores each part before taking the next keeps memory flat.
pub fn convert_run(
    input: &Path,
    renderer: &Renderer,
    burst: Option<&rules::Burst>,
    dir: &Path,
    deliver: impl FnMut(PartOutput) -> io::Result<()>,
) -> Result<Converted, ConvertError> {
    if let Renderer::Afp(options) = renderer {
        let reader = BufReader::with_capacity(256 * 1024, File::open(input)?);
        return crate::afp::convert::convert_afp(reader, options, burst, dir, deliver);
    }
    let reader = BufReader::with_capacity(256 * 1024, File::open(input)?);
    let (rows, columns, fallback) = match renderer {
        Renderer::Text { layout, format } => (layout.lines_per_page, layout.columns, *format),
        Renderer::Scs(options) => (
            options.fallback.rows.unwrap_or(66),
            options.fallback.columns.unwrap_or(132),
            PageFormat::default(),
        ),
        Renderer::Afp(_) => (66, 132, PageFormat::default()),
    };
    let mut sink = Sink {
        dir,
        rows,
        columns,
        fallback,
        splitter: burst.map(rules::Burst::splitter),
        current: None,
        parts: 0,
        page_text: String::new(),
        // The whole run as one PDF: its pages are deflated on a thread of their own. Not the
        // parts of a burst run: a part is a few pages, and waiting for them at its end cost
        // more than deflating them here (0.19 s → 0.35 s for 2,000 invoices). Without a
        // thread (none can be made), pages are deflated inline.
        deflate: match burst {
            None => crate::pdf::DeflateThread::spawn().ok(),
            Some(_) => None,
        },
        deliver,
    };
    let (pages, scs) = match renderer {
        Renderer::Text { layout, .. } => {
            let pages = spool::paginate(reader, layout, |page| sink.page(page))?;
            (pages, None)
        }
        Renderer::Scs(options) => {
            let summary = scs::interpret(reader, options, |page| sink.page(page)).map_err(
                |error| match error {
                    scs::ScsError::Io(io) => ConvertError::Io(io),
                },
            )?;
            (summary.pages, Some(summary))
        }
        Renderer::Afp(_) => (0, None),
    };
    sink.close()?;
    Ok(Converted {
        parts: sink.parts,
        pages,
        scs,
        afp: None,
    })
}

/// Writes a part's bytes to `path` (moving a scratch file, or writing the memory).
pub fn save_part_bytes(bytes: PartBytes, path: &Path) -> io::Result<()> {
    match bytes {
        PartBytes::Memory(data) => std::fs::write(path, data),
        PartBytes::File(scratch) => std::fs::rename(scratch, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_stays_in_memory_until_it_is_large_then_goes_on_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.pdf");
        let mut small = SpillBuffer::new(path.clone(), SPILL_BYTES);
        small.write_all(b"%PDF-1.4 small").unwrap();
        assert!(
            matches!(small.finish().unwrap(), PartBytes::Memory(bytes) if bytes == b"%PDF-1.4 small")
        );

        let mut large = SpillBuffer::new(path.clone(), SPILL_BYTES);
        let block = vec![b'x'; 1 << 20];
        for _ in 0..(SPILL_BYTES >> 20) + 1 {
            large.write_all(&block).unwrap();
        }
        large.write_all(b"end").unwrap();
        let PartBytes::File(spilled) = large.finish().unwrap() else {
            panic!("a part over SPILL_BYTES must be in a file");
        };
        let written = std::fs::read(spilled).unwrap();
        assert_eq!(written.len(), SPILL_BYTES + (1 << 20) + 3);
        assert!(written.ends_with(b"xend"));
    }
}
