//! Performance bench for the spool → PDF converters: line spools
//! (`pipelines::convert_spool_file`) and SCS (`convert_run` with `Renderer::Scs`, no burst).
//!
//! ```text
//! cargo run --release -p pipelines --example spool_bench -- --pages 10000 --out /tmp/bench
//! cargo run --release -p pipelines --example spool_bench -- --pages 1000 --out /tmp/b --only-generate
//! cargo run --release -p pipelines --example spool_bench -- --input /tmp/b/spool.txt --out /tmp/b
//! cargo run --release -p pipelines --example spool_bench -- --scs run.scs --ccsid 1147 --out /tmp/s
//! ```
//!
//! With `--scs FILE` it converts that SCS spool (made by IBM JTOpen's writer through
//! `samples/scs/make-scs.sh --pages N`) into `OUT/out.pdf` and `OUT/out.txt` the way the
//! convert stage does for a run without a burst rule, `--ccsid` being the source's code page
//! (the stream's SCG wins when it has one). Same report and `RESULT` line, plus the code page
//! and the interpreter's warnings. `--burst RULES.toml` cuts the run with the rules' first
//! `[[burst]]` for an SCS spool (as the convert stage does), so the run becomes one PDF and one
//! text per document in a scratch folder under OUT (removed after the timing); `parts=` is
//! added to the `RESULT` line.
//!
//! Without `--input`, it writes a deterministic FCFC UTF-8 spool of `--pages` French
//! invoice-like pages to `OUT/spool.txt` (60 records per page, at most 132 columns after the
//! control character, 63 rows used of 66, so exactly one page per `1` record). Then it converts
//! the spool once, timed, to `OUT/out.pdf` and `OUT/out.txt`, and prints pages, seconds,
//! pages/s, output sizes and the peak RSS of the process (`VmHWM`, reset after generation
//! through `/proc/self/clear_refs` when the kernel allows it, so it covers the conversion only).
//! The last line is a machine-readable `RESULT key=value ...` line for `tests/bench.sh`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use pipelines::charset::Charset;
use pipelines::convert::{convert_run, save_part_bytes, Renderer};
use pipelines::scs::{ScsOptions, ScsSummary};
use pipelines::spool::{CarriageControl, SpoolLayout};

/// Records per generated page.
const RECORDS_PER_PAGE: usize = 60;
/// Item lines per invoice page.
const ITEMS_PER_PAGE: usize = 44;
/// Columns after the FCFC control.
const COLUMNS: usize = 132;

struct Args {
    pages: usize,
    out: PathBuf,
    input: Option<PathBuf>,
    only_generate: bool,
    scs: Option<PathBuf>,
    ccsid: Option<u16>,
    burst: Option<PathBuf>,
}

fn usage() -> &'static str {
    "usage: spool_bench [--pages N] --out DIR [--input FILE] [--only-generate]\n\
     \x20      spool_bench --scs FILE [--ccsid N] --out DIR\n\
     \x20 --pages N          pages to generate (default 10000)\n\
     \x20 --out DIR          where spool.txt, out.pdf and out.txt go (created if missing)\n\
     \x20 --input FILE       convert FILE instead of generating a spool\n\
     \x20 --only-generate    write OUT/spool.txt and exit\n\
     \x20 --scs FILE         convert the SCS spool FILE (no burst)\n\
     \x20 --ccsid N          the SCS source's code page when the stream has no SCG\n\
     \x20 --burst RULES      with --scs: cut the run with the rules' [[burst]] (one PDF a document)"
}

fn parse_args() -> Result<Args, String> {
    let mut pages = 10_000usize;
    let mut out = None;
    let mut input = None;
    let mut only_generate = false;
    let mut scs = None;
    let mut ccsid = None;
    let mut burst = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--pages" => {
                let v = value("--pages")?;
                pages = v
                    .parse()
                    .map_err(|_| format!("--pages: not a number: {v}"))?;
                if pages == 0 {
                    return Err("--pages must be at least 1".into());
                }
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--input" => input = Some(PathBuf::from(value("--input")?)),
            "--only-generate" => only_generate = true,
            "--scs" => scs = Some(PathBuf::from(value("--scs")?)),
            "--burst" => burst = Some(PathBuf::from(value("--burst")?)),
            "--ccsid" => {
                let v = value("--ccsid")?;
                ccsid = Some(
                    v.parse()
                        .map_err(|_| format!("--ccsid: not a code page: {v}"))?,
                );
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    if only_generate && input.is_some() {
        return Err("--only-generate and --input exclude each other".into());
    }
    if scs.is_some() && (only_generate || input.is_some()) {
        return Err("--scs excludes --input and --only-generate".into());
    }
    if burst.is_some() && scs.is_none() {
        return Err("--burst needs --scs".into());
    }
    Ok(Args {
        pages,
        out,
        input,
        only_generate,
        scs,
        ccsid,
        burst,
    })
}

/// SplitMix64: small, deterministic, good enough to vary the content.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const CUSTOMERS: &[&str] = &[
    "Société Générale des Éléments Préfabriqués",
    "Boulangerie Lefèvre & Fils",
    "Hôtel du Château d'Angers",
    "Coopérative Agricole de la Vallée de l'Hérault",
    "Crèche Municipale « Les Petits Écureuils »",
    "Garage Müller Frères",
    "Pâtisserie Saint-Honoré",
    "Bâtiments Œuvres & Rénovation SAS",
];

const STREETS: &[&str] = &[
    "12, rue de l'Église",
    "3 bis, avenue du Général-de-Gaulle",
    "Zone d'activités des Châtaigniers, lot 7",
    "145, boulevard Saint-Germain",
    "Chemin des Écoliers",
    "8, place de la Libération",
];

const CITIES: &[&str] = &[
    "75011 PARIS",
    "49100 ANGERS",
    "34000 MONTPELLIER",
    "67000 STRASBOURG",
    "13002 MARSEILLE",
    "59800 LILLE",
    "97400 SAINT-DENIS (LA RÉUNION)",
];

const ITEMS: &[&str] = &[
    "Câble électrique R2V 3G2,5 mm² — couronne 100 m",
    "Disjoncteur différentiel 30 mA type A",
    "Gaine ICTA Ø20 mm — rouleau 50 m",
    "Prise à encastrer 2P+T blanc",
    "Réglette LED étanche 120 cm 4 000 lm",
    "Détecteur de présence plafonnier 360°",
    "Thermostat programmable hebdomadaire",
    "Interrupteur va-et-vient « Céliane »",
    "Boîte de dérivation étanche IP55",
    "Tube IRL Ø16 — barre de 2 m",
    "Connecteur rapide 5 entrées (lot de 50)",
    "Tableau électrique pré-équipé 4 rangées",
    "Main-d'œuvre : pose et raccordement",
    "Déplacement technicien — forfait Île-de-France",
    "Contrôle Consuel et mise en conformité",
    "Parafoudre monophasé 20 kA",
    "Sèche-serviettes électrique 750 W",
    "Radiateur à inertie céramique 1 500 W",
];

const UNITS: &[&str] = &["U", "m", "lot", "h", "forf."];

/// `1234567` cents → `12 345,67` (French grouping with a narrow gap kept ASCII-free: a space).
fn euros(cents: u64) -> String {
    let units = cents / 100;
    let mut digits = units.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(" {tail}{grouped}");
    }
    format!("{digits}{grouped},{:02}", cents % 100)
}

/// Cuts `s` to `width` characters (not bytes).
fn cut(s: &str, width: usize) -> String {
    s.chars().take(width).collect()
}

/// Writes one FCFC record: the control, the text cut to 132 columns, CRLF or LF.
fn record(out: &mut impl Write, control: char, text: &str, crlf: bool) -> std::io::Result<()> {
    let text = cut(text.trim_end(), COLUMNS);
    write!(out, "{control}{text}{}", if crlf { "\r\n" } else { "\n" })
}

/// One invoice page: exactly [`RECORDS_PER_PAGE`] records, 63 rows.
fn write_page(out: &mut impl Write, page: usize, total: usize) -> std::io::Result<()> {
    let mut rng = Rng::new(page as u64);
    // Every 7th invoice uses CRLF, as spools copied from Windows shares do.
    let crlf = page.is_multiple_of(7);
    let invoice = format!("FA-2025-{:06}", 100_000 + page);
    let mut records: Vec<(char, String)> = Vec::with_capacity(RECORDS_PER_PAGE);

    // Header, row 1, then an underline overprint under "FACTURE".
    let left = "ACME DISTRIBUTION ÉLECTRIQUE SARL";
    let title = format!("FACTURE N° {invoice}");
    let right = format!("Page {page} / {total}");
    let header = format!("{left:<44}{title:<44}{right:>44}");
    let title_col = header.chars().position(|c| c == 'F').unwrap_or(44);
    let underline = format!("{}{}", " ".repeat(title_col), "_".repeat(7));
    records.push(('1', header));
    records.push(('+', underline));
    records.push((
        ' ',
        format!(
            "{:<44}Capital 150 000 € — SIRET 552 100 554 00021",
            "3, quai de la Gare"
        ),
    ));
    records.push((
        ' ',
        format!(
            "{:<44}TVA intracommunautaire FR 40 552 100 554",
            "69002 LYON — Tél. 04 78 00 12 34"
        ),
    ));

    // Customer block.
    let customer = rng.pick(CUSTOMERS);
    let client_no = 10_000 + rng.below(90_000);
    records.push(('0', format!("Client n° C{client_no:05} : {customer}")));
    records.push((
        ' ',
        format!("{:<60}{}", rng.pick(STREETS), rng.pick(CITIES)),
    ));
    let day = 1 + (page % 28);
    let month = 1 + (page / 28) % 12;
    records.push((
        ' ',
        format!(
            "Date de facture : {day:02}/{month:02}/2025      Échéance : 30 jours fin de mois      Mode de règlement : virement"
        ),
    ));

    // Item table.
    records.push((
        '0',
        format!(
            "{:<10}{:<52}{:>5} {:<5}{:>16}{:>8}{:>18}{:>7}",
            "Réf.", "Désignation", "Qté", "Unité", "Prix unit. €", "Remise", "Montant HT €", "TVA"
        ),
    ));
    records.push((' ', "-".repeat(COLUMNS - 11)));
    let mut total_ht = 0u64;
    for line in 0..ITEMS_PER_PAGE {
        let item = rng.pick(ITEMS);
        let quantity = 1 + rng.below(if line % 5 == 0 { 250 } else { 24 });
        let unit_cents = 99 + rng.below(125_000);
        let discount = [0u64, 0, 0, 5, 10, 15][rng.below(6) as usize];
        let amount = quantity * unit_cents * (100 - discount) / 100;
        total_ht += amount;
        let reference = format!("{:03}-{:05}", rng.below(1000), rng.below(100_000));
        let discount = if discount == 0 {
            String::new()
        } else {
            format!("{discount} %")
        };
        records.push((
            ' ',
            format!(
                "{reference:<10}{:<52}{quantity:>5} {:<5}{:>16}{discount:>8}{:>18}{:>7}",
                cut(item, 51),
                rng.pick(UNITS),
                euros(unit_cents),
                euros(amount),
                "20 %"
            ),
        ));
    }

    // Totals, three rows down; the TTC line is overprinted with itself (bold).
    let tva = total_ht / 5;
    records.push(('-', format!("{:>96}{:>22} €", "Total HT", euros(total_ht))));
    records.push((' ', format!("{:>96}{:>22} €", "TVA 20 %", euros(tva))));
    let ttc = format!("{:>96}{:>22} €", "Total TTC", euros(total_ht + tva));
    records.push((' ', ttc.clone()));
    records.push(('+', ttc));

    // Conditions.
    records.push((
        '0',
        "Conditions : paiement à 30 jours fin de mois. Escompte pour paiement anticipé : néant."
            .to_string(),
    ));
    records.push((
        ' ',
        "Pénalités de retard : trois fois le taux d'intérêt légal ; indemnité forfaitaire de recouvrement : 40 €.".to_string(),
    ));
    records.push((
        ' ',
        format!("Réserve de propriété jusqu'au paiement intégral (loi n° 80-335).   Réf. interne {invoice}/{:04X}", rng.below(0x10000)),
    ));
    debug_assert_eq!(records.len(), RECORDS_PER_PAGE);

    for (control, text) in &records {
        record(out, *control, text, crlf)?;
    }
    Ok(())
}

fn generate(path: &Path, pages: usize) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for page in 1..=pages {
        write_page(&mut out, page, pages)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(std::fs::metadata(path)?.len())
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

/// What an SCS conversion made.
struct ScsConverted {
    pages: usize,
    parts: usize,
    summary: Option<ScsSummary>,
    /// The parts of a burst run, deleted after the timing.
    work: tempfile::TempDir,
}

/// Converts an SCS spool as the convert stage does. Without a burst rule, moves the one part
/// to `pdf_out` / `text_out`; with one, leaves the parts in the returned scratch folder.
fn convert_scs(
    input: &Path,
    ccsid: Option<u16>,
    burst: Option<&rules::Burst>,
    pdf_out: &Path,
    text_out: &Path,
) -> Result<ScsConverted, pipelines::convert::ConvertError> {
    let work = tempfile::tempdir_in(pdf_out.parent().unwrap_or(Path::new(".")))?;
    let renderer = Renderer::Scs(ScsOptions {
        source_ccsid: ccsid,
        ..ScsOptions::default()
    });
    let dir = work.path().to_path_buf();
    let converted = convert_run(input, &renderer, burst, work.path(), |part| {
        // As the convert stage stores each part before the next: here, one file each.
        let (pdf, text) = if burst.is_none() {
            (pdf_out.to_path_buf(), text_out.to_path_buf())
        } else {
            (
                dir.join(format!("doc-{:05}.pdf", part.index)),
                dir.join(format!("doc-{:05}.txt", part.index)),
            )
        };
        save_part_bytes(part.pdf, &pdf)?;
        save_part_bytes(part.text, &text)
    })?;
    Ok(ScsConverted {
        pages: converted.pages,
        parts: converted.parts,
        summary: converted.scs,
        work,
    })
}

/// The rules file's `[[burst]]` for an SCS spool captured by the CLI.
fn load_burst(path: &Path) -> Result<rules::RuleSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let rules = rules::RuleSet::from_toml(&text)
        .map_err(|error| format!("bad rules {}: {error}", path.display()))?;
    if rules.burst_for("cli", "scs", &BTreeMap::new()).is_none() {
        return Err(format!("{} has no [[burst]] for scs", path.display()));
    }
    Ok(rules)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("spool_bench: {message}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        eprintln!("spool_bench: cannot create {}: {error}", args.out.display());
        return ExitCode::FAILURE;
    }

    let (input, expected_pages) = match (&args.input, &args.scs) {
        (Some(input), _) | (None, Some(input)) => (input.clone(), None),
        (None, None) => {
            let path = args.out.join("spool.txt");
            let started = Instant::now();
            match generate(&path, args.pages) {
                Ok(bytes) => eprintln!(
                    "generated {} ({} pages, {:.1} MiB) in {:.2} s",
                    path.display(),
                    args.pages,
                    mib(bytes),
                    started.elapsed().as_secs_f64()
                ),
                Err(error) => {
                    eprintln!("spool_bench: cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            (path, Some(args.pages))
        }
    };
    if args.only_generate {
        return ExitCode::SUCCESS;
    }

    let input_bytes = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let layout = SpoolLayout {
        charset: Charset::Utf8,
        control: CarriageControl::Fcfc,
        record_length: None,
        lines_per_page: 66,
        columns: 132,
    };
    let pdf_out = args.out.join("out.pdf");
    let text_out = args.out.join("out.txt");

    let rule_set = match args.burst.as_deref().map(load_burst).transpose() {
        Ok(rules) => rules,
        Err(message) => {
            eprintln!("spool_bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    let burst = rule_set
        .as_ref()
        .and_then(|rules| rules.burst_for("cli", "scs", &BTreeMap::new()));

    let hwm_reset = reset_peak_rss();
    let rss_before = status_kib("VmRSS").unwrap_or(0);
    let started = Instant::now();
    let result = match &args.scs {
        Some(_) => convert_scs(&input, args.ccsid, burst, &pdf_out, &text_out)
            .map(|done| (done.pages, done.summary, Some((done.parts, done.work)))),
        None => pipelines::convert_spool_file(&input, &layout, &pdf_out, &text_out)
            .map(|pages| (pages, None, None)),
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM").unwrap_or(0);

    let (pages, scs, parts) = match result {
        Ok(done) => done,
        Err(error) => {
            eprintln!(
                "spool_bench: conversion of {} failed: {error}",
                input.display()
            );
            return ExitCode::FAILURE;
        }
    };
    // A burst run: sizes summed over the parts, then the scratch folder goes.
    let (pdf_bytes, text_bytes, part_count) = match parts {
        Some((count, work)) if burst.is_some() => {
            let (mut pdf, mut text) = (0u64, 0u64);
            for entry in std::fs::read_dir(work.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                if entry.path().extension().is_some_and(|e| e == "pdf") {
                    pdf += len;
                } else {
                    text += len;
                }
            }
            (pdf, text, Some(count))
        }
        _ => (
            std::fs::metadata(&pdf_out).map(|m| m.len()).unwrap_or(0),
            std::fs::metadata(&text_out).map(|m| m.len()).unwrap_or(0),
            None,
        ),
    };
    let rate = pages as f64 / seconds.max(1e-9);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "input        {} ({:.1} MiB)",
        input.display(),
        mib(input_bytes)
    );
    let _ = writeln!(report, "pages        {pages}");
    let _ = writeln!(report, "seconds      {seconds:.3}");
    let _ = writeln!(report, "pages/s      {rate:.0}");
    let _ = writeln!(
        report,
        "pdf          {} ({:.1} MiB, {:.0} B/page)",
        if part_count.is_some() {
            "part-NNNNN.pdf (burst, removed)".to_string()
        } else {
            pdf_out.display().to_string()
        },
        mib(pdf_bytes),
        pdf_bytes as f64 / pages.max(1) as f64
    );
    let _ = writeln!(
        report,
        "text         {} ({:.1} MiB)",
        if part_count.is_some() {
            "part-NNNNN.txt (burst, removed)".to_string()
        } else {
            text_out.display().to_string()
        },
        mib(text_bytes)
    );
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
    let mut scs_fields = String::new();
    if let Some(count) = part_count {
        let _ = writeln!(
            report,
            "burst        {count} documents ({:.0} documents/s), one PDF and one text each",
            count as f64 / seconds.max(1e-9)
        );
        scs_fields.push_str(&format!(" parts={count}"));
    }
    if let Some(summary) = &scs {
        let _ = writeln!(
            report,
            "scs          CCSID {} ({:?}), {} bytes read, {} kind(s) of warning",
            summary.ccsid,
            summary.ccsid_origin,
            summary.bytes,
            summary.warnings.len()
        );
        for warning in &summary.warnings {
            let _ = writeln!(report, "  warning    {warning}");
        }
        scs_fields.push_str(&format!(
            " ccsid={} warnings={}",
            summary.ccsid,
            summary.warnings.len()
        ));
    }
    print!("{report}");
    println!(
        "RESULT pages={pages} seconds={seconds:.6} pages_per_s={rate:.1} pdf_bytes={pdf_bytes} text_bytes={text_bytes} vmhwm_kib={peak_kib} hwm_reset={hwm_reset}{scs_fields}"
    );

    if let Some(expected) = expected_pages {
        if pages != expected {
            eprintln!("spool_bench: expected {expected} pages, the converter made {pages}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
