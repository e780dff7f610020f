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
}

/// One document's share of a run: its files and pages (1-based, inclusive, in the run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFiles {
    pub pdf: PathBuf,
    pub text: PathBuf,
    pub page_first: usize,
    pub page_last: usize,
}

/// What a conversion made.
#[derive(Debug, Default)]
pub struct Converted {
    pub parts: Vec<PartFiles>,
    pub pages: usize,
    /// What the SCS interpreter says (code page and where it came from, warnings).
    pub scs: Option<ScsSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("i/o error while converting: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Spool(String),
}

impl ConvertError {
    /// Whether trying again can help (disk full, a vanished scratch file), or the spool itself
    /// is the problem.
    pub fn is_transient(&self) -> bool {
        matches!(self, ConvertError::Io(_))
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

struct Part {
    pdf: PdfWriter<BufWriter<File>>,
    text: BufWriter<File>,
    files: PartFiles,
}

/// Where the pages of a run go: the current part, and the parts already closed.
struct Sink<'a> {
    dir: &'a Path,
    rows: usize,
    columns: usize,
    fallback: PageFormat,
    splitter: Option<rules::Splitter<'a>>,
    current: Option<Part>,
    done: Vec<PartFiles>,
    page_text: String,
}

impl Sink<'_> {
    fn open(&mut self, first_page: usize) -> io::Result<Part> {
        let index = self.done.len() + 1;
        let pdf_path = self.dir.join(format!("part-{index:05}.pdf"));
        let text_path = self.dir.join(format!("part-{index:05}.txt"));
        let pdf_file = BufWriter::with_capacity(128 * 1024, File::create(&pdf_path)?);
        let text = BufWriter::with_capacity(64 * 1024, File::create(&text_path)?);
        let mut pdf = PdfWriter::new(pdf_file, self.rows, self.columns)?;
        pdf.set_default_format(self.fallback);
        Ok(Part {
            pdf,
            text,
            files: PartFiles {
                pdf: pdf_path,
                text: text_path,
                page_first: first_page,
                page_last: first_page,
            },
        })
    }

    fn close(&mut self) -> io::Result<()> {
        let Some(part) = self.current.take() else {
            return Ok(());
        };
        part.pdf.finish()?.flush()?;
        let mut text = part.text;
        text.flush()?;
        self.done.push(part.files);
        Ok(())
    }

    fn page(&mut self, page: &Page) -> io::Result<()> {
        let starts = match self.splitter.as_mut() {
            Some(splitter) => {
                self.page_text.clear();
                let mut bytes = std::mem::take(&mut self.page_text).into_bytes();
                page.write_text(&mut bytes)?;
                let text = String::from_utf8(bytes).unwrap_or_default();
                let starts = splitter.page(&text);
                self.page_text = text;
                starts
            }
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
        page.write_text(&mut part.text)?;
        part.text.write_all(b"\n")?;
        part.pdf.add_page(page)?;
        part.files.page_last = page.number;
        Ok(())
    }
}

/// Converts the spool at `input` into one PDF and text per part in `dir`: one part for the
/// whole run without a burst rule, else one per document the rule finds.
pub fn convert_run(
    input: &Path,
    renderer: &Renderer,
    burst: Option<&rules::Burst>,
    dir: &Path,
) -> Result<Converted, ConvertError> {
    let reader = BufReader::with_capacity(256 * 1024, File::open(input)?);
    let (rows, columns, fallback) = match renderer {
        Renderer::Text { layout, format } => (layout.lines_per_page, layout.columns, *format),
        Renderer::Scs(options) => (
            options.fallback.rows.unwrap_or(66),
            options.fallback.columns.unwrap_or(132),
            PageFormat::default(),
        ),
    };
    let mut sink = Sink {
        dir,
        rows,
        columns,
        fallback,
        splitter: burst.map(rules::Burst::splitter),
        current: None,
        done: Vec::new(),
        page_text: String::new(),
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
    };
    sink.close()?;
    Ok(Converted {
        parts: sink.done,
        pages,
        scs,
    })
}
