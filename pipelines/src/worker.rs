//! A worker: claims documents for its stages, runs them with a timeout, commits, and on
//! failure retries later (transient, with capped exponential backoff) or quarantines
//! (permanent, or too many attempts).

use std::sync::Arc;
use std::time::Duration;

use storage::{Document, StageCommit, Status, StorageError};
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
        }
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
            crew.push(Worker::new(ctx.clone(), plan.clone(), light, LIGHT_BATCH));
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
        let mut done: Vec<(Document, String, Outcome)> = Vec::with_capacity(claimed.len());
        let mut stages_run: Vec<String> = Vec::new();
        for mut doc in claimed {
            let stage_name = doc.stage.clone().unwrap_or_default();
            let Some(stage) = self.plan.get(&stage_name) else {
                self.fail(
                    &doc,
                    &stage_name,
                    StageError::Permanent(format!("unknown stage {stage_name:?}")),
                )
                .await;
                continue;
            };
            let span = tracing::info_span!("stage", doc_id = doc.id, source = %doc.source, stage = %stage_name);
            let _entered = span.enter();
            let timeout = stage.timeout(&self.ctx.settings, &doc);
            let result = self
                .run_leased(
                    doc.id,
                    lease_ms,
                    tokio::time::timeout(timeout, stage.run(&self.ctx, &mut doc)),
                )
                .await;
            match result {
                Ok(Ok(outcome)) => {
                    if !stages_run.contains(&stage_name) {
                        stages_run.push(stage_name.clone());
                    }
                    done.push((doc, stage_name, outcome));
                }
                Ok(Err(error)) => self.fail(&doc, &stage_name, error).await,
                Err(_) => {
                    let error = StageError::Transient(format!("stage timed out after {timeout:?}"));
                    self.fail(&doc, &stage_name, error).await;
                }
            }
        }
        for stage_name in &stages_run {
            let Some(stage) = self.plan.get(stage_name) else {
                continue;
            };
            if let Err(error) = stage.flush(&self.ctx).await {
                for (doc, name, _) in done.iter().filter(|(_, name, _)| name == stage_name) {
                    self.fail(doc, name, error.clone()).await;
                }
                done.retain(|(_, name, _)| name != stage_name);
            }
        }
        if done.len() > 1 {
            let commits: Vec<StageCommit<'_>> = done
                .iter()
                .map(|(doc, stage_name, outcome)| {
                    let (next, status, events) = self.plan_commit(doc, stage_name, outcome);
                    StageCommit {
                        doc,
                        next_stage: next,
                        status,
                        events,
                        extras: &outcome.extras,
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
        for (doc, stage_name, outcome) in done {
            self.commit(doc, &stage_name, outcome).await;
        }
        Ok(handled)
    }

    /// The next stage, the status and the audit lines a stage's outcome commits.
    fn plan_commit(
        &self,
        doc: &Document,
        stage_name: &str,
        outcome: &Outcome,
    ) -> (Option<&'static str>, Status, Vec<(String, String)>) {
        let (next, status) = match outcome.finish {
            Some(status) => (None, status),
            None => match self.plan.next_after(stage_name) {
                Some(next) => (Some(next), Status::Processing),
                None if doc.problems.is_empty() => (None, Status::Filed),
                None => (None, Status::Review),
            },
        };
        let mut events: Vec<(String, String)> = outcome
            .events
            .iter()
            .map(|message| (stage_name.to_string(), message.clone()))
            .collect();
        if status.is_settled() {
            events.push((stage_name.to_string(), format!("document {status}")));
        }
        (next, status, events)
    }

    async fn commit(&self, doc: Document, stage_name: &str, outcome: Outcome) {
        let (next, status, events) = self.plan_commit(&doc, stage_name, &outcome);
        match self
            .ctx
            .db
            .commit(&doc, &self.owner, next, status, &events, &outcome.extras)
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

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
