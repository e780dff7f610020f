//! E-mail capture end to end through the binary: the sample mails of `samples/mail/` (written
//! by Python's `email` package) as `.eml` files and through a real Dovecot IMAP server, with
//! Python's `email` package as the second opinion on every attachment's bytes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::dovecot::Dovecot;
use e2e::{documents, greffier, import_sample_clients, json_lines, root, run_ok, tool};
use storage::{Document, Status};

const MAILS: [&str; 6] = [
    "facture-octet-stream.eml",
    "courrier-plus.eml",
    "sujet-client.eml",
    "inconnu.eml",
    "transfert.eml",
    "recu-html.eml",
];

/// What Python's email package finds in a mail: (file name, blake3 of the decoded bytes) of
/// every non-body leaf part, forwarded messages included, inline images left out.
fn python_attachments(eml: &Path) -> Vec<(String, String)> {
    let script = r#"
import email, sys, json
from email import policy
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
out = []
def walk(m):
    body = m.get_body(preferencelist=('plain', 'html'))
    for part in m.walk():
        if part.is_multipart() or part is body:
            continue
        if part.get_content_type() == 'message/rfc822':
            continue
        if part.get_content_disposition() == 'inline' and part.get_content_maintype() == 'image':
            continue
        if part.get_content_maintype() == 'text' and part.get_filename() is None:
            continue
        out.append([part.get_filename() or '', part.get_payload(decode=True).hex()])
walk(msg)
print(json.dumps(out))
"#;
    let output = run_ok(tool("python3").arg("-c").arg(script).arg(eml));
    let parts: Vec<(String, String)> =
        serde_json::from_slice(&output.stdout).expect("python prints json");
    parts
        .into_iter()
        .map(|(name, hex)| {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            (name, blake3::hash(&bytes).to_hex().to_string())
        })
        .collect()
}

fn children_of(docs: &[Document], parent: i64) -> Vec<&Document> {
    docs.iter()
        .filter(|doc| doc.parent_id == Some(parent))
        .collect()
}

/// The mail document of a sample file, by its Message-ID (from a folder or from IMAP alike).
fn mail_named<'a>(docs: &'a [Document], file: &str) -> &'a Document {
    let eml = std::fs::read_to_string(root().join("samples/mail").join(file)).expect("sample");
    let message_id = eml
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID:"))
        .map(|id| id.trim().trim_matches(['<', '>']).to_string())
        .expect("a Message-ID header");
    docs.iter()
        .find(|doc| {
            doc.parent_id.is_none()
                && doc
                    .metadata
                    .get("mail.message_id")
                    .is_some_and(|id| id.trim_matches(['<', '>']) == message_id)
        })
        .unwrap_or_else(|| panic!("no mail document for {file} ({message_id})"))
}

fn targets(doc: &Document) -> Vec<String> {
    let mut targets = doc.targets.clone();
    targets.sort();
    targets
}

/// The filing every sample mail must end in, whichever way it arrived.
fn assert_sample_filing(data: &Path, docs: &[Document]) {
    // An octet-stream PDF is recognised by its bytes and filed by its own text; the inline
    // signature logo is left out.
    let mail = mail_named(docs, "facture-octet-stream.eml");
    assert_eq!(mail.status, Status::Split);
    let parts = children_of(docs, mail.id);
    assert_eq!(
        parts.len(),
        1,
        "one attachment, the logo left out: {parts:#?}"
    );
    let invoice = parts[0];
    assert_eq!(invoice.format.as_deref(), Some("pdf"));
    assert_eq!(invoice.status, Status::Filed);
    assert_eq!(
        targets(invoice),
        ["client:CL004713", "invoice:FA-2024-000501"]
    );
    assert_eq!(
        invoice.metadata["mail.from"],
        "compta@quincaillerie-dupont.fr"
    );
    assert_eq!(
        invoice.metadata["mail.attachment"],
        "Facture FA-2024-000501.pdf"
    );
    assert_eq!(
        invoice.metadata["mail.subject"],
        "Votre facture n° FA-2024-000501 – mai 2024"
    );

    // Plus addressing names the client.
    let mail = mail_named(docs, "courrier-plus.eml");
    let letter = children_of(docs, mail.id)[0];
    assert_eq!(letter.metadata["mail.plus"], "CL004712");
    assert_eq!(letter.metadata["mail.attachment"], "courrier signé.pdf");
    assert_eq!(letter.status, Status::Filed);
    assert_eq!(targets(letter), ["client:CL004712"]);

    // The subject names the client; the sender is one of its contacts (clients.csv EMAIL);
    // the RFC 2231 continued name is decoded.
    let mail = mail_named(docs, "sujet-client.eml");
    let certificate = children_of(docs, mail.id)[0];
    assert_eq!(
        certificate.metadata["mail.attachment_original"],
        "Attestation d'assurance – Relais des Cèdres été 2026.pdf"
    );
    assert_eq!(certificate.status, Status::Filed, "{certificate:#?}");
    assert_eq!(targets(certificate), ["client:CL004714"]);

    // A stranger's invoice gets its keys but is not filed: review, with the reason.
    let mail = mail_named(docs, "inconnu.eml");
    let stranger = children_of(docs, mail.id)[0];
    assert_eq!(stranger.status, Status::Review);
    assert_eq!(stranger.doc_type.as_deref(), Some("invoice"));
    assert!(
        stranger
            .problems
            .iter()
            .any(|problem| problem.contains("sender factures@fournisseur-inconnu.example")),
        "{:?}",
        stranger.problems
    );
    let shown = run_ok(greffier(data).args(["show", &stranger.id.to_string()]));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("fournisseur-inconnu.example"), "{shown}");

    // A forwarded mail's attachment, one level down.
    let mail = mail_named(docs, "transfert.eml");
    let forwarded = children_of(docs, mail.id)[0];
    assert_eq!(forwarded.metadata["mail.via"], "forwarded:1");
    assert_eq!(forwarded.status, Status::Filed);
    assert_eq!(
        targets(forwarded),
        ["client:CL004713", "invoice:FA-2024-000501"]
    );

    // An HTML-only receipt: its body is the document, rendered to PDF, filed by plus address.
    let mail = mail_named(docs, "recu-html.eml");
    let receipt = children_of(docs, mail.id)[0];
    assert_eq!(receipt.metadata["mail.via"], "body");
    assert_eq!(receipt.status, Status::Filed);
    assert_eq!(targets(receipt), ["client:CL004711"]);
    let pdf = data.join("receipt.pdf");
    let output = run_ok(greffier(data).args(["cat", "--pdf", &receipt.id.to_string()]));
    std::fs::write(&pdf, &output.stdout).expect("write pdf");
    let text = e2e::pdftotext(&pdf);
    assert!(text.contains("Reçu de commande 2026-1184"), "{text}");
    assert!(text.contains("42,00 €"), "{text}");
    run_ok(tool("qpdf").arg("--check").arg(&pdf));
}

/// Every attachment's stored original equals what Python's email package decodes.
fn assert_bytes_match_python(data: &Path, docs: &[Document]) {
    for file in MAILS {
        let mail = mail_named(docs, file);
        let expected = python_attachments(&root().join("samples/mail").join(file));
        let mut found: Vec<(String, String)> = children_of(docs, mail.id)
            .into_iter()
            .filter(|doc| doc.metadata.get("mail.via").map(String::as_str) != Some("body"))
            .map(|doc| {
                let output =
                    run_ok(greffier(data).args(["cat", "--original", &doc.id.to_string()]));
                (
                    doc.metadata
                        .get("mail.attachment_original")
                        .cloned()
                        .unwrap_or_default(),
                    blake3::hash(&output.stdout).to_hex().to_string(),
                )
            })
            .collect();
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected, "attachments of {file}");
    }
}

#[test]
fn sample_mails_are_cut_into_attachments_and_filed_by_rules_and_sender_policy() {
    let data = tempfile::tempdir().expect("temp dir");
    import_sample_clients(data.path());
    let mut command = greffier(data.path());
    command.args(["--rules", "samples/rules.toml", "ingest", "--json"]);
    for file in MAILS {
        command.arg(root().join("samples/mail").join(file));
    }
    let lines = json_lines(&run_ok(&mut command));
    assert_eq!(
        lines.len(),
        6,
        "one line per resulting document: {lines:#?}"
    );
    let docs = documents(data.path());
    assert_sample_filing(data.path(), &docs);
    assert_bytes_match_python(data.path(), &docs);

    // The mail's body is indexed with the mail: a word only the body has finds what the mail
    // carried.
    let output = run_ok(greffier(data.path()).args(["search", "--json", "Veuillez"]));
    let hits = json_lines(&output);
    let mail = mail_named(&docs, "facture-octet-stream.eml");
    let carried = children_of(&docs, mail.id)[0].id;
    assert!(
        hits.iter().any(|hit| hit["id"] == carried),
        "the body finds the invoice the mail carried: {hits:#?}"
    );

    // The same mails again: duplicates, not a second set of documents.
    let mut again = greffier(data.path());
    again.args(["--rules", "samples/rules.toml", "ingest", "--json"]);
    for file in MAILS {
        again.arg(root().join("samples/mail").join(file));
    }
    let lines = json_lines(&run_ok(&mut again));
    assert!(
        lines.iter().all(|line| line["status"] == "duplicate"),
        "{lines:#?}"
    );
}

fn write_config(dir: &Path, dovecot: &Dovecot, extra: &str) -> std::path::PathBuf {
    let config = format!(
        r#"rules = "{rules}"

[workers]
poll_ms = 20

[[source]]
name = "factures"
type = "imap"
host = "127.0.0.1"
port = {port}
security = "plain"
user = "alice"
password_env = "GREFFIER_TEST_IMAP_PASSWORD"
capture_address = "factures@acme.fr"
after = "move:Greffier/Done"
error_folder = "Greffier/Errors"
{extra}
"#,
        rules = root().join("samples/rules.toml").display(),
        port = dovecot.port(),
    );
    let path = dir.join("greffier.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

struct Running(std::process::Child);

impl Running {
    fn start(data: &Path, config: &Path) -> Running {
        let child = greffier(data)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("GREFFIER_TEST_IMAP_PASSWORD", Dovecot::password("alice"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start greffier run");
        Running(child)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let status = self.0.wait().expect("wait for greffier");
        assert!(status.success(), "greffier run ended with {status}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn imap_mailbox_is_captured_filed_and_moved_only_once_its_documents_are_safe() {
    let dovecot = Dovecot::start();
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    import_sample_clients(&data);
    let mut emls: Vec<Vec<u8>> = MAILS
        .iter()
        .map(|file| std::fs::read(root().join("samples/mail").join(file)).expect("sample"))
        .collect();
    // Outlook's winmail.dat (1.1 MB): over the 1 MiB limit below, so refused unread.
    let big = std::fs::read(root().join("samples/email/mimekit/rich-text.eml")).expect("corpus");
    emls.push(big);
    dovecot.append_all("alice", "INBOX", &emls);

    let config = write_config(work.path(), &dovecot, "max_message_mb = 1");
    let started = Instant::now();
    let running = Running::start(&data, &config);
    wait_for("the inbox to empty", Duration::from_secs(60), || {
        dovecot.messages("alice", "INBOX").is_empty()
    });
    let elapsed = started.elapsed();
    let done = dovecot.messages("alice", "Greffier/Done");
    let errors = dovecot.messages("alice", "Greffier/Errors");
    assert_eq!(done.len(), 6, "the six sample mails are done");
    assert_eq!(errors.len(), 1, "the oversized mail is in the error folder");
    let docs = documents(&data);
    // Every document of a moved mail had settled before the move.
    for doc in &docs {
        if doc.parent_id.is_none() && doc.source == "factures" && doc.original_key.is_some() {
            assert!(doc.status != Status::Processing, "{doc:#?}");
        }
    }
    eprintln!(
        "imap: 7 mails captured, exploded and acted on in {:.2} s",
        elapsed.as_secs_f64()
    );
    wait_for(
        "every attachment to settle",
        Duration::from_secs(60),
        || {
            documents(&data)
                .iter()
                .all(|doc| doc.status != Status::Processing)
        },
    );
    running.stop();
    let docs = documents(&data);
    assert_sample_filing(&data, &docs);
    let refused: Vec<&Document> = docs
        .iter()
        .filter(|doc| doc.status == Status::Quarantined)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    let reason = refused[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("1.0 MiB") || reason.contains("limit"),
        "{reason}"
    );
    let mail = mail_named(&docs, "facture-octet-stream.eml");
    let by_key: BTreeMap<&str, &String> =
        mail.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert_eq!(
        by_key.get("mail.capture").map(|v| v.as_str()),
        Some("factures@acme.fr")
    );
    assert_eq!(by_key.get("imap.folder").map(|v| v.as_str()), Some("INBOX"));

    // A restart captures nothing again; a new mail is taken while Greffier waits in IDLE.
    let before = docs.len();
    let running = Running::start(&data, &config);
    std::thread::sleep(Duration::from_secs(2));
    let late = std::fs::read(root().join("samples/email/ruby-mail/attachment_pdf.eml"))
        .expect("corpus mail");
    let appended = Instant::now();
    dovecot.append("alice", "INBOX", &late);
    wait_for("the late mail to be done", Duration::from_secs(30), || {
        dovecot.messages("alice", "Greffier/Done").len() == 7
    });
    eprintln!(
        "imap: a mail appended during IDLE was done {:.2} s later",
        appended.elapsed().as_secs_f64()
    );
    running.stop();
    let docs = documents(&data);
    let mails = docs
        .iter()
        .filter(|doc| doc.parent_id.is_none() && doc.source == "factures")
        .count();
    assert_eq!(mails, 8, "seven mails and the late one, each once");
    assert!(docs.len() > before);
}
