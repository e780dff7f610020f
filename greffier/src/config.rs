//! The optional configuration file. Every field has a default, so no file is needed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub blobs: BlobsConfig,
    #[serde(default)]
    pub workers: WorkersConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub spool: SpoolConfig,
    #[serde(default)]
    pub mail: MailConfig,
    #[serde(default)]
    pub ocr: OcrConfig,
    #[serde(default)]
    pub afp: AfpConfig,
    #[serde(default)]
    pub source: Vec<SourceConfig>,
}

/// `[afp]`: how AFP print runs are read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AfpConfig {
    /// Overlays and page segments the runs reference but do not carry (IBM i keeps them in
    /// libraries): AFP files named after them, `O1INVBG1`, `O1INVBG1.afp`, `.ovl` or `.psg`.
    pub resource_dir: Option<PathBuf>,
    /// Send a document drawn without one of its overlays, page segments or objects to review
    /// (true, the default), or only record the warning.
    pub review_missing_resources: bool,
}

impl Default for AfpConfig {
    fn default() -> Self {
        AfpConfig {
            resource_dir: None,
            review_missing_resources: true,
        }
    }
}

impl AfpConfig {
    pub fn settings(&self) -> pipelines::AfpSettings {
        pipelines::AfpSettings {
            resource_dir: self.resource_dir.clone(),
            review_missing_resources: self.review_missing_resources,
        }
    }
}

/// `[ocr]`: how scans are read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrConfig {
    /// Tesseract languages (`fra+eng`).
    pub languages: String,
    /// One page's OCR may take this long, then it is retried (and finally quarantined).
    pub page_timeout_secs: f64,
    /// Pages recognised at once; 0 = the number of cores.
    pub parallel: usize,
    /// The tesseract program (a path, or a name looked up in PATH).
    pub tesseract: String,
    /// Another engine instead of tesseract: a command with `{input}` (the page image),
    /// `{output}` and `{lang}`, e.g. `["my-ocr", "--lang", "{lang}", "{input}", "{output}"]`.
    pub command: Option<Vec<String>>,
    /// What the command writes: `tsv` (tesseract's columns), `hocr` or `text`.
    pub command_output: String,
    /// Pages of one image file, at most; pixels of one page, at most (millions).
    pub max_pages: usize,
    pub max_megapixels: u64,
    /// OCR the pages of PDFs that have no text layer (scans to PDF).
    pub pdf_pages: bool,
    /// Turn pages scanned upside down or sideways upright before OCR (tesseract OSD).
    pub orientation: bool,
    /// Cut scanned batches into letters at separator sheets.
    pub separators: bool,
    /// Barcode or QR values that mark a separator sheet.
    pub separator_values: Vec<String>,
    /// Barcode prefixes that make a separator carry a key to the letter after it:
    /// `{ "CLIENT:" = "client_number" }`.
    pub separator_keys: std::collections::BTreeMap<String, String>,
    /// Blank pages are separators too.
    pub blank_separators: bool,
    /// Share of dark pixels (percent) under which a page is blank.
    pub blank_ink_percent: f32,
}

impl Default for OcrConfig {
    fn default() -> Self {
        let defaults = pipelines::OcrSettings::default();
        let separator = pipelines::separator::SeparatorConfig::default();
        OcrConfig {
            languages: defaults.languages,
            page_timeout_secs: defaults.page_timeout.as_secs_f64(),
            parallel: 0,
            tesseract: "tesseract".into(),
            command: None,
            command_output: "tsv".into(),
            max_pages: defaults.limits.max_pages,
            max_megapixels: defaults.limits.max_pixels / 1_000_000,
            pdf_pages: defaults.pdf_pages,
            orientation: defaults.orientation,
            separators: true,
            separator_values: separator.barcode_values,
            separator_keys: separator.key_prefixes.into_iter().collect(),
            blank_separators: separator.blank_pages,
            blank_ink_percent: separator.blank_ink_ratio * 100.0,
        }
    }
}

impl OcrConfig {
    pub fn settings(&self) -> pipelines::OcrSettings {
        let mut settings = pipelines::OcrSettings {
            languages: self.languages.clone(),
            page_timeout: std::time::Duration::from_secs_f64(self.page_timeout_secs.max(1.0)),
            ..pipelines::OcrSettings::default()
        };
        if self.parallel > 0 {
            settings.parallel = self.parallel;
        }
        settings.limits.max_pages = self.max_pages.max(1);
        settings.limits.max_pixels = self.max_megapixels.saturating_mul(1_000_000).max(1);
        settings.pdf_pages = self.pdf_pages;
        settings.orientation = self.orientation;
        settings.separators = self
            .separators
            .then(|| pipelines::separator::SeparatorConfig {
                barcode_values: self.separator_values.clone(),
                key_prefixes: self
                    .separator_keys
                    .iter()
                    .map(|(prefix, key)| (prefix.clone(), key.clone()))
                    .collect(),
                blank_pages: self.blank_separators,
                blank_ink_ratio: self.blank_ink_percent / 100.0,
            });
        settings
    }

    /// The engine: tesseract, or the configured command hook.
    pub fn engine(&self) -> anyhow::Result<std::sync::Arc<dyn ocr_hooks::OcrEngine>> {
        let Some(command) = &self.command else {
            let mut tesseract = ocr_hooks::Tesseract::new();
            tesseract.program = PathBuf::from(&self.tesseract);
            return Ok(std::sync::Arc::new(tesseract));
        };
        let Some((program, args)) = command.split_first() else {
            anyhow::bail!("ocr.command is empty");
        };
        let format = match self.command_output.as_str() {
            "tsv" => ocr_hooks::OutputFormat::Tsv,
            "hocr" => ocr_hooks::OutputFormat::Hocr,
            "text" => ocr_hooks::OutputFormat::Text,
            other => anyhow::bail!("ocr.command_output is {other:?}: use tsv, hocr or text"),
        };
        let spec = ocr_hooks::CommandSpec::new(program.clone(), args.iter().cloned());
        let engine = ocr_hooks::CommandEngine::new(program.clone(), spec, format)
            .map_err(|error| anyhow::anyhow!("ocr.command: {error}"))?;
        Ok(std::sync::Arc::new(engine))
    }
}

/// `[mail]`: how mails (from IMAP sources or `.eml` files) are cut into documents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `never`, `when-no-attachment` (default) or `always`: when the body is a document.
    pub body: String,
    pub max_message_mb: u64,
    pub max_attachment_mb: u64,
    pub max_total_mb: u64,
    /// Levels of forwarded messages walked into.
    pub max_depth: usize,
    pub max_parts: usize,
    /// A zip declaring more than this once unpacked is refused as an archive bomb.
    pub max_archive_mb: u64,
    /// Inline images smaller than this (signature logos) are left out.
    pub inline_min_image_kb: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        let policy = pipelines::mail::MailPolicy::default();
        MailConfig {
            body: "when-no-attachment".into(),
            max_message_mb: policy.max_message_bytes >> 20,
            max_attachment_mb: policy.max_attachment_bytes >> 20,
            max_total_mb: policy.max_total_bytes >> 20,
            max_depth: policy.max_depth,
            max_parts: policy.max_parts,
            max_archive_mb: policy.max_archive_expansion >> 20,
            inline_min_image_kb: policy.inline.min_image_bytes >> 10,
        }
    }
}

impl MailConfig {
    pub fn settings(&self) -> anyhow::Result<pipelines::MailSettings> {
        let body = pipelines::BodyDocument::from_name(&self.body).ok_or_else(|| {
            anyhow::anyhow!(
                "mail.body is {:?}: use never, when-no-attachment or always",
                self.body
            )
        })?;
        let mut policy = pipelines::mail::MailPolicy {
            max_message_bytes: self.max_message_mb.saturating_mul(1 << 20),
            max_attachment_bytes: self.max_attachment_mb.saturating_mul(1 << 20),
            max_total_bytes: self.max_total_mb.saturating_mul(1 << 20),
            max_depth: self.max_depth,
            max_parts: self.max_parts,
            max_archive_expansion: self.max_archive_mb.saturating_mul(1 << 20),
            ..pipelines::mail::MailPolicy::default()
        };
        policy.inline.min_image_bytes = self.inline_min_image_kb.saturating_mul(1 << 10);
        Ok(pipelines::MailSettings { policy, body })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsConfig {
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    pub count: usize,
    pub lease_secs: f64,
    pub max_attempts: i64,
    pub poll_ms: u64,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            count: 2,
            lease_secs: 120.0,
            max_attempts: 5,
            poll_ms: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_document_mb: u64,
    pub max_text_mb: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_document_mb: 256,
            max_text_mb: 16,
        }
    }
}

/// Spool defaults for every source: what neither the bytes nor the source say.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    pub ccsid: Option<u16>,
    pub record_length: Option<usize>,
    pub page_length: Option<usize>,
    pub page_width: Option<usize>,
}

impl SpoolConfig {
    pub fn hints(&self) -> pipelines::SpoolHints {
        pipelines::SpoolHints {
            ccsid: self.ccsid,
            record_length: self.record_length,
            lines_per_page: self.page_length,
            columns: self.page_width,
        }
    }
}

/// One `[[source]]`: `type = "folder"` (spool output and scanner folders) or `type = "lpd"`
/// (an LPD receiver for IBM i remote output queues and LPR clients).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// folder: the folder to watch.
    pub path: Option<PathBuf>,
    /// lpd: the address to listen on, `0.0.0.0:515` by default (515 needs a capability).
    pub listen: Option<String>,
    /// lpd: queue name → attributes of its documents (`ccsid`, `page_length`, anything a
    /// rule condition can test), e.g. `[source.queue.FACTURES] ccsid = 1147`.
    #[serde(default)]
    pub queue: std::collections::BTreeMap<String, std::collections::BTreeMap<String, toml::Value>>,
    /// lpd: take jobs for queues not listed in `queue` (with the source's defaults).
    #[serde(default)]
    pub any_queue: bool,
    /// lpd: the largest job, in MiB.
    pub max_job_mb: Option<u64>,
    /// lpd: how long a sender may stay silent, in seconds.
    pub idle_secs: Option<f64>,
    /// lpd: connections served at once.
    pub max_connections: Option<usize>,
    /// imap: the server, `port` (default by `security`), `security` = tls (default) |
    /// starttls | plain, `user`, and the password from `password`, `password_env` (an
    /// environment variable) or `password_file`.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// imap: folders to watch (default INBOX).
    pub folders: Option<Vec<String>>,
    /// imap: where mails whose documents failed, or that were refused, are moved.
    pub error_folder: Option<String>,
    /// imap: messages per fetch.
    pub batch: Option<usize>,
    /// imap: use IDLE when the server offers it (default true); else poll every `poll_secs`.
    pub idle: Option<bool>,
    pub poll_secs: Option<u64>,
    /// imap: how long one IDLE lasts before the folder is resynced.
    pub resync_secs: Option<u64>,
    /// imap: larger messages are refused without being downloaded.
    pub max_message_mb: Option<u64>,
    /// imap: the address this mailbox receives, for the rules' sender policies.
    pub capture_address: Option<String>,
    /// imap: extra trusted root certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// folder: `delete`, `move:<dir>` or `keep` (default); imap: `move:<folder>` (default
    /// `move:Greffier/Done`), `keyword:<keyword>`, `seen` or `delete`.
    #[serde(default = "default_after")]
    pub after: String,
    #[serde(default = "default_rescan")]
    pub rescan_secs: f64,
    #[serde(default = "default_stable")]
    pub stable_secs: f64,
    #[serde(flatten)]
    pub spool: SpoolConfig,
}

fn default_after() -> String {
    "keep".into()
}
fn default_rescan() -> f64 {
    30.0
}
fn default_stable() -> f64 {
    2.0
}

/// A queue attribute as metadata text (`1147`, `"*FACT"`, `true`).
pub fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(number) => number.to_string(),
        toml::Value::Float(number) => number.to_string(),
        toml::Value::Boolean(flag) => flag.to_string(),
        toml::Value::Datetime(datetime) => datetime.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => String::new(),
    }
}

impl Config {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}
