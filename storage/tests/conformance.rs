//! One conformance suite for the queue and the records, run against every database backend:
//! SQLite (a file, as embedded) and PostgreSQL (a fresh schema per test on the server given
//! by GREFFIER_TEST_POSTGRES, default postgres://root@127.0.0.1:5432/test). PostgreSQL tests
//! fail loudly when the server is missing: they never skip.

use std::collections::BTreeMap;
use std::sync::Arc;

use storage::{
    Attachment, Blobs, CommitExtras, Db, InvoiceRecord, NewArrival, NewPart, StageCommit, Status,
    StorageError,
};

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(&dir.path().join("greffier.db"))
        .await
        .unwrap();
    (db, dir)
}

async fn postgres() -> Db {
    let base = std::env::var("GREFFIER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    sqlx::any::install_default_drivers();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL is required for this test at {base}: {error}"));
    let schema = format!(
        "greffier_test_{}_{}",
        std::process::id(),
        storage::now_ms() % 1_000_000_000 + rand_suffix()
    );
    sqlx::Executor::execute(&mut admin, format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    Db::connect(&format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
    .await
    .unwrap()
}

fn rand_suffix() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static COUNTER: AtomicI64 = AtomicI64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed) * 1_000_000_007 % 999_983
}

async fn arrive(db: &Db, blobs: &Blobs, name: &str, bytes: &[u8]) -> i64 {
    let original = blobs.store_original(bytes).await.unwrap();
    let arrival = NewArrival {
        source: "spool-in".into(),
        source_ref: name.into(),
        source_path: format!("/spool/{name}"),
        batch: Some("b1".into()),
        metadata: BTreeMap::new(),
    };
    db.insert_arrival(&arrival, &original, "detect")
        .await
        .unwrap()
        .0
}

async fn arrivals_are_idempotent(db: Db) {
    let blobs = Blobs::memory();
    let original = blobs.store_original(&b"QPRINT"[..]).await.unwrap();
    let arrival = NewArrival {
        source: "spool-in".into(),
        source_ref: "a|1|2".into(),
        source_path: "/a".into(),
        ..Default::default()
    };
    let (first, new) = db
        .insert_arrival(&arrival, &original, "detect")
        .await
        .unwrap();
    assert!(new);
    let (again, new_again) = db
        .insert_arrival(&arrival, &original, "detect")
        .await
        .unwrap();
    assert_eq!((again, new_again), (first, false));
    assert_eq!(
        db.arrival_id("spool-in", "a|1|2").await.unwrap(),
        Some(first)
    );
    let doc = db.document(first).await.unwrap();
    assert_eq!(
        (doc.status, doc.stage.as_deref()),
        (Status::Processing, Some("detect"))
    );
    assert_eq!(doc.blake3.as_deref(), Some(original.blake3.as_str()));
    assert_eq!(db.events(first).await.unwrap().len(), 1);
}

async fn a_claim_is_a_lease(db: Db) {
    let blobs = Blobs::memory();
    let id = arrive(&db, &blobs, "lease", b"one").await;
    let claimed = db.claim(&["detect"], "worker-a", 60_000, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        db.claim(&["detect"], "worker-b", 60_000, 1)
            .await
            .unwrap()
            .is_empty(),
        "a held lease is not claimable"
    );
    assert!(
        db.claim(&["convert"], "worker-b", 60_000, 1)
            .await
            .unwrap()
            .is_empty(),
        "other stages do not see it"
    );

    // worker-a stalls; its lease expires and worker-b takes over.
    let stale = db.claim(&["detect"], "worker-c", 1, 1).await.unwrap();
    assert!(stale.is_empty());
    let id2 = arrive(&db, &blobs, "lease2", b"two").await;
    let short = db.claim(&["detect"], "worker-a", 1, 1).await.unwrap();
    assert_eq!(short[0].id, id2);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let taken = db.claim(&["detect"], "worker-b", 60_000, 1).await.unwrap();
    assert_eq!(taken[0].id, id2);
    assert_eq!(taken[0].attempts, 2);
    let lost = db
        .commit(
            &short[0],
            "worker-a",
            Some("dedupe"),
            Status::Processing,
            &[],
            &CommitExtras::default(),
        )
        .await;
    assert!(
        matches!(lost, Err(StorageError::LeaseLost { .. })),
        "the old owner commits nothing"
    );
    db.commit(
        &taken[0],
        "worker-b",
        Some("dedupe"),
        Status::Processing,
        &[("detect".into(), "format pdf".into())],
        &CommitExtras::default(),
    )
    .await
    .unwrap();
    let doc = db.document(id2).await.unwrap();
    assert_eq!(
        (doc.stage.as_deref(), doc.attempts, doc.lease_owner),
        (Some("dedupe"), 0, None)
    );
    let _ = id;
}

async fn a_commit_writes_outputs_and_records_together(db: Db) {
    let blobs = Blobs::memory();
    let id = arrive(&db, &blobs, "commit", b"FACTURE").await;
    db.upsert_client("CL004711", "Boulangerie Martin", &BTreeMap::new())
        .await
        .unwrap();
    let mut doc = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    doc.format = Some("text-spool".into());
    doc.keys
        .insert("invoice_number".into(), "FA-2024-000201".into());
    doc.targets = vec!["client:CL004711".into(), "invoice:FA-2024-000201".into()];
    let extras = CommitExtras {
        attachments: vec![
            Attachment {
                kind: "client".into(),
                target: "CL004711".into(),
                origin: "rules: invoice".into(),
            },
            Attachment {
                kind: "invoice".into(),
                target: "FA-2024-000201".into(),
                origin: "rules: invoice".into(),
            },
        ],
        invoice: Some(InvoiceRecord {
            number: "FA-2024-000201".into(),
            client_code: Some("CL004711".into()),
            date: Some("2024-03-15".into()),
            total: Some("1481.47".into()),
        }),
        ..CommitExtras::default()
    };
    db.commit(
        &doc,
        "w",
        None,
        Status::Filed,
        &[("attach".into(), "attached".into())],
        &extras,
    )
    .await
    .unwrap();
    let stored = db.document(id).await.unwrap();
    assert_eq!(stored.status, Status::Filed);
    assert_eq!(
        stored.keys.get("invoice_number").map(String::as_str),
        Some("FA-2024-000201")
    );
    assert_eq!(stored.targets, doc.targets);
    let labels: Vec<String> = db
        .attachments(id)
        .await
        .unwrap()
        .iter()
        .map(Attachment::label)
        .collect();
    assert_eq!(labels, ["client:CL004711", "invoice:FA-2024-000201"]);
    assert_eq!(
        db.invoice_document("FA-2024-000201").await.unwrap(),
        Some(id)
    );
    assert_eq!(
        db.invoice_client("FA-2024-000201")
            .await
            .unwrap()
            .as_deref(),
        Some("CL004711")
    );
    assert_eq!(
        db.documents_attached_to("client", "CL004711")
            .await
            .unwrap(),
        vec![id]
    );
    // A settled document is never claimed again.
    assert!(db
        .claim(&["detect", "index"], "w", 60_000, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn failures_retry_later_or_quarantine(db: Db) {
    let blobs = Blobs::memory();
    let id = arrive(&db, &blobs, "fail", b"garbage").await;
    let doc = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    db.retry_later(
        doc.id,
        "w",
        "detect",
        "database busy",
        storage::now_ms() + 60_000,
    )
    .await
    .unwrap();
    assert!(
        db.claim(&["detect"], "w", 60_000, 1)
            .await
            .unwrap()
            .is_empty(),
        "not before run_after"
    );
    assert_eq!(
        db.document(id).await.unwrap().last_error.as_deref(),
        Some("database busy")
    );

    let id2 = arrive(&db, &blobs, "fail2", b"more garbage").await;
    let doc2 = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(doc2.id, id2);
    db.quarantine(id2, "w", "detect", "not a known format: binary data")
        .await
        .unwrap();
    let quarantined = db
        .documents_with_status(Status::Quarantined, 10)
        .await
        .unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].failed_stage.as_deref(), Some("detect"));
    assert_eq!(
        quarantined[0].last_error.as_deref(),
        Some("not a known format: binary data")
    );

    assert_eq!(db.requeue_quarantined(None).await.unwrap(), vec![id2]);
    let again = db.claim(&["detect"], "w", 60_000, 1).await.unwrap();
    assert_eq!(again[0].id, id2);
    assert_eq!(again[0].status, Status::Processing);
}

async fn unreadable_arrivals_are_quarantined_and_not_retried(db: Db) {
    let arrival = NewArrival {
        source: "cli".into(),
        source_ref: "gone|1".into(),
        source_path: "gone.txt".into(),
        ..Default::default()
    };
    let (id, new) = db
        .insert_unreadable(&arrival, "file vanished before it could be read")
        .await
        .unwrap();
    assert!(new);
    let doc = db.document(id).await.unwrap();
    assert_eq!(doc.status, Status::Quarantined);
    assert!(
        db.requeue_quarantined(Some(id)).await.unwrap().is_empty(),
        "nothing stored, nothing to retry"
    );
}

async fn concurrent_claimers_never_share_a_document(db: Db) {
    let blobs = Blobs::memory();
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(arrive(&db, &blobs, &format!("c{n}"), format!("doc {n}").as_bytes()).await);
    }
    let db = Arc::new(db);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("w{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = db.claim(&["detect"], &owner, 60_000, 3).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                for doc in claimed {
                    db.commit(
                        &doc,
                        &owner,
                        Some("dedupe"),
                        Status::Processing,
                        &[],
                        &CommitExtras::default(),
                    )
                    .await
                    .unwrap();
                    mine.push(doc.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    assert_eq!(all, ids, "each document claimed exactly once");
}

async fn duplicates_point_to_the_first(db: Db) {
    let blobs = Blobs::memory();
    let first = arrive(&db, &blobs, "d1", b"same bytes").await;
    let second = arrive(&db, &blobs, "d2", b"same bytes").await;
    let other = arrive(&db, &blobs, "d3", b"other bytes").await;
    let hash = db.document(second).await.unwrap().blake3.unwrap();
    assert_eq!(
        db.first_with_hash(&hash, second).await.unwrap(),
        Some(first)
    );
    assert_eq!(db.first_with_hash(&hash, first).await.unwrap(), None);
    let other_hash = db.document(other).await.unwrap().blake3.unwrap();
    assert_eq!(db.first_with_hash(&other_hash, other).await.unwrap(), None);
    assert_eq!(
        blobs.count("originals").await.unwrap(),
        2,
        "same bytes stored once"
    );
}

async fn records_and_manual_attachments(db: Db) {
    let blobs = Blobs::memory();
    assert!(db
        .upsert_client("CL004712", "Transports Lefèvre", &BTreeMap::new())
        .await
        .unwrap());
    assert!(!db
        .upsert_client("CL004712", "Transports Lefèvre SAS", &BTreeMap::new())
        .await
        .unwrap());
    assert_eq!(
        db.client("CL004712").await.unwrap().unwrap().name,
        "Transports Lefèvre SAS"
    );
    assert!(db.client("CL009999").await.unwrap().is_none());
    assert!(db
        .upsert_form("F-RIB", "Mandat SEPA", &BTreeMap::new())
        .await
        .unwrap());
    assert!(db.form_exists("F-RIB").await.unwrap());

    let id = arrive(&db, &blobs, "review", b"lettre").await;
    let mut doc = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    doc.problems = vec!["no document type matched".into()];
    db.commit(
        &doc,
        "w",
        None,
        Status::Review,
        &[],
        &CommitExtras::default(),
    )
    .await
    .unwrap();
    let attachment = Attachment {
        kind: "client".into(),
        target: "CL004712".into(),
        origin: "manual".into(),
    };
    assert!(db.attach_manually(id, &attachment, "index").await.unwrap());
    let doc = db.document(id).await.unwrap();
    assert_eq!(
        (doc.status, doc.stage.as_deref()),
        (Status::Processing, Some("index"))
    );
    assert!(doc.problems.is_empty());
    assert_eq!(db.record_counts().await.unwrap().get("clients"), Some(&1));
}

async fn a_split_run_and_its_parts_commit_together_once(db: Db) {
    let blobs = Blobs::memory();
    let run = arrive(&db, &blobs, "run", b"three invoices").await;
    let doc = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    let parts: Vec<NewPart> = [(1, 1), (2, 3), (4, 4)]
        .iter()
        .enumerate()
        .map(|(position, &(first, last))| NewPart {
            index: position + 1,
            page_first: Some(first),
            page_last: Some(last),
            pdf_key: Some(format!("derived/{run}/part-{}.pdf", position + 1)),
            text_key: Some(format!("derived/{run}/part-{}.txt", position + 1)),
            metadata: BTreeMap::from([("burst.part".to_string(), (position + 1).to_string())]),
            stage: "extract".into(),
            ..NewPart::default()
        })
        .collect();
    let extras = CommitExtras {
        parts,
        ..CommitExtras::default()
    };
    db.commit(&doc, "w", None, Status::Split, &[], &extras)
        .await
        .unwrap();
    let stored = db.parts(run).await.unwrap();
    let ranges: Vec<(Option<i64>, Option<i64>)> = stored
        .iter()
        .map(|part| (part.page_first, part.page_last))
        .collect();
    assert_eq!(
        ranges,
        [(Some(1), Some(1)), (Some(2), Some(3)), (Some(4), Some(4))]
    );
    assert!(stored.iter().all(|part| part.parent_id == Some(run)
        && part.stage.as_deref() == Some("extract")
        && part.status == Status::Processing
        && part.original_key == doc.original_key
        && part.batch.as_deref() == Some("b1")));
    assert_eq!(stored[1].pages, Some(2));
    assert_eq!(
        db.count_unsettled(&[run]).await.unwrap(),
        3,
        "the run waits for its parts"
    );

    // Parts are claimed like any document, and several commit in one transaction.
    let claimed = db.claim(&["extract"], "light", 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let none = CommitExtras::default();
    let commits: Vec<StageCommit<'_>> = claimed
        .iter()
        .map(|part| StageCommit {
            doc: part,
            next_stage: None,
            status: Status::Filed,
            events: vec![("extract".into(), "done".into())],
            extras: &none,
        })
        .collect();
    db.commit_batch("light", &commits).await.unwrap();
    assert_eq!(db.count_unsettled(&[run]).await.unwrap(), 0);

    // A batch with one lost lease writes nothing at all.
    let again = arrive(&db, &blobs, "again", b"other bytes").await;
    let mut claimed = db.claim(&["detect"], "x", 60_000, 1).await.unwrap();
    let mut stranger = claimed.remove(0);
    stranger.id = again;
    let filed = db.document(stored[0].id).await.unwrap();
    let commits = [
        StageCommit {
            doc: &stranger,
            next_stage: Some("dedupe"),
            status: Status::Processing,
            events: vec![],
            extras: &none,
        },
        StageCommit {
            doc: &filed,
            next_stage: None,
            status: Status::Review,
            events: vec![],
            extras: &none,
        },
    ];
    let result = db.commit_batch("x", &commits).await;
    assert!(
        matches!(result, Err(StorageError::LeaseLost { .. })),
        "{result:?}"
    );
    assert_eq!(
        db.document(again).await.unwrap().stage.as_deref(),
        Some("detect")
    );
    assert_eq!(
        db.document(stored[0].id).await.unwrap().status,
        Status::Filed
    );
}

/// A batch larger than one statement's rows (a burst run of 600 invoices): every part, audit
/// line, attachment and invoice lands, the first document to name an invoice number keeps
/// it, and the batch lookups of the attach and index stages agree with the single ones.
async fn a_large_batch_commits_every_row_and_batch_lookups_agree(db: Db) {
    const PARTS: usize = 600;
    let blobs = Blobs::memory();
    arrive(&db, &blobs, "big-run", b"six hundred invoices").await;
    for code in ["CL1", "CL2"] {
        db.upsert_client(code, code, &BTreeMap::new())
            .await
            .unwrap();
    }
    db.upsert_form("F1", "form", &BTreeMap::new())
        .await
        .unwrap();
    let doc = db
        .claim(&["detect"], "w", 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    let parts: Vec<NewPart> = (1..=PARTS)
        .map(|index| NewPart {
            index,
            page_first: Some(index as i64),
            page_last: Some(index as i64),
            stage: "attach".into(),
            ..NewPart::default()
        })
        .collect();
    let extras = CommitExtras {
        parts,
        ..CommitExtras::default()
    };
    db.commit(&doc, "w", None, Status::Split, &[], &extras)
        .await
        .unwrap();
    let claimed = db.claim(&["attach"], "w", 60_000, 1000).await.unwrap();
    assert_eq!(claimed.len(), PARTS);
    // Invoice i, except that the last part names the first part's invoice again.
    let number =
        |position: usize| format!("FA-{:05}", if position == PARTS - 1 { 0 } else { position });
    let extras: Vec<CommitExtras> = (0..PARTS)
        .map(|position| CommitExtras {
            attachments: vec![
                Attachment {
                    kind: "client".into(),
                    target: format!("CL{}", 1 + position % 2),
                    origin: "rules: invoice".into(),
                },
                Attachment {
                    kind: "invoice".into(),
                    target: number(position),
                    origin: "rules: invoice".into(),
                },
            ],
            invoice: Some(InvoiceRecord {
                number: number(position),
                client_code: Some(format!("CL{}", 1 + position % 2)),
                date: None,
                total: None,
            }),
            ..CommitExtras::default()
        })
        .collect();
    let commits: Vec<StageCommit<'_>> = claimed
        .iter()
        .zip(&extras)
        .map(|(part, extras)| StageCommit {
            doc: part,
            next_stage: Some("index"),
            status: Status::Processing,
            events: vec![
                ("extract".into(), "document type invoice".into()),
                ("attach".into(), format!("attached to part {}", part.id)),
            ],
            extras,
        })
        .collect();
    db.commit_batch("w", &commits).await.unwrap();

    let first = &claimed[0];
    let last = &claimed[PARTS - 1];
    for part in [first, last] {
        let stored = db.document(part.id).await.unwrap();
        assert_eq!(stored.stage.as_deref(), Some("index"));
        assert_eq!((stored.lease_owner, stored.attempts), (None, 0));
        assert_eq!(stored.page_first, Some(part.page_first.unwrap()));
    }
    let events = db.events(last.id).await.unwrap();
    let messages: Vec<&str> = events.iter().map(|event| event.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "document type invoice",
            format!("attached to part {}", last.id).as_str()
        ]
    );
    assert_eq!(
        db.invoice_document("FA-00000").await.unwrap(),
        Some(first.id)
    );
    assert_eq!(
        db.invoice_document(&number(PARTS - 2)).await.unwrap(),
        Some(claimed[PARTS - 2].id)
    );
    let counts = db.record_counts().await.unwrap();
    assert_eq!(counts.get("attachments"), Some(&(2 * PARTS as i64)));
    assert_eq!(counts.get("invoices"), Some(&(PARTS as i64 - 1)));

    let codes: Vec<String> = ["CL1", "CL2", "CL404"].map(String::from).to_vec();
    let known = db.clients_known(&codes).await.unwrap();
    for code in &codes {
        assert_eq!(
            known.contains(code),
            db.client(code).await.unwrap().is_some(),
            "{code}"
        );
    }
    let forms = db.forms_known(&["F1".into(), "F2".into()]).await.unwrap();
    assert_eq!(forms.into_iter().collect::<Vec<_>>(), ["F1"]);
    let numbers: Vec<String> = (0..PARTS + 1).map(|i| format!("FA-{i:05}")).collect();
    let clients = db.invoice_clients(&numbers).await.unwrap();
    assert_eq!(clients.len(), PARTS - 1);
    for number in &numbers {
        assert_eq!(
            clients.get(number).cloned().flatten(),
            db.invoice_client(number).await.unwrap(),
            "{number}"
        );
    }
    let ids: Vec<i64> = claimed.iter().map(|part| part.id).collect();
    // Reading a run's parts a page at a time gives what reading them all does.
    let run_id = first.parent_id.unwrap();
    let all: Vec<i64> = db
        .parts(run_id)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(db.part_ids(run_id).await.unwrap(), all);
    let mut page: Vec<i64> = all[..3].to_vec();
    page.reverse();
    page.push(-1);
    let read: Vec<i64> = db
        .documents_by_ids(&page)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(read, &page[..3]);
    let attachments = db.attachments_of(&ids).await.unwrap();
    for id in [first.id, claimed[PARTS / 2].id, last.id] {
        assert_eq!(
            attachments.get(&id),
            Some(&db.attachments(id).await.unwrap())
        );
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (db, _dir) = super::sqlite().await;
                super::$name(db).await;
            })*
        }
        mod postgres_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = super::postgres().await;
                super::$name(db).await;
            })*
        }
    };
}

conformance!(
    arrivals_are_idempotent,
    a_claim_is_a_lease,
    a_commit_writes_outputs_and_records_together,
    failures_retry_later_or_quarantine,
    unreadable_arrivals_are_quarantined_and_not_retried,
    concurrent_claimers_never_share_a_document,
    duplicates_point_to_the_first,
    records_and_manual_attachments,
    a_split_run_and_its_parts_commit_together_once,
    a_large_batch_commits_every_row_and_batch_lookups_agree,
);

/// The IMAP source's mail journal: claims, capture, settling and server actions.
mod mail_journal {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use storage::{Blobs, CommitExtras, Db, MailKey, MailState, NewArrival, Status};

    const ACCOUNT: &str = "alice@127.0.0.1:1143";

    fn key(uidvalidity: u32, uid: u32) -> MailKey {
        MailKey::new(ACCOUNT, "INBOX", uidvalidity, uid)
    }

    async fn mail_doc(db: &Db, blobs: &Blobs, key: &MailKey, bytes: &[u8]) -> i64 {
        let original = blobs.store_original(bytes).await.unwrap();
        let arrival = NewArrival {
            source: "mail".into(),
            source_ref: key.to_string(),
            source_path: format!("imap://{}", key),
            ..Default::default()
        };
        db.insert_arrival(&arrival, &original, "detect")
            .await
            .unwrap()
            .0
    }

    async fn settle(db: &Db, doc_id: i64, status: Status) {
        let mut doc = db
            .claim(&["detect"], "pipeline", 60_000, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|doc| doc.id == doc_id)
            .expect("the mail document is claimable");
        doc.format = Some("eml".into());
        db.commit(
            &doc,
            "pipeline",
            None,
            status,
            &[],
            &CommitExtras::default(),
        )
        .await
        .unwrap();
    }

    async fn a_mail_is_claimed_captured_and_finished_once(db: Db) {
        let blobs = Blobs::memory();
        let first = key(7, 1);
        assert!(db
            .mail_known_uids(ACCOUNT, "INBOX", 7, &[1, 2, 3])
            .await
            .unwrap()
            .is_empty());
        assert!(db.mail_claim(&first, "a", 60_000, Some(120)).await.unwrap());
        assert!(
            db.mail_claim(&first, "a", 60_000, None).await.unwrap(),
            "the owner keeps its claim"
        );
        assert!(
            !db.mail_claim(&first, "b", 60_000, None).await.unwrap(),
            "a held claim is not taken"
        );
        assert_eq!(
            db.mail_known_uids(ACCOUNT, "INBOX", 7, &[1, 2, 3])
                .await
                .unwrap(),
            BTreeSet::from([1])
        );
        assert!(
            db.mail_known_uids(ACCOUNT, "INBOX", 8, &[1])
                .await
                .unwrap()
                .is_empty(),
            "another UIDVALIDITY is another mailbox"
        );

        let doc = mail_doc(&db, &blobs, &first, b"From: a\r\n\r\nhello\r\n").await;
        db.mail_captured(&first, doc).await.unwrap();
        db.mail_captured(&first, doc).await.unwrap();
        let entry = db.mail_entry(&first).await.unwrap().unwrap();
        assert_eq!(
            (entry.state, entry.doc_id, entry.size, entry.attempts),
            (MailState::Captured, Some(doc), Some(120), 2)
        );
        assert!(
            !db.mail_claim(&first, "a", 60_000, None).await.unwrap(),
            "a captured mail is not claimed again"
        );
        assert_eq!(
            db.mail_captured_count(ACCOUNT, "INBOX", 7).await.unwrap(),
            1
        );
        assert!(
            db.mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
                .await
                .unwrap()
                .is_empty(),
            "no action while the document is processing"
        );

        settle(&db, doc, Status::Split).await;
        let pending = db
            .mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (
                pending[0].key.clone(),
                pending[0].doc_id,
                pending[0].doc_status
            ),
            (first.clone(), doc, Status::Split)
        );
        assert!(db
            .mail_pending_actions(ACCOUNT, "INBOX", 8, 10)
            .await
            .unwrap()
            .is_empty());

        let mine = db
            .mail_claim_actions(ACCOUNT, "INBOX", 7, "a", 60_000, 10)
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert!(
            db.mail_claim_actions(ACCOUNT, "INBOX", 7, "b", 60_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "one process acts on a message at a time"
        );
        assert_eq!(
            db.mail_claim_actions(ACCOUNT, "INBOX", 7, "a", 60_000, 10)
                .await
                .unwrap()
                .len(),
            1,
            "the holder keeps its claim"
        );
        db.mail_action_failed(&first, "connection lost")
            .await
            .unwrap();
        let entry = db.mail_entry(&first).await.unwrap().unwrap();
        assert_eq!(
            (entry.state, entry.attempts, entry.last_error.as_deref()),
            (MailState::Captured, 3, Some("connection lost"))
        );
        assert_eq!(
            db.mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
                .await
                .unwrap()
                .len(),
            1,
            "retried"
        );
        assert_eq!(
            db.mail_claim_actions(ACCOUNT, "INBOX", 7, "b", 60_000, 10)
                .await
                .unwrap()
                .len(),
            1,
            "a failed action releases its claim"
        );

        db.mail_done(&first).await.unwrap();
        let entry = db.mail_entry(&first).await.unwrap().unwrap();
        assert_eq!((entry.state, entry.last_error), (MailState::Done, None));
        assert!(entry.state.is_final());
        assert!(db
            .mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
            .await
            .unwrap()
            .is_empty());
        db.mail_failed(&first, "late").await.unwrap();
        assert_eq!(
            db.mail_entry(&first).await.unwrap().unwrap().state,
            MailState::Done,
            "a finished mail stays finished"
        );
        assert!(!db.mail_claim(&first, "b", 1, None).await.unwrap());
        assert_eq!(
            db.mail_captured_count(ACCOUNT, "INBOX", 7).await.unwrap(),
            0
        );
    }

    async fn quarantined_and_refused_mails_are_failed_with_the_reason(db: Db) {
        let blobs = Blobs::memory();
        let bad = key(7, 2);
        assert!(db.mail_claim(&bad, "a", 60_000, None).await.unwrap());
        let doc = mail_doc(&db, &blobs, &bad, b"not a mail").await;
        db.mail_captured(&bad, doc).await.unwrap();
        let mut claimed = db
            .claim(&["detect"], "pipeline", 60_000, 1)
            .await
            .unwrap()
            .remove(0);
        claimed.format = Some("eml".into());
        db.quarantine(claimed.id, "pipeline", "detect", "unparsable mail")
            .await
            .unwrap();
        let pending = db
            .mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].doc_status, Status::Quarantined);
        assert_eq!(pending[0].doc_error.as_deref(), Some("unparsable mail"));
        assert_eq!(pending[0].failed_stage.as_deref(), Some("detect"));
        db.mail_failed(&bad, "unparsable mail").await.unwrap();
        let entry = db.mail_entry(&bad).await.unwrap().unwrap();
        assert_eq!(
            (entry.state, entry.last_error.as_deref()),
            (MailState::Failed, Some("unparsable mail"))
        );

        let big = key(7, 3);
        assert!(db
            .mail_claim(&big, "a", 60_000, Some(99_000_000))
            .await
            .unwrap());
        let arrival = NewArrival {
            source: "mail".into(),
            source_ref: big.to_string(),
            source_path: format!("imap://{big}"),
            ..Default::default()
        };
        let (refused, _) = db.insert_unreadable(&arrival, "too big").await.unwrap();
        db.mail_captured(&big, refused).await.unwrap();
        let pending = db
            .mail_pending_actions(ACCOUNT, "INBOX", 7, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (pending[0].doc_status, pending[0].failed_stage.as_deref()),
            (Status::Quarantined, Some("capture"))
        );
        db.mail_refused(&big, "too big").await.unwrap();
        let entries = db.mail_entries(ACCOUNT, "INBOX").await.unwrap();
        let states: Vec<(u32, MailState)> = entries.iter().map(|e| (e.key.uid, e.state)).collect();
        assert_eq!(states, [(2, MailState::Failed), (3, MailState::Refused)]);
        assert_eq!(entries[1].size, Some(99_000_000));
    }

    async fn an_expired_claim_is_taken_over_and_a_retry_waits(db: Db) {
        let stale = key(9, 10);
        assert!(db.mail_claim(&stale, "dead", 1, None).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            db.mail_known_uids(ACCOUNT, "INBOX", 9, &[10])
                .await
                .unwrap()
                .is_empty(),
            "an expired claim is fetched again"
        );
        assert!(db.mail_claim(&stale, "alive", 60_000, None).await.unwrap());
        assert!(!db.mail_claim(&stale, "dead", 60_000, None).await.unwrap());
        db.mail_retry_later(&stale, "alive", "fetch failed", 60_000)
            .await
            .unwrap();
        let entry = db.mail_entry(&stale).await.unwrap().unwrap();
        assert_eq!(
            (
                entry.state,
                entry.owner.as_deref(),
                entry.attempts,
                entry.last_error.as_deref()
            ),
            (MailState::Claimed, Some("alive"), 2, Some("fetch failed"))
        );
        assert!(
            !db.mail_claim(&stale, "third", 60_000, None).await.unwrap(),
            "nobody takes it before the retry time"
        );
        assert_eq!(
            db.mail_known_uids(ACCOUNT, "INBOX", 9, &[10])
                .await
                .unwrap(),
            BTreeSet::from([10])
        );
    }

    async fn concurrent_mail_claimers_never_share_a_message(db: Db) {
        let db = Arc::new(db);
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for uid in 1..=40u32 {
                    if db
                        .mail_claim(&key(11, uid), &format!("w{worker}"), 60_000, None)
                        .await
                        .unwrap()
                    {
                        won.push(uid);
                    }
                }
                won
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=40).collect::<Vec<u32>>(),
            "each message claimed exactly once"
        );
    }

    use super::{postgres, sqlite};

    conformance!(
        a_mail_is_claimed_captured_and_finished_once,
        quarantined_and_refused_mails_are_failed_with_the_reason,
        an_expired_claim_is_taken_over_and_a_retry_waits,
        concurrent_mail_claimers_never_share_a_message,
    );
}
