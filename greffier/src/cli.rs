use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Capture, convert, key, store, index and file business documents.
#[derive(Debug, Parser)]
#[command(name = "greffier", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Log what happens (info level) to stderr; GREFFIER_LOG=debug for more.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (optional: every command works without one).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data folder: SQLite database, blobs and index [default: ./greffier-data].
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://…) instead of the SQLite file in the data folder.
    #[arg(long, global = true)]
    pub db: Option<String>,
    /// Rules file [default: none, every document goes to review].
    #[arg(long, global = true)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture files (or every file in folders) and wait until each is filed, in review,
    /// duplicate or quarantined.
    Ingest {
        #[arg(long)]
        json: bool,
        /// EBCDIC code page for spools that don't say.
        #[arg(long)]
        ccsid: Option<u16>,
        /// Fixed record length for spools without line ends.
        #[arg(long)]
        record_length: Option<usize>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// A document's keys, attachments and audit trail.
    Show {
        #[arg(long)]
        json: bool,
        id: i64,
    },
    /// Full text and field search: `crème brûlée`, `client:CL004711`, `type:invoice`, `keys.total:27.00`.
    Search {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(required = true)]
        query: Vec<String>,
    },
    /// Writes a document's PDF, original or text to stdout.
    Cat {
        id: i64,
        #[arg(long, group = "what")]
        pdf: bool,
        #[arg(long, group = "what")]
        original: bool,
        #[arg(long, group = "what")]
        text: bool,
    },
    /// The review queue: documents no rule could file, with the reasons.
    Review {
        #[arg(long)]
        json: bool,
    },
    /// Quarantined documents, with the reasons.
    Quarantine {
        #[arg(long)]
        json: bool,
    },
    /// Files a document under a record by hand: `greffier attach 12 client:CL004711`.
    Attach { id: i64, target: String },
    /// Sends quarantined documents (one, or all) back to the stage that failed, and waits.
    Retry {
        #[arg(long)]
        json: bool,
        id: Option<i64>,
    },
    /// Rules work: `greffier rules test --rules FILE PATH`.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Rebuilds the search index from the database and the blobs.
    Reindex,
    /// Watches the configured sources and runs the workers until SIGTERM or Ctrl-C.
    Run,
    /// Clients and forms (the records documents are filed under).
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Document counts per status and records.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// What the rules extract from files, storing nothing.
    Test {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Imports records from a CSV file (`;`, `,` or tab separated, UTF-8 or Windows-1252).
    Import {
        /// `client` or `form`.
        kind: String,
        file: PathBuf,
        /// Column mapping: `code=CODE,name=RAISON_SOCIALE` (clients) or `id=FORM,name=LABEL` (forms).
        #[arg(long)]
        map: String,
    },
}
