//! A worker: claims documents for its stages, runs them with a timeout, commits, and on
//! failure retries later (transient, with capped exponential backoff) or quarantines
//! (permanent, or too many attempts).

use std::sync::Arc;
use std::time::Duration;

use storage::{CommitExtras, Document, StageCommit, Status, StorageError};
use tokio::sync::watch;

use crate::stages::{Outcome, Plan, StageError};
use crate::Context;

/// How many documents the worker of light stages (extract, attach) takes at once.
const LIGHT_BATCH: i64 = 128;

static WORKER_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Claims and runs documents waiting for a set of stages.
pub struct Worker {
    ctx: Arc<Context>,
    plan: Arc<Plan>,
    stages: Vec<&'static str>,
    batch: i64,
    owner: String,
    /// Runs the next stage on a document right away when this worker serves it too.
    chain: bool,
}

/// Delay before the next try of a document that failed `attempts` times: 1 s, 2 s, 4 s … 5 min.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    Duration::from_secs((1u64 << exponent).min(300))
}

impl Worker {
    /// A worker for `stages`, claiming `batch` documents at a time.
    pub fn new(
        ctx: Arc<Context>,
        plan: Arc<Plan>,
        stages: Vec<&'static str>,
        batch: i64,
    ) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let owner = format!(
            "{host}/{}/{}",
            std::process::id(),
            WORKER_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Worker {
            ctx,
            plan,
            stages,
            batch: batch.max(1),
            owner,
            chain: false,
        }
    }

    /// A worker that runs a document through consecutive stages it serves in one pass and
    /// commits them together (extract then attach: microseconds each, so the commit and the
    /// claim in between were most of their cost).
    pub fn chaining(mut self) -> Worker {
        self.chain = true;
        self
    }

    /// The standard crew: `count` workers for every stage but the index, and one index worker
    /// (tantivy has a single writer).
    pub fn crew(ctx: Arc<Context>, plan: Arc<Plan>, count: usize) -> Vec<Worker> {
        // Rules and record lookups take microseconds: one worker takes them by the batch and
        // commits each batch in one transaction (a burst print run makes thousands at once).
        // The general workers leave them to it, so they never commit them one by one.
        let is_light = |name: &str| matches!(name, "extract" | "attach");
        let general: Vec<&'static str> = plan
            .names()
            .into_iter()
            .filter(|name| *name != "index" && !is_light(name))
            .collect();
        let light: Vec<&'static str> = plan
            .names()
            .into_iter()
            .filter(|name| is_light(name))
            .collect();
        let mut crew: Vec<Worker> = (0..count.max(1))
            .map(|_| Worker::new(ctx.clone(), plan.clone(), general.clone(), 1))
            .collect();
        if !light.is_empty() {
            crew.push(Worker::new(ctx.clone(), plan.clone(), light, LIGHT_BATCH).chaining());
        }
        let index_batch = plan.get("index").map_or(64, |stage| stage.batch_size());
        crew.push(Worker::new(ctx, plan, vec!["index"], index_batch));
        crew
    }

    /// Runs until `shutdown` turns true. In-flight work finishes first; what is claimed and
    /// not committed is left to its lease.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match self.run_once().await {
                Ok(worked) => worked,
                Err(error) => {
                    tracing::warn!(worker = %self.owner, %error, "cannot claim work");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tokio::time::sleep(self.ctx.settings.poll_interval) => {}
                }
            }
        }
    }

    /// Runs a stage while renewing the document's lease every third of it, so a long stage
    /// (a big scan batch) is never taken over by another worker while it is still at work.
    async fn run_leased<T>(
        &self,
        doc_id: i64,
        lease_ms: i64,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let period = (self.ctx.settings.lease / 3).max(std::time::Duration::from_millis(100));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                _ = renew.tick() => {
                    if let Err(error) = self.ctx.db.extend_lease(doc_id, &self.owner, lease_ms).await {
                        tracing::warn!(doc_id, %error, "cannot renew the lease");
                    }
                }
            }
        }
    }

    /// Claims one batch and handles it. Returns how many documents it handled.
    ///
    /// Stage by stage: every document claimed for a stage runs it (after the stage has
    /// prepared for the whole batch), then the stage flushes. A chaining worker then runs the
    /// next stage on the documents it also serves, and so on; all of it is committed at the
    /// end, one transaction for the batch. A chained stage that fails (or whose flush fails)
    /// is undone for its documents: they are committed as they were after the stage before,
    /// and the failed stage runs again on its own later (where its failure is counted).
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let lease_ms = i64::try_from(self.ctx.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let claimed = self
            .ctx
            .db
            .claim(&self.stages, &self.owner, lease_ms, self.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let handled = claimed.len();
        let mut items: Vec<Item> = Vec::with_capacity(claimed.len());
        for doc in claimed {
            let stage_name = doc.stage.clone().unwrap_or_default();
            match self.plan.get(&stage_name) {
                Some(stage) => items.push(Item::new(doc, stage.name())),
                None => {
                    self.fail(
                        &doc,
                        &stage_name,
                        StageError::Permanent(format!("unknown stage {stage_name:?}")),
                    )
                    .await
                }
            }
        }
        loop {
            let mut round: Vec<&'static str> = Vec::new();
            for item in items.iter().filter(|item| item.state == State::Pending) {
                if !round.contains(&item.stage) {
                    round.push(item.stage);
                }
            }
            if round.is_empty() {
                break;
            }
            for stage_name in round {
                self.run_stage(stage_name, &mut items, lease_ms).await;
            }
        }

        let done: Vec<&Item> = items
            .iter()
            .filter(|item| item.state == State::Done)
            .collect();
        if done.len() > 1 {
            let commits: Vec<StageCommit<'_>> = done
                .iter()
                .map(|item| {
                    let (next, status, events) = self.plan_commit(item);
                    StageCommit {
                        doc: &item.doc,
                        next_stage: next,
                        status,
                        events,
                        extras: &item.extras,
                    }
                })
                .collect();
            match self.ctx.db.commit_batch(&self.owner, &commits).await {
                Ok(()) => {
                    for commit in &commits {
                        if commit.status.is_settled() {
                            tracing::info!(doc_id = commit.doc.id, source = %commit.doc.source, path = %commit.doc.source_path, status = %commit.status, "document settled");
                        }
                    }
                    return Ok(handled);
                }
                Err(error) => {
                    tracing::debug!(%error, "batch commit refused: committing one by one");
                }
            }
        }
        for item in done {
            self.commit(item).await;
        }
        Ok(handled)
    }

    /// Runs `stage_name` on every pending item waiting for it, then flushes the stage.
    async fn run_stage(&self, stage_name: &'static str, items: &mut [Item], lease_ms: i64) {
        let Some(stage) = self.plan.get(stage_name) else {
            // Never happens (items only name stages of the plan), but a pass must end: they
            // are committed as they are.
            for item in items.iter_mut().filter(|item| item.stage == stage_name) {
                item.state = State::Done;
            }
            return;
        };
        let waiting: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].state == State::Pending && items[i].stage == stage_name)
            .collect();
        {
            let docs: Vec<&Document> = waiting.iter().map(|&i| &items[i].doc).collect();
            if let Err(error) = stage.prepare(&self.ctx, &docs).await {
                // Only a shortcut: each run looks up what it needs itself.
                tracing::debug!(stage = stage_name, %error, "cannot prepare the batch");
            }
        }
        let mut ran: Vec<usize> = Vec::with_capacity(waiting.len());
        for index in waiting {
            let item = &mut items[index];
            let chained = !item.ran.is_empty();
            let before = chained.then(|| Snapshot::of(item));
            let span = tracing::info_span!("stage", doc_id = item.doc.id, source = %item.doc.source, stage = %stage_name);
            let _entered = span.enter();
            let timeout = stage.timeout(&self.ctx.settings, &item.doc);
            let doc_id = item.doc.id;
            let result = self
                .run_leased(
                    doc_id,
                    lease_ms,
                    tokio::time::timeout(timeout, stage.run(&self.ctx, &mut item.doc)),
                )
                .await;
            let error = match result {
                Ok(Ok(outcome)) => {
                    item.absorb(stage_name, outcome, before);
                    self.advance(item);
                    ran.push(index);
                    continue;
                }
                Ok(Err(error)) => error,
                Err(_) => StageError::Transient(format!("stage timed out after {timeout:?}")),
            };
            match before {
                Some(before) => {
                    tracing::info!(doc_id, stage = stage_name, %error, "chained stage failed: it runs again on its own");
                    before.restore(item);
                }
                None => {
                    self.fail(&item.doc, stage_name, error).await;
                    item.state = State::Failed;
                }
            }
        }
        // Even when none ran: the flush also drops what `prepare` kept for the batch.
        if let Err(error) = stage.flush(&self.ctx).await {
            for index in ran {
                let item = &mut items[index];
                match item.undo.take() {
                    Some(before) => before.restore(item),
                    None => {
                        self.fail(&item.doc, stage_name, error.clone()).await;
                        item.state = State::Failed;
                    }
                }
            }
        }
    }

    /// After a stage succeeded: the next stage in the same pass (a chaining worker that
    /// serves it), or the commit.
    fn advance(&self, item: &mut Item) {
        if item.finish.is_some() || !self.chain {
            item.state = State::Done;
            return;
        }
        match self.plan.next_after(item.stage) {
            Some(next) if self.stages.contains(&next) => {
                item.stage = next;
                item.state = State::Pending;
            }
            _ => item.state = State::Done,
        }
    }

    /// The next stage, the status and the audit lines an item commits.
    fn plan_commit(&self, item: &Item) -> (Option<&'static str>, Status, Vec<(String, String)>) {
        let last = item.last_ran();
        let (next, status) = match item.finish {
            Some(status) => (None, status),
            None => match last.and_then(|last| self.plan.next_after(last)) {
                Some(next) => (Some(next), Status::Processing),
                None if last.is_none() => (Some(item.stage), Status::Processing),
                None if item.doc.problems.is_empty() => (None, Status::Filed),
                None => (None, Status::Review),
            },
        };
        let mut events = item.events.clone();
        if status.is_settled() {
            events.push((
                last.unwrap_or(item.stage).to_string(),
                format!("document {status}"),
            ));
        }
        (next, status, events)
    }

    async fn commit(&self, item: &Item) {
        let (next, status, events) = self.plan_commit(item);
        let doc = &item.doc;
        let stage_name = item.last_ran().unwrap_or(item.stage);
        match self
            .ctx
            .db
            .commit(doc, &self.owner, next, status, &events, &item.extras)
            .await
        {
            Ok(()) => {
                tracing::debug!(doc_id = doc.id, stage = stage_name, next = next.unwrap_or("-"), %status, "stage committed");
                if status.is_settled() {
                    tracing::info!(doc_id = doc.id, source = %doc.source, path = %doc.source_path, %status, "document settled");
                }
            }
            Err(StorageError::LeaseLost { .. }) => {
                tracing::warn!(
                    doc_id = doc.id,
                    stage = stage_name,
                    "lease lost before commit: another worker redoes the stage"
                );
            }
            Err(error) => {
                tracing::warn!(doc_id = doc.id, stage = stage_name, %error, "cannot commit stage: it will run again when the lease expires");
            }
        }
    }

    async fn fail(&self, doc: &Document, stage_name: &str, error: StageError) {
        let max_attempts = self.ctx.settings.max_attempts;
        let result = if !error.is_transient() {
            tracing::warn!(doc_id = doc.id, stage = stage_name, %error, "quarantined");
            self.ctx
                .db
                .quarantine(doc.id, &self.owner, stage_name, &error.to_string())
                .await
        } else if doc.attempts >= max_attempts {
            let reason = format!("gave up after {} attempts: {error}", doc.attempts);
            tracing::warn!(doc_id = doc.id, stage = stage_name, %reason, "quarantined");
            self.ctx
                .db
                .quarantine(doc.id, &self.owner, stage_name, &reason)
                .await
        } else {
            let delay = backoff(doc.attempts);
            tracing::info!(doc_id = doc.id, stage = stage_name, %error, retry_in_ms = delay.as_millis() as u64, "will retry");
            let run_after =
                storage::now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            self.ctx
                .db
                .retry_later(
                    doc.id,
                    &self.owner,
                    stage_name,
                    &error.to_string(),
                    run_after,
                )
                .await
        };
        if let Err(error) = result {
            tracing::warn!(doc_id = doc.id, stage = stage_name, %error, "cannot record the failure: the lease will expire and the stage run again");
        }
    }
}

/// Where a claimed document is in this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waits for `Item::stage` in this pass.
    Pending,
    /// To commit.
    Done,
    /// Its failure is recorded: nothing to commit.
    Failed,
}

/// A claimed document and what the stages of this pass did to it.
struct Item {
    doc: Document,
    /// The stage it waits for (pending), or the last one it ran.
    stage: &'static str,
    state: State,
    /// The stages it ran in this pass, in order.
    ran: Vec<&'static str>,
    events: Vec<(String, String)>,
    extras: CommitExtras,
    finish: Option<Status>,
    /// The item before its last stage, when that stage was chained: restored if the stage's
    /// flush fails.
    undo: Option<Snapshot>,
}

impl Item {
    fn new(doc: Document, stage: &'static str) -> Item {
        Item {
            doc,
            stage,
            state: State::Pending,
            ran: Vec::new(),
            events: Vec::new(),
            extras: CommitExtras::default(),
            finish: None,
            undo: None,
        }
    }

    fn last_ran(&self) -> Option<&'static str> {
        self.ran.last().copied()
    }

    /// Takes a successful stage's outcome in.
    fn absorb(&mut self, stage_name: &'static str, outcome: Outcome, before: Option<Snapshot>) {
        self.undo = before;
        self.ran.push(stage_name);
        self.events.extend(
            outcome
                .events
                .into_iter()
                .map(|message| (stage_name.to_string(), message)),
        );
        let extras = outcome.extras;
        self.extras.attachments.extend(extras.attachments);
        if extras.invoice.is_some() {
            self.extras.invoice = extras.invoice;
        }
        self.extras.parts.extend(extras.parts);
        self.finish = outcome.finish;
    }
}

/// An item as it was before a chained stage.
struct Snapshot {
    doc: Document,
    stage: &'static str,
    ran: usize,
    events: usize,
    extras: CommitExtras,
}

impl Snapshot {
    fn of(item: &Item) -> Snapshot {
        Snapshot {
            doc: item.doc.clone(),
            stage: item.stage,
            ran: item.ran.len(),
            events: item.events.len(),
            extras: item.extras.clone(),
        }
    }

    /// Puts the item back as it was, to commit: the stage it failed runs later on its own.
    fn restore(self, item: &mut Item) {
        item.doc = self.doc;
        item.stage = self.stage;
        item.ran.truncate(self.ran);
        item.events.truncate(self.events);
        item.extras = self.extras;
        item.finish = None;
        item.undo = None;
        item.state = State::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use futures::future::BoxFuture;
    use storage::{Blobs, Db, NewArrival, SearchIndex};

    use crate::stages::Stage;

    /// A stage that records its name in the document's keys, and fails (transiently) for a
    /// document whose original is named `fails-in-<stage>`.
    struct Step(&'static str);

    impl Stage for Step {
        fn name(&self) -> &'static str {
            self.0
        }
        fn run<'a>(
            &'a self,
            _ctx: &'a Context,
            doc: &'a mut Document,
        ) -> BoxFuture<'a, Result<Outcome, StageError>> {
            Box::pin(async move {
                doc.keys.insert(self.0.into(), "ran".into());
                if doc.source_ref == format!("fails-in-{}", self.0) {
                    return Err(StageError::Transient(format!("{} is down", self.0)));
                }
                Ok(Outcome {
                    events: vec![format!("{} done", self.0)],
                    ..Outcome::default()
                })
            })
        }
    }

    async fn context(dir: &std::path::Path) -> Arc<Context> {
        Arc::new(Context {
            db: Db::open_sqlite(&dir.join("greffier.db")).await.unwrap(),
            blobs: Blobs::memory(),
            index: Arc::new(SearchIndex::open(&dir.join("index")).unwrap()),
            rules: Arc::new(rules::RuleSet::from_toml("").unwrap()),
            ocr: Arc::new(ocr_hooks::Tesseract::new()),
            settings: crate::Settings::default(),
        })
    }

    async fn arrive(ctx: &Context, name: &str) -> i64 {
        let original = ctx.blobs.store_original(name.as_bytes()).await.unwrap();
        let arrival = NewArrival {
            source: "test".into(),
            source_ref: name.into(),
            source_path: name.into(),
            batch: None,
            metadata: BTreeMap::new(),
        };
        ctx.db
            .insert_arrival(&arrival, &original, "one")
            .await
            .unwrap()
            .0
    }

    /// Chaining: a document runs every stage the worker serves in one pass and one commit;
    /// when a chained stage fails, the document is committed as the stage before left it (its
    /// key, its audit line, no trace of the failed try) and the failed stage runs again on its
    /// own, where the failure is recorded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chained_stage_that_fails_is_undone_and_runs_again_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let plan = Arc::new(Plan::of(vec![
            Box::new(Step("one")),
            Box::new(Step("two")),
            Box::new(Step("three")),
        ]));
        let good = arrive(&ctx, "good").await;
        let bad = arrive(&ctx, "fails-in-two").await;
        let worker = Worker::new(ctx.clone(), plan.clone(), vec!["one", "two"], 10).chaining();

        assert_eq!(worker.run_once().await.unwrap(), 2);
        let good_doc = ctx.db.document(good).await.unwrap();
        assert_eq!(good_doc.stage.as_deref(), Some("three"));
        assert_eq!(good_doc.keys.len(), 2, "{:?}", good_doc.keys);
        let bad_doc = ctx.db.document(bad).await.unwrap();
        assert_eq!(bad_doc.stage.as_deref(), Some("two"));
        assert_eq!(bad_doc.keys.keys().collect::<Vec<_>>(), ["one"]);
        assert_eq!(bad_doc.attempts, 0);
        assert_eq!(bad_doc.last_error, None);
        let events: Vec<String> = ctx
            .db
            .events(bad)
            .await
            .unwrap()
            .into_iter()
            .map(|event| format!("{}: {}", event.stage, event.message))
            .collect();
        assert_eq!(events.last().map(String::as_str), Some("one: one done"));

        // On its own, the failure counts: retried later with the reason.
        assert_eq!(worker.run_once().await.unwrap(), 1);
        let bad_doc = ctx.db.document(bad).await.unwrap();
        assert_eq!(bad_doc.stage.as_deref(), Some("two"));
        assert_eq!(bad_doc.last_error.as_deref(), Some("two is down"));
        assert_eq!(bad_doc.attempts, 1);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
