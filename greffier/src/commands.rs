//! One function per command.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use pipelines::detect::{detect, Format, SNIFF_BYTES};
use storage::{Attachment, Status};

use crate::app::App;
use crate::cli::{Cli, Command, RecordsCommand, RulesCommand};
use crate::report::{print_json, print_json_line, print_summary, print_table, DocReport};

pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Rules {
        command: RulesCommand::Test { json, paths },
    } = &cli.command
    {
        return rules_test(&cli, *json, paths);
    }
    // `run` listens for SIGTERM before it opens anything: a stop asked while the stores open
    // is a stop, not a kill (regression: crash.rs saw an early SIGTERM kill the process).
    let terminate = match cli.command {
        Command::Run => Some(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot listen for SIGTERM")?,
        ),
        _ => None,
    };
    let app = App::open(&cli.global).await?;
    let code = match cli.command {
        Command::Ingest {
            json,
            ccsid,
            record_length,
            paths,
        } => ingest(&app, json, ccsid, record_length, &paths).await?,
        Command::Show { json, id } => show(&app, json, id).await?,
        Command::Search { json, limit, query } => {
            search(&app, json, limit, &query.join(" ")).await?
        }
        Command::Cat {
            id,
            pdf,
            original,
            text,
        } => cat(&app, id, pdf, original, text).await?,
        Command::Review { json } => list(&app, json, Status::Review).await?,
        Command::Quarantine { json } => list(&app, json, Status::Quarantined).await?,
        Command::Attach { id, target } => attach(&app, id, &target).await?,
        Command::Retry { json, id } => retry(&app, json, id).await?,
        Command::Reindex => reindex(&app).await?,
        Command::Run => match terminate {
            Some(terminate) => run(&app, terminate).await?,
            None => bail!("internal error: no SIGTERM listener for run"),
        },
        Command::Records {
            command: RecordsCommand::Import { kind, file, map },
        } => import(&app, &kind, &file, &map).await?,
        Command::Status { json } => status(&app, json).await?,
        Command::Rules { .. } => ExitCode::SUCCESS,
    };
    app.ctx.db.close().await;
    Ok(code)
}

fn progress_bar(enabled: bool) -> impl FnMut(usize, usize) {
    let mut last = usize::MAX;
    move |done, total| {
        if !enabled || done == last {
            return;
        }
        last = done;
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        eprint!(
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        if done == total {
            eprintln!();
        }
    }
}

async fn reports_for(app: &App, ids: &[i64]) -> anyhow::Result<Vec<DocReport>> {
    let mut reports = Vec::with_capacity(ids.len());
    for_each_report(app, ids, |report| {
        reports.push(report);
        Ok(())
    })
    .await?;
    Ok(reports)
}

/// Parts of a print run read at once when reporting.
const REPORT_PAGE: usize = 500;

/// Hands the report of each document of `ids` to `each`, in order; a print run cut into
/// documents gives one report per document, read a page at a time (a run of 20,000 invoices
/// is never in memory whole).
async fn for_each_report(
    app: &App,
    ids: &[i64],
    mut each: impl FnMut(DocReport) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let db = &app.ctx.db;
    for id in ids {
        let doc = db.document(*id).await?;
        if doc.status != storage::Status::Split {
            each(DocReport::load(db, &doc).await?)?;
            continue;
        }
        // A print run cut into documents: the documents are what was filed.
        let part_ids = db.part_ids(doc.id).await?;
        for page in part_ids.chunks(REPORT_PAGE) {
            let parts = db.documents_by_ids(page).await?;
            let mut attachments = db.attachments_of(page).await?;
            for part in &parts {
                let filed_under = attachments.remove(&part.id).unwrap_or_default();
                each(DocReport::of(part, &filed_under))?;
            }
        }
    }
    Ok(())
}

async fn ingest(
    app: &App,
    json: bool,
    ccsid: Option<u16>,
    record_length: Option<usize>,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let batch = format!("ingest-{}-{}", std::process::id(), storage::now_ms());
    let inbox = app.inbox();
    let mut metadata = BTreeMap::new();
    if let Some(ccsid) = ccsid {
        metadata.insert("ccsid".to_string(), ccsid.to_string());
    }
    if let Some(length) = record_length {
        metadata.insert("record_length".to_string(), length.to_string());
    }
    let arrivals = capture::ingest_paths(&inbox, "cli", &batch, paths, &metadata, |_| {}).await?;
    let ids: Vec<i64> = arrivals
        .iter()
        .map(|arrival| arrival.accepted.doc_id)
        .collect();
    let show_progress = !json && std::io::stderr().is_terminal() && ids.len() > 1;
    app.settle(&ids, progress_bar(show_progress)).await?;
    if json {
        for_each_report(app, &ids, |report| print_json_line(&report)).await?;
    } else {
        let reports = reports_for(app, &ids).await?;
        print_table(&reports)?;
        print_summary(&app.ctx.db, &reports).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(app: &App, json: bool, id: i64) -> anyhow::Result<ExitCode> {
    let doc = app.ctx.db.document(id).await?;
    let report = DocReport::load(&app.ctx.db, &doc).await?;
    let events = app.ctx.db.events(id).await?;
    if json {
        let value = serde_json::json!({
            "document": report,
            "source": doc.source,
            "metadata": doc.metadata,
            "targets": doc.targets,
            "events": events,
        });
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "document {id}: {}", report.status)?;
    writeln!(out, "  source:    {} ({})", doc.source_path, doc.source)?;
    writeln!(
        out,
        "  format:    {} ({} pages)",
        doc.format.as_deref().unwrap_or("-"),
        doc.pages.unwrap_or(0)
    )?;
    writeln!(
        out,
        "  type:      {}",
        doc.doc_type.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "  blake3:    {}", doc.blake3.as_deref().unwrap_or("-"))?;
    for (name, value) in &doc.keys {
        writeln!(out, "  key        {name} = {value}")?;
    }
    for label in &report.attached {
        writeln!(out, "  attached   {label}")?;
    }
    for problem in &doc.problems {
        writeln!(out, "  review     {problem}")?;
    }
    if let Some(error) = &report.error {
        writeln!(out, "  error      {error}")?;
    }
    writeln!(out, "  audit trail:")?;
    for event in events {
        writeln!(
            out,
            "    {}  {:<8} {}",
            format_time(event.at),
            event.stage,
            event.message
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

async fn search(app: &App, json: bool, limit: usize, query: &str) -> anyhow::Result<ExitCode> {
    let hits = app
        .ctx
        .index
        .search(query, limit)
        .with_context(|| format!("bad query {query:?}"))?;
    let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
    let reports = reports_for(app, &ids).await?;
    if json {
        print_json(&reports)?;
    } else {
        print_table(&reports)?;
    }
    Ok(if reports.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn cat(
    app: &App,
    id: i64,
    pdf: bool,
    original: bool,
    text: bool,
) -> anyhow::Result<ExitCode> {
    let doc = app.ctx.db.document(id).await?;
    let key = match (pdf, original, text) {
        (_, true, _) => doc.original_key,
        (_, _, true) => doc.text_key,
        _ => doc.pdf_key,
    };
    let Some(key) = key else {
        bail!("document {id} has no such content (status {})", doc.status);
    };
    let mut stdout = std::io::stdout().lock();
    app.ctx.blobs.copy_to(&key, &mut stdout).await?;
    Ok(ExitCode::SUCCESS)
}

async fn list(app: &App, json: bool, status: Status) -> anyhow::Result<ExitCode> {
    let docs = app.ctx.db.documents_with_status(status, 10_000).await?;
    let mut reports = Vec::with_capacity(docs.len());
    for doc in &docs {
        reports.push(DocReport::load(&app.ctx.db, doc).await?);
    }
    if json {
        print_json(&reports)?;
    } else {
        print_table(&reports)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn attach(app: &App, id: i64, target: &str) -> anyhow::Result<ExitCode> {
    let Some((kind, value)) = target.split_once(':') else {
        bail!("target must look like client:CL004711, invoice:FA-2024-000201 or form:F01");
    };
    match kind {
        "client" if app.ctx.db.client(value).await?.is_none() => {
            bail!("client {value} is not in the clients table (import it with greffier records import client)")
        }
        "form" if !app.ctx.db.form_exists(value).await? => {
            bail!("form {value} is not in the forms table")
        }
        "client" | "form" | "invoice" => {}
        other => bail!("unknown record kind {other}: use client, invoice or form"),
    }
    let attachment = Attachment {
        kind: kind.to_string(),
        target: value.to_string(),
        origin: "manual".to_string(),
    };
    app.ctx.db.attach_manually(id, &attachment, "index").await?;
    app.settle(&[id], |_, _| {}).await?;
    let doc = app.ctx.db.document(id).await?;
    print_table(&[DocReport::load(&app.ctx.db, &doc).await?])?;
    Ok(ExitCode::SUCCESS)
}

async fn retry(app: &App, json: bool, id: Option<i64>) -> anyhow::Result<ExitCode> {
    let ids = app.ctx.db.requeue_quarantined(id).await?;
    if ids.is_empty() {
        eprintln!("nothing to retry");
        return Ok(ExitCode::SUCCESS);
    }
    app.settle(&ids, progress_bar(!json && std::io::stderr().is_terminal()))
        .await?;
    let reports = reports_for(app, &ids).await?;
    if json {
        print_json(&reports)?;
    } else {
        print_table(&reports)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn reindex(app: &App) -> anyhow::Result<ExitCode> {
    app.ctx.index.clear()?;
    let mut after = 0;
    let mut indexed = 0;
    loop {
        let docs = app.ctx.db.documents_after(after, 256).await?;
        let Some(last) = docs.last() else { break };
        after = last.id;
        let mut batch = Vec::new();
        for doc in docs
            .iter()
            .filter(|doc| matches!(doc.status, Status::Filed | Status::Review))
        {
            let entry = pipelines::index_doc(&app.ctx, doc)
                .await
                .map_err(|error| anyhow::anyhow!("document {}: {error}", doc.id))?;
            batch.push(entry);
        }
        indexed += batch.len();
        app.ctx.index.upsert(&batch)?;
    }
    println!("reindexed {indexed} documents");
    Ok(ExitCode::SUCCESS)
}

async fn run(app: &App, terminate: tokio::signal::unix::Signal) -> anyhow::Result<ExitCode> {
    let inbox = app.inbox();
    let (stop, mut workers) = app.start_workers();
    let mut sources = tokio::task::JoinSet::new();
    for source in &app.config.source {
        let mut source_task = open_source(app, source).await?;
        let inbox = inbox.clone();
        let stopped = stop.subscribe();
        sources.spawn(async move {
            if let Err(error) = source_task.run(&inbox, stopped).await {
                tracing::error!(source = source_task.name(), %error, "source stopped");
            }
        });
    }
    tracing::info!(
        sources = app.config.source.len(),
        workers = app.config.workers.count,
        "greffier running"
    );
    wait_for_signal(terminate).await;
    tracing::info!("stopping: in-flight work finishes, the rest is left to its lease");
    let _ = stop.send(true);
    while sources.join_next().await.is_some() {}
    while workers.join_next().await.is_some() {}
    Ok(ExitCode::SUCCESS)
}

/// Builds the capture source a `[[source]]` describes (an LPD source is bound here, so a
/// port that cannot be had stops `greffier run` at once).
async fn open_source(
    app: &App,
    source: &crate::config::SourceConfig,
) -> anyhow::Result<Box<dyn capture::Source>> {
    let mut metadata = BTreeMap::new();
    if let Some(ccsid) = source.spool.ccsid {
        metadata.insert("ccsid".to_string(), ccsid.to_string());
    }
    if let Some(length) = source.spool.page_length {
        metadata.insert("page_length".to_string(), length.to_string());
    }
    if let Some(width) = source.spool.page_width {
        metadata.insert("page_width".to_string(), width.to_string());
    }
    match source.kind.as_str() {
        "folder" => {
            let path = source.path.clone().ok_or_else(|| {
                anyhow::anyhow!("source {}: a folder source needs path", source.name)
            })?;
            let after: capture::After = source
                .after
                .parse()
                .map_err(|e: String| anyhow::anyhow!("source {}: {e}", source.name))?;
            let config = capture::FolderConfig {
                name: source.name.clone(),
                path,
                after,
                rescan: std::time::Duration::from_secs_f64(source.rescan_secs.max(0.1)),
                stable_for: std::time::Duration::from_secs_f64(source.stable_secs.max(0.0)),
                metadata,
            };
            Ok(Box::new(capture::FolderSource::new(config)))
        }
        "lpd" => {
            let listen = source.listen.as_deref().unwrap_or("0.0.0.0:515");
            let listen: std::net::SocketAddr = listen.parse().with_context(|| {
                format!(
                    "source {}: listen is not an address:port: {listen}",
                    source.name
                )
            })?;
            let spool_dir = app.data.join("lpd").join(&source.name);
            let mut config = capture::LpdConfig::new(source.name.clone(), listen, spool_dir);
            for (queue, attributes) in &source.queue {
                let mut profile = metadata.clone();
                for (name, value) in attributes {
                    profile.insert(name.clone(), crate::config::value_text(value));
                }
                config = config.with_queue(queue.clone(), profile);
            }
            if source.any_queue || source.queue.is_empty() {
                config.default_profile = Some(metadata);
            }
            if let Some(mb) = source.max_job_mb {
                config.max_job_bytes = mb.saturating_mul(1 << 20);
            }
            if let Some(secs) = source.idle_secs {
                config.idle_timeout = std::time::Duration::from_secs_f64(secs.max(1.0));
            }
            if let Some(count) = source.max_connections {
                config.max_connections = count.max(1);
            }
            let mut lpd = capture::LpdSource::new(config);
            let bound = lpd
                .bind()
                .await
                .with_context(|| format!("source {}: cannot listen on {listen}", source.name))?;
            tracing::info!(source = %source.name, address = %bound, "lpd receiver listening");
            Ok(Box::new(lpd))
        }
        "imap" => Ok(Box::new(capture::ImapSource::new(imap_config(source)?))),
        other => bail!(
            "source {}: unknown type {other:?} (this version has folder, lpd and imap)",
            source.name
        ),
    }
}

/// An IMAP `[[source]]` as the capture crate takes it, its password resolved.
fn imap_config(source: &crate::config::SourceConfig) -> anyhow::Result<capture::ImapConfig> {
    let name = &source.name;
    let host = source
        .host
        .clone()
        .ok_or_else(|| anyhow::anyhow!("source {name}: an imap source needs host"))?;
    let user = source
        .user
        .clone()
        .ok_or_else(|| anyhow::anyhow!("source {name}: an imap source needs user"))?;
    let security: capture::ImapSecurity = source
        .security
        .as_deref()
        .unwrap_or("tls")
        .parse()
        .map_err(|e: String| anyhow::anyhow!("source {name}: {e}"))?;
    let password = match (
        &source.password,
        &source.password_env,
        &source.password_file,
    ) {
        (Some(password), None, None) => password.clone(),
        (None, Some(variable), None) => std::env::var(variable).with_context(|| {
            format!("source {name}: environment variable {variable} (password_env) is not set")
        })?,
        (None, None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| {
                format!(
                    "source {name}: cannot read password_file {}",
                    path.display()
                )
            })?
            .trim_end_matches(['\r', '\n'])
            .to_string(),
        (None, None, None) => {
            bail!("source {name}: an imap source needs password, password_env or password_file")
        }
        _ => bail!("source {name}: give only one of password, password_env and password_file"),
    };
    let port = source.port.unwrap_or_else(|| security.default_port());
    let mut config = capture::ImapConfig::new(name.clone(), host, port, security, user, password);
    if source.after != "keep" {
        config.after = source
            .after
            .parse()
            .map_err(|e: String| anyhow::anyhow!("source {name}: {e}"))?;
    }
    if let Some(folders) = &source.folders {
        config.folders = folders.clone();
    }
    if let Some(folder) = &source.error_folder {
        config.error_folder = folder.clone();
    }
    if let Some(batch) = source.batch {
        config.batch = batch.max(1);
    }
    if let Some(idle) = source.idle {
        config.idle = idle;
    }
    if let Some(secs) = source.poll_secs {
        config.poll_secs = secs.max(1);
    }
    if let Some(secs) = source.resync_secs {
        config.resync_secs = secs.clamp(1, capture::ImapConfig::MAX_IDLE_SECS);
    }
    if let Some(mb) = source.max_message_mb {
        config.max_message_bytes = mb.saturating_mul(1 << 20);
    }
    config.capture_address = source.capture_address.as_ref().map(|a| a.to_lowercase());
    config.ca_file = source.ca_file.clone();
    Ok(config)
}

async fn wait_for_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn decode_csv(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text.trim_start_matches('\u{FEFF}').to_string(),
        Err(error) => error
            .into_bytes()
            .iter()
            .map(|&b| pipelines::charset::windows_1252_char(b))
            .collect(),
    }
}

async fn import(app: &App, kind: &str, file: &Path, map: &str) -> anyhow::Result<ExitCode> {
    let mut mapping = BTreeMap::new();
    for pair in map.split(',') {
        let Some((field, column)) = pair.split_once('=') else {
            bail!("--map takes field=COLUMN pairs, got {pair:?}")
        };
        mapping.insert(field.trim().to_string(), column.trim().to_string());
    }
    let (id_field, id_column) = match kind {
        "client" => ("code", mapping.get("code")),
        "form" => ("id", mapping.get("id")),
        other => bail!("unknown record kind {other}: use client or form"),
    };
    let Some(id_column) = id_column.cloned() else {
        bail!("--map must name the {id_field} column, e.g. {id_field}=CODE")
    };
    let name_column = mapping.get("name").cloned();
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .read_to_end(&mut bytes)?;
    let text = decode_csv(bytes);
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b';');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let position = |column: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(column));
    let Some(id_at) = position(&id_column) else {
        bail!(
            "column {id_column} not in {}: it has {}",
            file.display(),
            headers.join(", ")
        )
    };
    let name_at = match &name_column {
        Some(column) => Some(
            position(column)
                .with_context(|| format!("column {column} not in {}", file.display()))?,
        ),
        None => None,
    };
    let (mut created, mut updated, mut skipped) = (0, 0, 0);
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} line {}", file.display(), line + 2))?;
        let id = record.get(id_at).unwrap_or_default().trim().to_uppercase();
        if id.is_empty() {
            skipped += 1;
            continue;
        }
        let name = name_at
            .and_then(|at| record.get(at))
            .unwrap_or_default()
            .trim()
            .to_string();
        let extra: BTreeMap<String, String> = headers
            .iter()
            .enumerate()
            .filter(|(at, _)| *at != id_at && Some(*at) != name_at)
            .map(|(at, header)| {
                (
                    header.clone(),
                    record.get(at).unwrap_or_default().trim().to_string(),
                )
            })
            .collect();
        let new = match kind {
            "client" => app.ctx.db.upsert_client(&id, &name, &extra).await?,
            _ => app.ctx.db.upsert_form(&id, &name, &extra).await?,
        };
        if new {
            created += 1;
        } else {
            updated += 1;
        }
    }
    println!(
        "{kind} records: {created} created, {updated} updated, {skipped} skipped (no {id_field})"
    );
    Ok(ExitCode::SUCCESS)
}

async fn status(app: &App, json: bool) -> anyhow::Result<ExitCode> {
    let counts = app.ctx.db.counts().await?;
    let records = app.ctx.db.record_counts().await?;
    let indexed = app.ctx.index.count()?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "documents": counts, "records": records, "indexed": indexed })
        );
    } else {
        for (status, n) in &counts {
            println!("{status:<12} {n}");
        }
        for (table, n) in &records {
            println!("{table:<12} {n}");
        }
        println!("{:<12} {indexed}", "indexed");
    }
    Ok(ExitCode::SUCCESS)
}

/// `greffier rules test`: detect and read each file as the pipeline would, run the rules,
/// store nothing.
fn rules_test(cli: &Cli, json: bool, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let config = crate::config::Config::load(cli.global.config.as_deref())?;
    let Some(rules_path) = cli.global.rules.as_ref().or(config.rules.as_ref()) else {
        bail!("rules test needs --rules FILE (or rules = in the config)");
    };
    let rules_text = std::fs::read_to_string(rules_path)
        .with_context(|| format!("cannot read {}", rules_path.display()))?;
    let rules = rules::RuleSet::from_toml(&rules_text)
        .with_context(|| format!("invalid rules {}", rules_path.display()))?;
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let format = detect(
            &bytes[..bytes.len().min(SNIFF_BYTES)],
            bytes.len() as u64,
            &config.spool.hints(),
        )
        .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        let pages: Vec<String> = match &format {
            Format::Pdf => pipelines::pdftext::pdf_pages_text(&bytes)?,
            Format::TextSpool(layout) => {
                let mut pages = Vec::new();
                pipelines::spool::paginate(&bytes[..], layout, |page| {
                    pages.push(page.text());
                    Ok(())
                })?;
                pages
            }
            Format::Scs | Format::Afp => {
                // A print run: converted as the convert stage does, cut by its page groups
                // or the rules' [[burst]], and each document it becomes evaluated.
                for part in convert_run_for_rules(&config, &rules, &format, path)? {
                    let label = format!(
                        "{} p{}-{} (document {})",
                        path.display(),
                        part.page_first,
                        part.page_last,
                        part.index
                    );
                    let place = Some((part.index, part.page_first, part.page_last));
                    print_evaluation(
                        &rules,
                        json,
                        &label,
                        place,
                        &format,
                        &part.pages,
                        &part.metadata,
                    );
                }
                continue;
            }
            other => bail!(
                "{}: no converter yet for {} documents",
                path.display(),
                other.name()
            ),
        };
        let label = path.display().to_string();
        print_evaluation(
            &rules,
            json,
            &label,
            None,
            &format,
            &pages,
            &BTreeMap::new(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One document of a print run, as `rules test` evaluates it.
struct RulesPart {
    index: usize,
    page_first: usize,
    page_last: usize,
    pages: Vec<String>,
    metadata: BTreeMap<String, String>,
}

/// Converts an SCS or AFP print run with the configuration's code page, page size and AFP
/// resources, cut as the convert stage cuts it, and returns each document's page texts and
/// metadata (an AFP page group's `afp.tle.*`).
fn convert_run_for_rules(
    config: &crate::config::Config,
    rules: &rules::RuleSet,
    format: &Format,
    path: &Path,
) -> anyhow::Result<Vec<RulesPart>> {
    use pipelines::convert::{convert_run, PartBytes, Renderer};
    let hints = config.spool.hints();
    let renderer = match format {
        Format::Afp => Renderer::Afp(pipelines::afp::AfpOptions {
            default_ccsid: hints
                .ccsid
                .filter(|&ccsid| pipelines::ebcdic_tables::table(ccsid).is_some())
                .unwrap_or(500),
            resource_dir: config.afp.resource_dir.clone(),
            ..pipelines::afp::AfpOptions::default()
        }),
        _ => Renderer::Scs(pipelines::scs::ScsOptions {
            sidecar_ccsid: None,
            source_ccsid: hints.ccsid,
            fallback: pipelines::spool::PageFormat {
                rows: hints.lines_per_page,
                columns: hints.columns,
                ..pipelines::spool::PageFormat::default()
            },
            keep_blank_pages: false,
        }),
    };
    let burst = rules.burst_for("cli", format.name(), &BTreeMap::new());
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let mut parts = Vec::new();
    convert_run(path, &renderer, burst, scratch.path(), |part| {
        let text = match part.text {
            PartBytes::Memory(bytes) => bytes,
            PartBytes::File(file) => std::fs::read(file)?,
        };
        parts.push(RulesPart {
            index: part.index,
            page_first: part.page_first,
            page_last: part.page_last,
            pages: String::from_utf8_lossy(&text)
                .split('\x0c')
                .map(|page| page.trim_end_matches('\n').to_string())
                .collect(),
            metadata: part.metadata.into_iter().collect(),
        });
        Ok(())
    })
    .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    Ok(parts)
}

/// Runs the rules on one document's pages and prints what they find. `place`: a print run's
/// document, its position and pages in the run.
fn print_evaluation(
    rules: &rules::RuleSet,
    json: bool,
    label: &str,
    place: Option<(usize, usize, usize)>,
    format: &Format,
    pages: &[String],
    metadata: &BTreeMap<String, String>,
) {
    let evaluation = rules.evaluate(&rules::Input {
        source: "cli",
        format: format.name(),
        pages,
        metadata,
        words: None,
    });
    if json {
        let keys: BTreeMap<&String, serde_json::Value> = evaluation
            .keys
            .iter()
            .map(|(name, key)| (name, serde_json::json!({"value": key.value, "raw": key.raw, "rule": key.rule, "page": key.page})))
            .collect();
        let targets: Vec<String> = evaluation
            .targets
            .iter()
            .map(|t| format!("{}:{}", t.kind.as_str(), t.value))
            .collect();
        let mut line = serde_json::json!({"path": label, "format": format.name(), "pages": pages.len(), "doc_type": evaluation.doc_type, "keys": keys, "targets": targets, "problems": evaluation.problems});
        if let (Some((document, first, last)), Some(fields)) = (place, line.as_object_mut()) {
            fields.insert("document".into(), document.into());
            fields.insert("page_first".into(), first.into());
            fields.insert("page_last".into(), last.into());
            if let Some(warning) = metadata.get("afp.warning") {
                fields.insert("warning".into(), warning.as_str().into());
            }
        }
        println!("{line}");
        return;
    }
    println!(
        "{label}: {} ({} pages), type {}",
        format.name(),
        pages.len(),
        evaluation.doc_type.as_deref().unwrap_or("-")
    );
    for (name, key) in &evaluation.keys {
        println!(
            "  key     {name} = {}   ({:?} by {}, page {})",
            key.value, key.raw, key.rule, key.page
        );
    }
    for target in &evaluation.targets {
        println!("  attach  {}:{}", target.kind.as_str(), target.value);
    }
    for problem in &evaluation.problems {
        println!("  review  {problem}");
    }
    if let Some(warning) = metadata.get("afp.warning") {
        println!("  warning {warning}");
    }
}
