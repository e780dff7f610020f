//! The IMAP capture source against a real Dovecot (one private server per test), mail put in
//! and looked at with Python's imaplib. The pipeline is simulated through the storage API: a
//! test settles a mail's document (split, duplicate, quarantined) by hand, as the e-mail
//! explode step will, and checks that the server action follows only then.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use capture::{ImapAction, ImapConfig, ImapSecurity, ImapSource, Inbox, Source};
use e2e::dovecot::{crlf, Dovecot};
use storage::{Blobs, CommitExtras, Db, Document, MailKey, MailState, Status};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const FIRST_STAGE: &str = "detect";

struct Store {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: Db,
    blobs: Blobs,
}

impl Store {
    async fn new() -> Store {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("greffier.db");
        let db = Db::open_sqlite(&path).await.expect("sqlite");
        let blobs = Blobs::local(&dir.path().join("blobs")).expect("blobs");
        Store {
            _dir: dir,
            path,
            db,
            blobs,
        }
    }

    fn inbox(&self) -> Inbox {
        Inbox::new(self.db.clone(), self.blobs.clone(), FIRST_STAGE)
    }

    /// A second connection pool on the same database, as another process would have.
    async fn other_process(&self) -> Inbox {
        let db = Db::open_sqlite(&self.path).await.expect("sqlite");
        Inbox::new(db, self.blobs.clone(), FIRST_STAGE)
    }

    async fn mail_documents(&self) -> Vec<Document> {
        self.db
            .documents_after(0, 100_000)
            .await
            .expect("documents")
            .into_iter()
            .filter(|doc| doc.source == "mail")
            .collect()
    }

    /// Claims a waiting document as the pipeline would (a lease of 1 ms, so the others it
    /// claims on the way are free again at once).
    async fn claim(&self, doc_id: i64) -> Document {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let claimed = self
                .db
                .claim(&[FIRST_STAGE], "test-pipeline", 1, 100_000)
                .await
                .expect("claim");
            if let Some(doc) = claimed.into_iter().find(|doc| doc.id == doc_id) {
                return doc;
            }
            assert!(
                Instant::now() < deadline,
                "document {doc_id} is not waiting"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The pipeline's verdict on a mail document, by hand: claim it and commit `status`.
    async fn settle(&self, doc_id: i64, status: Status, duplicate_of: Option<i64>) {
        let mut doc = self.claim(doc_id).await;
        doc.format = Some("eml".into());
        doc.duplicate_of = duplicate_of;
        self.db
            .commit(
                &doc,
                "test-pipeline",
                None,
                status,
                &[],
                &CommitExtras::default(),
            )
            .await
            .expect("commit");
    }

    async fn quarantine(&self, doc_id: i64, reason: &str) {
        self.claim(doc_id).await;
        self.db
            .quarantine(doc_id, "test-pipeline", "explode", reason)
            .await
            .expect("quarantine");
    }
}

fn config(dovecot: &Dovecot, user: &str) -> ImapConfig {
    let mut config = ImapConfig::new(
        "mail",
        "127.0.0.1",
        dovecot.port(),
        ImapSecurity::Plain,
        user,
        Dovecot::password(user),
    );
    config.settle_interval = Duration::from_millis(200);
    config.capture_address = Some("factures@example.fr".into());
    config
}

/// A running source; `stop` ends it and says how long that took.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn start(config: ImapConfig, inbox: Inbox) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut source = ImapSource::new(config);
        source
            .run(&inbox, shutdown)
            .await
            .expect("the source ends cleanly");
    });
    Running { stop, task }
}

impl Running {
    async fn stop(self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the source stops")
            .expect("the source task");
        started.elapsed()
    }
}

async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A plain mail with an attachment, LF line ends (the server stores CRLF).
fn mail(subject: &str, padding: usize) -> Vec<u8> {
    let body: String = "Bonjour, veuillez trouver la facture ci-jointe.\n".repeat(1 + padding / 48);
    format!(
        "From: Fournisseur <compta@fournisseur.fr>\nTo: factures@example.fr\nSubject: {subject}\n\
         Message-ID: <{subject}@fournisseur.fr>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\n\
         {body}\n--b1\nContent-Type: application/pdf; name=\"{subject}.pdf\"\n\
         Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"{subject}.pdf\"\n\n\
         JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\n--b1--\n"
    )
    .into_bytes()
}

async fn journal(db: &Db, account: &str, folder: &str) -> Vec<storage::MailEntry> {
    db.mail_entries(account, folder).await.expect("journal")
}

fn uids(messages: &[e2e::dovecot::Message]) -> BTreeSet<u32> {
    messages.iter().map(|m| m.uid).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_are_captured_once_and_moved_only_after_they_settled() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let emls: Vec<Vec<u8>> = (1..=3)
        .map(|n| mail(&format!("FA-{n:04}"), 100 * n))
        .collect();
    let appended = dovecot.append_all("alice", "INBOX", &emls);
    let validity = appended[0].0;
    let config = config(&dovecot, "alice");
    let account = config.account();
    assert_eq!(account, format!("alice@127.0.0.1:{}", dovecot.port()));

    let source = start(config.clone(), store.inbox());
    eventually("3 mails captured", Duration::from_secs(10), || async {
        store.mail_documents().await.len() == 3
    })
    .await;
    let docs = store.mail_documents().await;
    for ((doc, eml), (_, uid)) in docs.iter().zip(&emls).zip(&appended) {
        assert_eq!(doc.source_ref, format!("{account}/INBOX/{validity}/{uid}"));
        assert_eq!(
            doc.source_path,
            format!(
                "imap://alice@127.0.0.1:{}/INBOX;UIDVALIDITY={validity}/;UID={uid}",
                dovecot.port()
            )
        );
        let meta = &doc.metadata;
        assert_eq!(meta.get("imap.account"), Some(&account));
        assert_eq!(meta.get("imap.folder").map(String::as_str), Some("INBOX"));
        assert_eq!(meta.get("imap.uidvalidity"), Some(&validity.to_string()));
        assert_eq!(meta.get("imap.uid"), Some(&uid.to_string()));
        assert!(
            meta.get("imap.internaldate")
                .is_some_and(|date| date.len() >= 20),
            "{meta:?}"
        );
        assert_eq!(
            meta.get("mail.capture").map(String::as_str),
            Some("factures@example.fr")
        );
        let original = store
            .blobs
            .get(doc.original_key.as_deref().expect("an original"))
            .await
            .expect("original");
        assert_eq!(original, crlf(eml), "the stored .eml is the appended one");
        assert_eq!(
            original,
            dovecot.body("alice", "INBOX", *uid),
            "and the server's"
        );
    }

    // Not settled: the mails stay where they are, untouched (BODY.PEEK: not even \Seen).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let inbox = dovecot.messages("alice", "INBOX");
    assert_eq!(inbox.len(), 3);
    assert!(
        inbox.iter().all(|m| !m.flags.iter().any(|f| f == "\\Seen")),
        "{inbox:?}"
    );
    assert!(dovecot.messages("alice", "Greffier/Done").is_empty());
    let rows = journal(&store.db, &account, "INBOX").await;
    assert!(
        rows.iter()
            .all(|row| row.state == MailState::Captured && row.attempts == 1),
        "{rows:?}"
    );
    assert!(
        dovecot
            .folders("alice")
            .contains(&"Greffier.Errors".to_string()),
        "error folder created"
    );

    // The first mail's document settles: only that mail is moved.
    store.settle(docs[0].id, Status::Split, None).await;
    eventually("the settled mail moved", Duration::from_secs(5), || async {
        dovecot.messages("alice", "Greffier/Done").len() == 1
    })
    .await;
    assert_eq!(
        uids(&dovecot.messages("alice", "INBOX")),
        BTreeSet::from([appended[1].1, appended[2].1])
    );
    let done = dovecot.messages("alice", "Greffier/Done");
    assert_eq!(
        dovecot.body("alice", "Greffier/Done", done[0].uid),
        crlf(&emls[0])
    );
    let first = MailKey::new(account.clone(), "INBOX", validity, appended[0].1);
    assert_eq!(
        store.db.mail_entry(&first).await.unwrap().unwrap().state,
        MailState::Done
    );

    store.settle(docs[1].id, Status::Filed, None).await;
    store.settle(docs[2].id, Status::Review, None).await;
    eventually("every mail moved", Duration::from_secs(5), || async {
        dovecot.messages("alice", "INBOX").is_empty()
    })
    .await;
    assert_eq!(dovecot.messages("alice", "Greffier/Done").len(), 3);
    let stopped = source.stop().await;
    println!("shutdown took {stopped:?}");
    assert!(
        stopped < Duration::from_secs(2),
        "shutdown took {stopped:?}"
    );

    // A restarted source captures nothing again, and goes on with new mail.
    let before = store.mail_documents().await.len();
    let source = start(config.clone(), store.inbox());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        store.mail_documents().await.len(),
        before,
        "nothing captured twice after a restart"
    );
    let (_, fourth) = dovecot.append("alice", "INBOX", &mail("FA-0004", 10));
    eventually(
        "the fourth mail captured",
        Duration::from_secs(5),
        || async { store.mail_documents().await.len() == before + 1 },
    )
    .await;
    source.stop().await;
    let rows = journal(&store.db, &account, "INBOX").await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows.iter()
            .filter(|row| row.state == MailState::Done)
            .count(),
        3
    );
    assert_eq!(
        rows.last().map(|row| (row.key.uid, row.state)),
        Some((fourth, MailState::Captured))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_seen_and_delete_actions() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let cases = [
        ("Keyword", ImapAction::Keyword("$Greffier".into())),
        ("Seen", ImapAction::Seen),
        ("Delete", ImapAction::Delete),
    ];
    let mut running = Vec::new();
    for (folder, action) in &cases {
        dovecot.create("bob", folder);
        dovecot.append_all(
            "bob",
            folder,
            &[
                mail(&format!("{folder}-1"), 0),
                mail(&format!("{folder}-2"), 0),
            ],
        );
        let mut config = config(&dovecot, "bob");
        config.folders = vec![folder.to_string()];
        config.after = action.clone();
        running.push(start(config, store.inbox()));
    }
    eventually("6 mails captured", Duration::from_secs(10), || async {
        store.mail_documents().await.len() == 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    for (folder, _) in &cases {
        let messages = dovecot.messages("bob", folder);
        assert_eq!(messages.len(), 2, "{folder}: untouched before settling");
        assert!(
            messages
                .iter()
                .all(|m| !m.flags.iter().any(|f| f == "$Greffier" || f == "\\Seen")),
            "{messages:?}"
        );
    }
    for doc in store.mail_documents().await {
        store.settle(doc.id, Status::Split, None).await;
    }
    eventually("actions ran", Duration::from_secs(5), || async {
        dovecot.messages("bob", "Delete").is_empty()
            && dovecot
                .messages("bob", "Keyword")
                .iter()
                .all(|m| m.flags.iter().any(|f| f == "$Greffier"))
            && dovecot
                .messages("bob", "Seen")
                .iter()
                .all(|m| m.flags.iter().any(|f| f == "\\Seen"))
    })
    .await;
    assert_eq!(
        dovecot.messages("bob", "Keyword").len(),
        2,
        "a keyword keeps the mail in place"
    );
    assert_eq!(dovecot.messages("bob", "Seen").len(), 2);
    assert!(
        !dovecot
            .folders("bob")
            .contains(&"Greffier.Done".to_string()),
        "no move folder without a move action"
    );
    for run in running {
        run.stop().await;
    }
    let account = format!("bob@127.0.0.1:{}", dovecot.port());
    for (folder, _) in &cases {
        let rows = journal(&store.db, &account, folder).await;
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter().all(|row| row.state == MailState::Done),
            "{rows:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_and_oversized_mails_go_to_the_error_folder() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let small = mail("FA-OK", 0);
    let bad = mail("FA-BAD", 0);
    let big = mail("FA-BIG", 30_000);
    let appended = dovecot.append_all("alice", "INBOX", &[small.clone(), bad, big.clone()]);
    let big_size = crlf(&big).len() as u64;
    let mut config = config(&dovecot, "alice");
    config.max_message_bytes = 20_000;
    config.error_folder = "Greffier/Rejets".into();
    let account = config.account();
    let source = start(config, store.inbox());
    eventually("3 mails recorded", Duration::from_secs(10), || async {
        store.mail_documents().await.len() == 3
    })
    .await;
    let docs = store.mail_documents().await;
    let refused = docs
        .iter()
        .find(|doc| doc.metadata.get("imap.uid") == Some(&appended[2].1.to_string()))
        .unwrap();
    assert_eq!(refused.status, Status::Quarantined);
    assert_eq!(
        (
            refused.blake3.as_deref(),
            refused.original_key.as_deref(),
            refused.size
        ),
        (None, None, 0),
        "never downloaded"
    );
    let reason = refused.last_error.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "message of {big_size} bytes is over the limit of 20000 bytes"
        )),
        "{reason}"
    );
    assert_eq!(
        store.blobs.count("originals/").await.unwrap(),
        2,
        "only the two small mails were stored"
    );

    eventually(
        "the oversized mail moved to the error folder",
        Duration::from_secs(5),
        || async { dovecot.messages("alice", "Greffier/Rejets").len() == 1 },
    )
    .await;
    let big_key = MailKey::new(account.clone(), "INBOX", appended[2].0, appended[2].1);
    let entry = store.db.mail_entry(&big_key).await.unwrap().unwrap();
    assert_eq!(entry.state, MailState::Refused);
    assert_eq!(entry.size, Some(big_size as i64));
    assert_eq!(entry.last_error.as_deref(), Some(reason.as_str()));

    // The pipeline gives up on the second mail, files the first.
    let bad_doc = docs
        .iter()
        .find(|doc| doc.metadata.get("imap.uid") == Some(&appended[1].1.to_string()))
        .unwrap();
    store
        .quarantine(bad_doc.id, "unparsable mail: no boundary")
        .await;
    let small_doc = docs
        .iter()
        .find(|doc| doc.metadata.get("imap.uid") == Some(&appended[0].1.to_string()))
        .unwrap();
    store.settle(small_doc.id, Status::Split, None).await;
    eventually("both acted on", Duration::from_secs(5), || async {
        dovecot.messages("alice", "INBOX").is_empty()
    })
    .await;
    assert_eq!(dovecot.messages("alice", "Greffier/Rejets").len(), 2);
    assert_eq!(dovecot.messages("alice", "Greffier/Done").len(), 1);
    let done = dovecot.messages("alice", "Greffier/Done");
    assert_eq!(
        dovecot.body("alice", "Greffier/Done", done[0].uid),
        crlf(&small)
    );
    let bad_key = MailKey::new(account.clone(), "INBOX", appended[1].0, appended[1].1);
    let entry = store.db.mail_entry(&bad_key).await.unwrap().unwrap();
    assert_eq!(
        (entry.state, entry.last_error.as_deref()),
        (MailState::Failed, Some("unparsable mail: no boundary"))
    );
    source.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_on_one_mailbox_capture_each_mail_once() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let count = 200;
    let emls: Vec<Vec<u8>> = (0..count)
        .map(|n| mail(&format!("FA-{n:04}"), 2_000))
        .collect();
    dovecot.append_all("alice", "INBOX", &emls);
    let mut config = config(&dovecot, "alice");
    config.batch = 25;
    let account = config.account();
    let started = Instant::now();
    let first = start(config.clone(), store.inbox());
    let second = start(config.clone(), store.other_process().await);
    eventually("every mail captured", Duration::from_secs(30), || async {
        store
            .db
            .mail_entries(&account, "INBOX")
            .await
            .unwrap()
            .iter()
            .filter(|row| row.state == MailState::Captured)
            .count()
            == count
    })
    .await;
    let elapsed = started.elapsed();
    println!(
        "two sources captured {count} mails of {} bytes in {elapsed:?}: {:.0} mails/s",
        crlf(&emls[0]).len(),
        count as f64 / elapsed.as_secs_f64()
    );
    let docs = store.mail_documents().await;
    assert_eq!(docs.len(), count);
    let rows = journal(&store.db, &account, "INBOX").await;
    assert_eq!(rows.len(), count);
    assert!(
        rows.iter().all(|row| row.attempts == 1),
        "every mail claimed once: {rows:?}"
    );
    let owners: BTreeSet<_> = rows.iter().filter_map(|row| row.owner.clone()).collect();
    println!("claims taken by {} sources", owners.len());
    let doc_ids: BTreeSet<_> = rows.iter().filter_map(|row| row.doc_id).collect();
    assert_eq!(doc_ids.len(), count);

    for doc in &docs {
        store.settle(doc.id, Status::Split, None).await;
    }
    eventually("every mail moved", Duration::from_secs(10), || async {
        dovecot.messages("alice", "INBOX").is_empty()
    })
    .await;
    first.stop().await;
    second.stop().await;
    assert_eq!(
        dovecot.messages("alice", "Greffier/Done").len(),
        count,
        "each mail moved once"
    );
    assert!(journal(&store.db, &account, "INBOX")
        .await
        .iter()
        .all(|row| row.state == MailState::Done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_uidvalidity_captures_the_folder_again_and_loses_nothing() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    dovecot.create("alice", "Factures");
    let emls: Vec<Vec<u8>> = (1..=3).map(|n| mail(&format!("FA-{n:04}"), 0)).collect();
    let old = dovecot.append_all("alice", "Factures", &emls);
    let old_validity = old[0].0;
    let mut config = config(&dovecot, "alice");
    config.folders = vec!["Factures".into()];
    let account = config.account();
    let source = start(config, store.inbox());
    eventually("3 mails captured", Duration::from_secs(10), || async {
        store.mail_documents().await.len() == 3
    })
    .await;
    let first_docs = store.mail_documents().await;
    store.settle(first_docs[0].id, Status::Split, None).await;
    store.settle(first_docs[1].id, Status::Split, None).await;
    eventually("two mails moved", Duration::from_secs(5), || async {
        dovecot.messages("alice", "Factures").len() == 1
    })
    .await;

    // The folder is recreated (a restore): same mails, new UIDVALIDITY.
    dovecot.delete("alice", "Factures");
    dovecot.create("alice", "Factures");
    let new = dovecot.append_all("alice", "Factures", &emls);
    let new_validity = new[0].0;
    assert_ne!(new_validity, old_validity);
    eventually(
        "the mails captured again",
        Duration::from_secs(10),
        || async { store.mail_documents().await.len() == 6 },
    )
    .await;
    let docs = store.mail_documents().await;
    let again: Vec<&Document> = docs
        .iter()
        .filter(|doc| doc.metadata.get("imap.uidvalidity") == Some(&new_validity.to_string()))
        .collect();
    assert_eq!(again.len(), 3);
    // The old row of the unsettled mail is history: its document settling moves nothing.
    store.settle(first_docs[2].id, Status::Split, None).await;
    // The pipeline's dedupe: the same bytes are duplicates of the first documents.
    for doc in &again {
        let first = first_docs
            .iter()
            .find(|f| f.blake3 == doc.blake3)
            .expect("same bytes as a first capture");
        store
            .settle(doc.id, Status::Duplicate, Some(first.id))
            .await;
    }
    eventually("the folder emptied", Duration::from_secs(5), || async {
        dovecot.messages("alice", "Factures").is_empty()
    })
    .await;
    source.stop().await;
    assert_eq!(
        dovecot.messages("alice", "Greffier/Done").len(),
        5,
        "2 moved before, 3 after the change"
    );
    let rows = journal(&store.db, &account, "Factures").await;
    let states: Vec<(u32, u32, MailState)> = rows
        .iter()
        .map(|row| (row.key.uidvalidity, row.key.uid, row.state))
        .collect();
    assert_eq!(
        states,
        [
            (old_validity, old[0].1, MailState::Done),
            (old_validity, old[1].1, MailState::Done),
            (old_validity, old[2].1, MailState::Captured),
            (new_validity, new[0].1, MailState::Done),
            (new_validity, new[1].1, MailState::Done),
            (new_validity, new[2].1, MailState::Done),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_takes_a_new_mail_within_two_seconds() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let mut config = config(&dovecot, "alice");
    config.resync_secs = 600;
    let source = start(config, store.inbox());
    // Let the source reach IDLE on the empty INBOX.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut latencies = Vec::new();
    for n in 1..=3 {
        let appended_at = Instant::now();
        dovecot.append("alice", "INBOX", &mail(&format!("IDLE-{n}"), 0));
        eventually("the mail captured", Duration::from_secs(5), || async {
            store.mail_documents().await.len() == n
        })
        .await;
        latencies.push(appended_at.elapsed());
        // Back to IDLE (nothing waits to settle once it is settled).
        let doc = store.mail_documents().await.pop().unwrap();
        store.settle(doc.id, Status::Split, None).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    println!("IDLE latency (APPEND by imaplib to captured): {latencies:?}");
    assert!(
        latencies
            .iter()
            .all(|latency| *latency < Duration::from_secs(2)),
        "{latencies:?}"
    );
    let stopped = source.stop().await;
    println!("shutdown during IDLE took {stopped:?}");
    assert!(stopped < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_takes_a_new_mail_without_idle() {
    let dovecot = Dovecot::start();
    let store = Store::new().await;
    let mut config = config(&dovecot, "alice");
    config.idle = false;
    config.poll_secs = 1;
    let source = start(config, store.inbox());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let appended_at = Instant::now();
    dovecot.append("alice", "INBOX", &mail("POLL-1", 0));
    eventually(
        "the mail captured by polling",
        Duration::from_secs(5),
        || async { store.mail_documents().await.len() == 1 },
    )
    .await;
    println!("poll latency (poll_secs = 1): {:?}", appended_at.elapsed());
    let stopped = source.stop().await;
    assert!(
        stopped < Duration::from_secs(2),
        "shutdown took {stopped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_implicit_tls_with_a_private_ca() {
    let dovecot = Dovecot::start_tls();
    let store = Store::new().await;
    dovecot.create("alice", "StartTls");
    dovecot.create("alice", "Tls");
    dovecot.append("alice", "StartTls", &mail("STARTTLS-1", 0));
    dovecot.append("alice", "Tls", &mail("TLS-1", 0));

    // Without the CA the certificate is not trusted: nothing is captured, the source retries.
    let mut untrusted = config(&dovecot, "alice");
    untrusted.security = ImapSecurity::Tls;
    untrusted.port = dovecot.tls_port();
    untrusted.folders = vec!["Tls".into()];
    let source = start(untrusted, store.inbox());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        store.mail_documents().await.is_empty(),
        "an untrusted server gets nothing"
    );
    source.stop().await;

    let mut starttls = config(&dovecot, "alice");
    starttls.security = ImapSecurity::StartTls;
    starttls.ca_file = Some(dovecot.ca_file());
    starttls.folders = vec!["StartTls".into()];
    let mut tls = config(&dovecot, "alice");
    tls.security = ImapSecurity::Tls;
    tls.port = dovecot.tls_port();
    tls.ca_file = Some(dovecot.ca_file());
    tls.folders = vec!["Tls".into()];
    let first = start(starttls, store.inbox());
    let second = start(tls, store.inbox());
    eventually(
        "both mails captured over tls",
        Duration::from_secs(10),
        || async { store.mail_documents().await.len() == 2 },
    )
    .await;
    first.stop().await;
    second.stop().await;
    let log = dovecot.log();
    assert!(log.contains("TLS"), "dovecot saw TLS logins:\n{log}");
}
