//! An AFP run → parts (one PDF and one text each), as the spool converter hands them over:
//! one part per top-level page group (its TLEs become the part's `afp.tle.*` metadata);
//! pages outside page groups are cut by the burst rule when there is one, else make one part.

use std::io::{self, BufRead, Write};
use std::path::Path;

use super::page::AfpPage;
use super::pdf::AfpPdfWriter;
use super::{AfpOptions, Group, PageSink};
use crate::convert::{ConvertError, Converted, PartOutput, SpillBuffer, SPILL_BYTES};

struct Part {
    pdf: AfpPdfWriter<SpillBuffer>,
    text: SpillBuffer,
    index: usize,
    page_first: usize,
    page_last: usize,
    /// The page group this part is, if any.
    group: Option<usize>,
    metadata: Vec<(String, String)>,
    warnings: Vec<String>,
}

struct Sink<'a, D> {
    dir: &'a Path,
    splitter: Option<rules::Splitter<'a>>,
    current: Option<Part>,
    parts: usize,
    deliver: D,
}

impl<D: FnMut(PartOutput) -> io::Result<()>> Sink<'_, D> {
    fn open(&mut self, first_page: usize, group: Option<&Group>) -> io::Result<Part> {
        let index = self.parts + 1;
        let pdf = SpillBuffer::new(self.dir.join(format!("part-{index:05}.pdf")), SPILL_BYTES);
        let text = SpillBuffer::new(self.dir.join(format!("part-{index:05}.txt")), SPILL_BYTES);
        let mut metadata = Vec::new();
        if let Some(group) = group {
            if !group.name.is_empty() {
                metadata.push(("afp.page_group".to_string(), group.name.clone()));
            }
            for (name, value) in &group.tles {
                let key = format!("afp.tle.{name}");
                if !metadata.iter().any(|(existing, _)| *existing == key) {
                    metadata.push((key, value.clone()));
                }
            }
        }
        Ok(Part {
            pdf: AfpPdfWriter::new(pdf)?,
            text,
            index,
            page_first: first_page,
            page_last: first_page,
            group: group.map(|group| group.number),
            metadata,
            warnings: Vec::new(),
        })
    }

    fn close(&mut self) -> io::Result<()> {
        let Some(part) = self.current.take() else {
            return Ok(());
        };
        self.parts += 1;
        let mut metadata = part.metadata;
        if !part.warnings.is_empty() {
            metadata.push(("afp.warning".to_string(), part.warnings.join("; ")));
        }
        (self.deliver)(PartOutput {
            index: part.index,
            pdf: part.pdf.finish()?.finish()?,
            text: part.text.finish()?,
            page_first: part.page_first,
            page_last: part.page_last,
            metadata,
        })
    }
}

impl<D: FnMut(PartOutput) -> io::Result<()>> PageSink for Sink<'_, D> {
    fn page(&mut self, page: &AfpPage, group: Option<&Group>) -> io::Result<()> {
        let text = page.text();
        let number = group.map(|group| group.number);
        let current_group = self.current.as_ref().map(|part| part.group);
        // The splitter sees every page outside a page group once, in order.
        let split = match (number, self.splitter.as_mut()) {
            (None, Some(splitter)) => splitter.page(&text),
            _ => false,
        };
        let starts = match (number, current_group) {
            (_, None) => true,
            (Some(number), Some(current)) => current != Some(number),
            (None, Some(Some(_))) => true,
            (None, Some(None)) => split,
        };
        if starts {
            self.close()?;
            self.current = Some(self.open(page.number, group)?);
        }
        let Some(part) = self.current.as_mut() else {
            return Ok(());
        };
        if part.pdf.pages() > 0 {
            part.text.write_all(b"\x0c")?;
        }
        part.text.write_all(text.as_bytes())?;
        part.pdf.add_page(page)?;
        part.page_last = page.number;
        for (name, value) in &page.tles {
            let key = format!("afp.tle.{name}");
            if !part.metadata.iter().any(|(existing, _)| *existing == key) {
                part.metadata.push((key, value.clone()));
            }
        }
        for warning in &page.warnings {
            if !part.warnings.contains(warning) {
                part.warnings.push(warning.clone());
            }
        }
        Ok(())
    }

    fn group_end(&mut self, group: &Group) -> io::Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|part| part.group == Some(group.number))
        {
            self.close()?;
        }
        Ok(())
    }
}

/// Converts an AFP run read from `reader`; parts go to `deliver` as soon as they are whole.
pub fn convert_afp<R: BufRead>(
    reader: R,
    options: &AfpOptions,
    burst: Option<&rules::Burst>,
    dir: &Path,
    deliver: impl FnMut(PartOutput) -> io::Result<()>,
) -> Result<Converted, ConvertError> {
    let mut sink = Sink {
        dir,
        splitter: burst.map(rules::Burst::splitter),
        current: None,
        parts: 0,
        deliver,
    };
    let summary = super::render(reader, options, &mut sink)?;
    sink.close()?;
    Ok(Converted {
        parts: sink.parts,
        pages: summary.pages,
        scs: None,
        afp: Some(summary),
    })
}
