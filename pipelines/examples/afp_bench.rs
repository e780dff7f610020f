//! Performance bench for the AFP (MO:DCA) → PDF converter (`pipelines::afp`).
//!
//! ```text
//! cargo build --release -p pipelines --example afp_bench
//! target/release/examples/afp_bench --afp run-2000.afp --out /tmp/a              # whole run
//! target/release/examples/afp_bench --afp run-2000.afp --out /tmp/a --mode burst # page groups
//! target/release/examples/afp_bench --afp run-2000.afp --out /tmp/a --mode render --repeat 5
//! ```
//!
//! Modes (`--mode`, default `whole`):
//!
//! - `whole`: the run as one PDF, the way a run without page groups is converted:
//!   `afp::render` into a sink that adds every page to one `afp::pdf::AfpPdfWriter` writing
//!   `OUT/out.pdf` and the pages' text (`AfpPage::text`, form feed between pages) to
//!   `OUT/out.txt`.
//! - `burst`: `afp::convert::convert_afp` with the default options and no burst rule, as the
//!   convert stage does: one part (PDF and text) per page group, each dropped as it comes (its
//!   size counted; the convert stage would store it in the blob store: the ingest times that),
//!   and `OUT/parts.jsonl`, one line per part: `{"index", "pages": [first, last], "tles":
//!   {...}}` (TLE names without the `afp.tle.` prefix), to be checked against `run.py N
//!   --expect`.
//! - Phases, to see where the time goes (nothing written): `read` only reads the structured
//!   fields (`afp::fields::FieldReader`), `render` renders every page into a sink that drops it
//!   (fields, MCF, PTOCA, fit_runs), `text` renders and lays out each page's text, `pdf`
//!   renders and writes the one PDF to a sink that only counts bytes (no text, no file).
//!
//! The input is streamed from the file through a 64 KiB `BufReader`, as the convert stage
//! reads a run (it is in the page cache after the first run: read it once before timing).
//! `--repeat N` converts N times and keeps the fastest (default 1). It prints pages, page
//! groups, seconds, pages/s, output sizes and the peak RSS of the process (`VmHWM`, reset after
//! reading the input through `/proc/self/clear_refs` when the kernel allows it, so it covers
//! the conversion). The last line is a machine-readable `RESULT key=value ...` line for
//! `tests/bench.sh`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use pipelines::afp::convert::convert_afp;
use pipelines::afp::fields::FieldReader;
use pipelines::afp::page::AfpPage;
use pipelines::afp::pdf::AfpPdfWriter;
use pipelines::afp::{render, AfpOptions, Group, PageSink};
use pipelines::convert::PartBytes;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Whole,
    Burst,
    Read,
    Render,
    Text,
    Pdf,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Whole => "whole",
            Mode::Burst => "burst",
            Mode::Read => "read",
            Mode::Render => "render",
            Mode::Text => "text",
            Mode::Pdf => "pdf",
        }
    }
}

struct Args {
    afp: PathBuf,
    out: PathBuf,
    mode: Mode,
    repeat: usize,
}

fn usage() -> &'static str {
    "usage: afp_bench --afp FILE --out DIR [--mode whole|burst|read|render|text|pdf] [--repeat N]\n\
     \x20 --afp FILE     the AFP run to convert\n\
     \x20 --out DIR      where out.pdf, out.txt, parts.jsonl go (created if missing)\n\
     \x20 --mode M       whole (one PDF, default), burst (one part per page group, convert_afp),\n\
     \x20                or a phase alone: read (fields), render (pages dropped), text, pdf\n\
     \x20 --repeat N     convert N times, keep the fastest (default 1)"
}

fn parse_args() -> Result<Args, String> {
    let mut afp = None;
    let mut out = None;
    let mut mode = Mode::Whole;
    let mut repeat = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--afp" => afp = Some(PathBuf::from(value("--afp")?)),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--mode" => {
                mode = match value("--mode")?.as_str() {
                    "whole" => Mode::Whole,
                    "burst" => Mode::Burst,
                    "read" => Mode::Read,
                    "render" => Mode::Render,
                    "text" => Mode::Text,
                    "pdf" => Mode::Pdf,
                    other => return Err(format!("--mode: unknown mode {other}")),
                }
            }
            "--repeat" => {
                let v = value("--repeat")?;
                repeat = v
                    .parse()
                    .map_err(|_| format!("--repeat: not a number: {v}"))?;
                if repeat == 0 {
                    return Err("--repeat must be at least 1".into());
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Args {
        afp: afp.ok_or("--afp FILE is required")?,
        out: out.ok_or("--out DIR is required")?,
        mode,
        repeat,
    })
}

/// A writer that only counts bytes.
#[derive(Default)]
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sink of the whole and phase modes: every page into one PDF and/or one text, or dropped.
struct OneRun<W: Write, T: Write> {
    pdf: Option<AfpPdfWriter<W>>,
    text: Option<T>,
    /// Text laid out but not kept (the `text` phase).
    text_bytes: u64,
    lay_out_text: bool,
    pages: usize,
    groups: usize,
}

impl<W: Write, T: Write> PageSink for OneRun<W, T> {
    fn page(&mut self, page: &AfpPage, _group: Option<&Group>) -> io::Result<()> {
        if self.lay_out_text {
            let text = page.text();
            self.text_bytes += text.len() as u64 + u64::from(self.pages > 0);
            if let Some(out) = self.text.as_mut() {
                if self.pages > 0 {
                    out.write_all(b"\x0c")?;
                }
                out.write_all(text.as_bytes())?;
            }
        }
        if let Some(pdf) = self.pdf.as_mut() {
            pdf.add_page(page)?;
        }
        self.pages += 1;
        Ok(())
    }

    fn group_end(&mut self, _group: &Group) -> io::Result<()> {
        self.groups += 1;
        Ok(())
    }
}

/// What one conversion made.
#[derive(Default)]
struct Done {
    pages: usize,
    groups: usize,
    parts: Option<usize>,
    fields: Option<u64>,
    pdf_bytes: u64,
    text_bytes: u64,
    /// parts.jsonl lines (burst).
    manifest: String,
}

fn message<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

fn run_once(input: &Path, mode: Mode, out: &Path) -> Result<Done, String> {
    let options = AfpOptions::default();
    let open = || {
        File::open(input)
            .map(|file| BufReader::with_capacity(64 << 10, file))
            .map_err(message)
    };
    match mode {
        Mode::Read => {
            let mut reader = FieldReader::new(open()?);
            let (mut fields, mut pages, mut groups) = (0u64, 0usize, 0usize);
            while let Some(field) = reader.next_field().map_err(message)? {
                fields += 1;
                match (field.kind(), field.category()) {
                    (0xA8, 0xAF) => pages += 1,
                    (0xA8, 0xAD) => groups += 1,
                    _ => {}
                }
            }
            Ok(Done {
                pages,
                groups,
                fields: Some(fields),
                ..Done::default()
            })
        }
        Mode::Render | Mode::Text | Mode::Pdf => {
            let mut sink: OneRun<CountingSink, File> = OneRun {
                pdf: if mode == Mode::Pdf {
                    Some(AfpPdfWriter::new(CountingSink::default()).map_err(message)?)
                } else {
                    None
                },
                text: None,
                text_bytes: 0,
                lay_out_text: mode == Mode::Text,
                pages: 0,
                groups: 0,
            };
            let summary = render(open()?, &options, &mut sink).map_err(message)?;
            let pdf_bytes = match sink.pdf.take() {
                Some(pdf) => pdf.finish().map_err(message)?.0,
                None => 0,
            };
            Ok(Done {
                pages: summary.pages,
                groups: summary.groups,
                pdf_bytes,
                text_bytes: sink.text_bytes,
                ..Done::default()
            })
        }
        Mode::Whole => {
            let pdf_path = out.join("out.pdf");
            let text_path = out.join("out.txt");
            let pdf_file =
                BufWriter::with_capacity(1 << 20, File::create(&pdf_path).map_err(message)?);
            let text_file =
                BufWriter::with_capacity(1 << 20, File::create(&text_path).map_err(message)?);
            let mut sink = OneRun {
                pdf: Some(AfpPdfWriter::new(pdf_file).map_err(message)?),
                text: Some(text_file),
                text_bytes: 0,
                lay_out_text: true,
                pages: 0,
                groups: 0,
            };
            let summary = render(open()?, &options, &mut sink).map_err(message)?;
            if let Some(pdf) = sink.pdf.take() {
                pdf.finish().map_err(message)?.flush().map_err(message)?;
            }
            if let Some(mut text) = sink.text.take() {
                text.flush().map_err(message)?;
            }
            let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            Ok(Done {
                pages: summary.pages,
                groups: summary.groups,
                pdf_bytes: size(&pdf_path),
                text_bytes: size(&text_path),
                ..Done::default()
            })
        }
        Mode::Burst => {
            // Scratch folder for parts over SPILL_BYTES (none in an invoice run).
            let dir = tempfile::tempdir_in(out).map_err(message)?;
            let mut manifest = String::new();
            let (mut pdf_bytes, mut text_bytes) = (0u64, 0u64);
            let converted = convert_afp(open()?, &options, None, dir.path(), |part| {
                let tles: serde_json::Map<String, serde_json::Value> = part
                    .metadata
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((
                            name.strip_prefix("afp.tle.")?.to_string(),
                            serde_json::Value::String(value.clone()),
                        ))
                    })
                    .collect();
                let line = serde_json::json!({
                    "index": part.index,
                    "pages": [part.page_first, part.page_last],
                    "tles": tles,
                });
                let _ = writeln!(manifest, "{line}");
                // Dropped: the conversion alone, not the file system (the convert stage
                // hands each part to the blob store, timed by the ingest).
                pdf_bytes += drop_part(part.pdf)?;
                text_bytes += drop_part(part.text)?;
                Ok(())
            })
            .map_err(message)?;
            Ok(Done {
                pages: converted.pages,
                groups: converted.afp.map(|afp| afp.groups).unwrap_or(0),
                parts: Some(converted.parts),
                pdf_bytes,
                text_bytes,
                manifest,
                ..Done::default()
            })
        }
    }
}

/// The size of a part's bytes, dropped (a spilled part's scratch file is removed).
fn drop_part(bytes: PartBytes) -> io::Result<u64> {
    match bytes {
        PartBytes::Memory(data) => Ok(data.len() as u64),
        PartBytes::File(path) => {
            let len = std::fs::metadata(&path)?.len();
            std::fs::remove_file(&path)?;
            Ok(len)
        }
    }
}

/// A field of /proc/self/status, in kB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0). Returns whether it worked.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("afp_bench: {message}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        eprintln!("afp_bench: cannot create {}: {error}", args.out.display());
        return ExitCode::FAILURE;
    }
    let input_bytes = match std::fs::metadata(&args.afp) {
        Ok(meta) => meta.len(),
        Err(error) => {
            eprintln!("afp_bench: cannot read {}: {error}", args.afp.display());
            return ExitCode::FAILURE;
        }
    };

    // Once through the page cache, untimed.
    if let Err(error) =
        File::open(&args.afp).and_then(|mut file| io::copy(&mut file, &mut io::sink()))
    {
        eprintln!("afp_bench: cannot read {}: {error}", args.afp.display());
        return ExitCode::FAILURE;
    }
    let hwm_reset = reset_peak_rss();
    let rss_before = status_kib("VmRSS").unwrap_or(0);
    let mut best: Option<(f64, Done)> = None;
    let mut all = Vec::new();
    for _ in 0..args.repeat {
        let started = Instant::now();
        let done = match run_once(&args.afp, args.mode, &args.out) {
            Ok(done) => done,
            Err(error) => {
                eprintln!(
                    "afp_bench: {} of {} failed: {error}",
                    args.mode.name(),
                    args.afp.display()
                );
                return ExitCode::FAILURE;
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        all.push(seconds);
        if best.as_ref().is_none_or(|(fastest, _)| seconds < *fastest) {
            best = Some((seconds, done));
        }
    }
    let peak_kib = status_kib("VmHWM").unwrap_or(0);
    let Some((seconds, done)) = best else {
        return ExitCode::FAILURE;
    };
    if args.mode == Mode::Burst {
        if let Err(error) = std::fs::write(args.out.join("parts.jsonl"), &done.manifest) {
            eprintln!("afp_bench: cannot write parts.jsonl: {error}");
            return ExitCode::FAILURE;
        }
    }
    let rate = done.pages as f64 / seconds.max(1e-9);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "input        {} ({:.1} MiB)",
        args.afp.display(),
        mib(input_bytes)
    );
    let _ = writeln!(report, "mode         {}", args.mode.name());
    let _ = writeln!(report, "pages        {}", done.pages);
    let _ = writeln!(report, "page groups  {}", done.groups);
    if let Some(fields) = done.fields {
        let _ = writeln!(report, "fields       {fields}");
    }
    if let Some(parts) = done.parts {
        let _ = writeln!(
            report,
            "parts        {parts} ({:.0} parts/s), one PDF and one text each, dropped; OUT/parts.jsonl",
            parts as f64 / seconds.max(1e-9)
        );
    }
    let _ = writeln!(
        report,
        "seconds      {seconds:.3}{}",
        if all.len() > 1 {
            format!(
                " (fastest of {}: {})",
                all.len(),
                all.iter()
                    .map(|s| format!("{s:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(report, "pages/s      {rate:.0}");
    let _ = writeln!(
        report,
        "pdf          {:.1} MiB ({:.0} B/page)",
        mib(done.pdf_bytes),
        done.pdf_bytes as f64 / done.pages.max(1) as f64
    );
    let _ = writeln!(report, "text         {:.1} MiB", mib(done.text_bytes));
    let _ = writeln!(
        report,
        "peak RSS     {:.1} MiB (VmHWM{}; RSS before conversion {:.1} MiB)",
        peak_kib as f64 / 1024.0,
        if hwm_reset {
            ", reset before conversion"
        } else {
            ", whole process"
        },
        rss_before as f64 / 1024.0
    );
    print!("{report}");
    println!(
        "RESULT mode={} pages={} groups={} parts={} seconds={seconds:.6} pages_per_s={rate:.1} pdf_bytes={} text_bytes={} input_bytes={} vmhwm_kib={peak_kib} rss_before_kib={rss_before} hwm_reset={hwm_reset}",
        args.mode.name(),
        done.pages,
        done.groups,
        done.parts.unwrap_or(0),
        done.pdf_bytes,
        done.text_bytes,
        input_bytes
    );
    ExitCode::SUCCESS
}
