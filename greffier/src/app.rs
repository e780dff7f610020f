//! Opening the stores and running the workers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use pipelines::{Context, Plan, Settings, Worker};
use storage::{Blobs, Db, SearchIndex};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cli::Global;
use crate::config::Config;

pub struct App {
    /// The data folder (SQLite file, blobs, index, LPD spool) of the embedded default.
    pub data: PathBuf,
    pub ctx: Arc<Context>,
    pub plan: Arc<Plan>,
    pub config: Config,
}

impl App {
    pub async fn open(global: &Global) -> anyhow::Result<App> {
        let config = Config::load(global.config.as_deref())?;
        let data = global
            .data
            .clone()
            .or_else(|| config.data.clone())
            .unwrap_or_else(|| PathBuf::from("greffier-data"));
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create data folder {}", data.display()))?;
        let db = match global.db.as_ref().or(config.database.url.as_ref()) {
            Some(url) => Db::connect(url)
                .await
                .with_context(|| format!("cannot open database {url}"))?,
            None => Db::open_sqlite(&data.join("greffier.db"))
                .await
                .context("cannot open the sqlite database")?,
        };
        let blobs = match &config.blobs.url {
            Some(url) => Blobs::from_url(url)?,
            None => Blobs::local(&data.join("blobs"))?,
        };
        let index =
            SearchIndex::open(&data.join("index")).context("cannot open the search index")?;
        let rules = match global.rules.as_ref().or(config.rules.as_ref()) {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read rules {}", path.display()))?;
                rules::RuleSet::from_toml(&text)
                    .with_context(|| format!("invalid rules {}", path.display()))?
            }
            None => rules::RuleSet::from_toml("").context("empty rule set")?,
        };
        let mut settings = Settings {
            max_document_bytes: config.limits.max_document_mb << 20,
            max_text_bytes: config.limits.max_text_mb << 20,
            lease: Duration::from_secs_f64(config.workers.lease_secs.max(1.0)),
            stage_timeout: Duration::from_secs_f64((config.workers.lease_secs * 0.8).max(1.0)),
            max_attempts: config.workers.max_attempts.max(1),
            spool_defaults: config.spool.hints(),
            poll_interval: Duration::from_millis(config.workers.poll_ms.max(10)),
            mail: config.mail.settings()?,
            ocr: config.ocr.settings(),
            afp: config.afp.settings(),
            ..Settings::default()
        };
        for source in &config.source {
            settings
                .source_hints
                .insert(source.name.clone(), source.spool.hints());
        }
        let ctx = Arc::new(Context {
            db,
            blobs,
            index: Arc::new(index),
            rules: Arc::new(rules),
            ocr: config.ocr.engine()?,
            settings,
        });
        Ok(App {
            data,
            ctx,
            plan: Arc::new(Plan::standard()),
            config,
        })
    }

    pub fn inbox(&self) -> capture::Inbox {
        capture::Inbox::new(
            self.ctx.db.clone(),
            self.ctx.blobs.clone(),
            self.plan.first(),
        )
    }

    /// Starts the worker crew; stop it with the returned sender.
    pub fn start_workers(&self) -> (watch::Sender<bool>, JoinSet<()>) {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for worker in Worker::crew(
            self.ctx.clone(),
            self.plan.clone(),
            self.config.workers.count,
        ) {
            tasks.spawn(worker.run(stopped.clone()));
        }
        (stop, tasks)
    }

    /// Runs the workers until every document in `ids` has left the queue.
    pub async fn settle(
        &self,
        ids: &[i64],
        mut progress: impl FnMut(usize, usize),
    ) -> anyhow::Result<()> {
        let (stop, mut tasks) = self.start_workers();
        let total = ids.len();
        loop {
            let unsettled = usize::try_from(self.ctx.db.count_unsettled(ids).await?).unwrap_or(0);
            progress(total - unsettled.min(total), total);
            if unsettled == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}
