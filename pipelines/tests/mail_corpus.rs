//! `pipelines::mail` on the e-mail and TNEF samples (copied from public test corpora, see
//! samples/email/README.md), against second opinions: Python's `email` package
//! (samples/email/expected.json, made by samples/email/expect.py), Debian's `tnef` tool
//! (samples/tnef/expected.json, made by samples/tnef/expect.py), mail-parser's own `.json`
//! and mime4j's `.xml` expectations; then limits: archive bombs, deep forwarding, huge parts,
//! too many parts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelines::mail::{
    explode, looks_like_mail, safe_file_name, tnef, zipcheck, Disposition, Exploded, InlinePolicy,
    MailError, MailPolicy, Via,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn read_sample(relative: &str) -> Vec<u8> {
    let path = samples().join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_json(relative: &str) -> Value {
    serde_json::from_slice(&read_sample(relative)).expect("valid json")
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Python's view, keeping every inline part (the inline policy is tested on its own).
fn keep_all_policy() -> MailPolicy {
    MailPolicy {
        inline: InlinePolicy::keep_all(),
        ..MailPolicy::default()
    }
}

fn explode_sample(relative: &str, policy: &MailPolicy) -> Exploded {
    explode(&read_sample(relative), policy).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// (name, size, sha256) of what was taken.
type Taken = (Option<String>, u64, String);

fn taken(exploded: &Exploded) -> Vec<Taken> {
    exploded
        .attachments
        .iter()
        .map(|a| {
            (
                a.original_name.clone(),
                a.bytes.len() as u64,
                sha256(&a.bytes),
            )
        })
        .collect()
}

/// Where our names legitimately differ from Python's: Python keeps raw 8-bit bytes it cannot
/// decode as U+FFFD (surrogate escapes); we read them as Windows-1252.
const NAME_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "hunnysoft-zbateson/m2011.txt",
    "HasenundFr\u{fffd}sche.txt",
    "HasenundFrösche.txt",
)];

/// What Python takes, turned into what we take: a TNEF part is replaced by the files the
/// `tnef` tool unpacks from it, and known name differences are applied.
fn python_expectation(file: &str, entries: &[Value]) -> Vec<Taken> {
    let mut expected = Vec::new();
    for entry in entries {
        if let Some(unpacked) = entry.get("tnef").and_then(Value::as_array) {
            for file_entry in unpacked {
                let name = file_entry["name"].as_str().map(str::to_string);
                expected.push((name, size_of(file_entry), hash_of(file_entry)));
            }
            continue;
        }
        let mut name = entry["name"].as_str().map(str::to_string);
        for (difference_file, python_name, our_name) in NAME_DIFFERENCES {
            if *difference_file == file && name.as_deref() == Some(python_name) {
                name = Some(our_name.to_string());
            }
        }
        expected.push((name, size_of(entry), hash_of(entry)));
    }
    expected
}

fn size_of(entry: &Value) -> u64 {
    entry["size"].as_u64().expect("size")
}

fn hash_of(entry: &Value) -> String {
    entry["sha256"].as_str().expect("sha256").to_string()
}

/// Messages where mail-parser reads the structure differently from Python: what we take.
fn structural_differences() -> BTreeMap<&'static str, Vec<(Option<&'static str>, u64)>> {
    let swift = [
        (Some("Hello from SwiftMailer.docx"), 11911),
        (Some("Hello from SwiftMailer.pdf"), 12798),
        (Some("Hello from SwiftMailer.odt"), 9720),
        (Some("Cours-Tutoriels-Serge-Tahé-1568x268.png"), 42264),
    ];
    BTreeMap::from([
        // The forwarded message (part 6) lacks the blank line after its headers: Python reads
        // it as one text part, mail-parser finds the same four attachments inside it again.
        ("php-mime-mail-parser/issue274.eml", [swift, swift].concat()),
        // `Content-Type: multipart/mixed` without a boundary: Python takes an empty leaf,
        // mail-parser reads the part as the text body.
        ("mail-parser/malformed/003.eml", vec![]),
        // A Content-Type folded with a tab before `boundary=`: Python sees a 188-byte leaf,
        // mail-parser the 12-byte part inside (as mail-parser's own 017.json says).
        (
            "mail-parser/malformed/017.eml",
            vec![(Some("image001.png"), 12)],
        ),
    ])
}

#[test]
fn corpus_attachments_match_python_email() {
    let expected = read_json("email/expected.json");
    let expected = expected.as_object().expect("object");
    assert!(
        expected.len() >= 28,
        "expected.json lists {} messages",
        expected.len()
    );
    let differences = structural_differences();
    let mut failures = Vec::new();
    let mut line_end_files = Vec::new();
    for (file, entries) in expected {
        let exploded = explode_sample(&format!("email/{file}"), &keep_all_policy());
        let ours = taken(&exploded);
        if let Some(known) = differences.get(file.as_str()) {
            let ours_short: Vec<(Option<&str>, u64)> = ours
                .iter()
                .map(|(name, size, _)| (name.as_deref(), *size))
                .collect();
            if &ours_short != known {
                failures.push(format!(
                    "{file}: known difference changed: ours {ours_short:?}"
                ));
            }
            continue;
        }
        let theirs = python_expectation(file, entries.as_array().expect("array"));
        let ours =
            apply_known_byte_differences(file, &exploded, ours, &theirs, &mut line_end_files);
        if ours != theirs {
            failures.push(format!("{file}:\n  ours   {ours:?}\n  python {theirs:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        line_end_files,
        [
            "hunnysoft-zbateson/m2011.txt",
            "mail-parser/legacy/047.eml",
            "php-mime-mail-parser/m0014",
            "ruby-mail/japanese_attachment_long_name.eml"
        ]
    );
}

/// Two known differences in bytes, applied to our side so the rest must match exactly:
/// - Python reads messages through universal newlines, so CRLF line ends inside unencoded and
///   quoted-printable parts come out as LF; we keep the bytes as sent. Where ours with CRLF
///   turned into LF is Python's, the file is listed in `line_end_files`.
/// - rich-text.eml's winmail.dat holds two embedded Outlook items (PR_ATTACH_DATA_OBJ of type
///   object, attach method 5): we take each data object without its 16-byte interface id (a
///   nested TNEF stream); the tool writes the last one's data object, id included, for both.
fn apply_known_byte_differences(
    file: &str,
    exploded: &Exploded,
    mut ours: Vec<Taken>,
    theirs: &[Taken],
    line_end_files: &mut Vec<String>,
) -> Vec<Taken> {
    if file == "mimekit/rich-text.eml" {
        let embedded = &exploded.attachments[1..];
        assert_eq!(embedded.len(), 2);
        assert!(embedded
            .iter()
            .all(|a| a.bytes.starts_with(&tnef::TNEF_SIGNATURE.to_le_bytes())));
        assert_eq!(embedded[1].bytes.len() as u64 + 16, theirs[2].1);
        for position in [1, 2] {
            ours[position] = theirs[position].clone();
        }
        return ours;
    }
    let mut changed = false;
    for (position, attachment) in exploded.attachments.iter().enumerate() {
        let Some(expected) = theirs.get(position) else {
            break;
        };
        if ours[position] == *expected || !attachment.bytes.contains(&b'\r') {
            continue;
        }
        let mut with_lf = Vec::with_capacity(attachment.bytes.len());
        for (index, &byte) in attachment.bytes.iter().enumerate() {
            if byte == b'\r' && attachment.bytes.get(index + 1) == Some(&b'\n') {
                continue;
            }
            with_lf.push(byte);
        }
        let as_lf = (
            attachment.original_name.clone(),
            with_lf.len() as u64,
            sha256(&with_lf),
        );
        if as_lf == *expected {
            ours[position] = as_lf;
            changed = true;
        }
    }
    if changed {
        line_end_files.push(file.to_string());
    }
    ours
}

#[test]
fn every_sample_message_explodes_and_sniffs_as_mail() {
    let expected = read_json("email/expected.json");
    for file in expected.as_object().expect("object").keys() {
        let raw = read_sample(&format!("email/{file}"));
        let exploded = explode(&raw, &MailPolicy::default()).expect("explodes");
        // malformed/003.eml has one header field (Content-Type): not enough to call it mail.
        let sniffed = looks_like_mail(&raw[..raw.len().min(4096)]);
        assert_eq!(
            sniffed,
            file != "mail-parser/malformed/003.eml",
            "{file}: sniffed {sniffed}"
        );
        for attachment in &exploded.attachments {
            assert!(!attachment.safe_name.is_empty(), "{file}: empty safe name");
            assert!(attachment.safe_name.chars().count() <= 120);
        }
        let indexes: Vec<usize> = exploded.attachments.iter().map(|a| a.index).collect();
        assert_eq!(indexes, (1..=indexes.len()).collect::<Vec<_>>(), "{file}");
    }
    for not_mail in [
        "tnef/two-files.tnef",
        "email/mime4j/ARTISTIC-LICENSE.txt",
        "email/expected.json",
    ] {
        let raw = read_sample(not_mail);
        assert!(
            !looks_like_mail(&raw[..raw.len().min(4096)]),
            "{not_mail} sniffed as mail"
        );
    }
}

/// mail-parser's own expectations (`.json` beside its samples): every leaf it lists as an
/// attachment is one we take, binary ones with the same decoded size.
#[test]
fn corpus_matches_mail_parser_expectations() {
    for file in [
        "rfc/002",
        "rfc/006",
        "malformed/003",
        "malformed/017",
        "thirdparty/004",
        "legacy/045",
        "legacy/047",
    ] {
        let expected = read_json(&format!("email/mail-parser/{file}.json"));
        let mut sizes = Vec::new();
        collect_leaf_attachments(&expected, &mut sizes);
        let exploded = explode_sample(&format!("email/mail-parser/{file}.eml"), &keep_all_policy());
        if file == "malformed/003" {
            // Read as the text body here (our rule: an unnamed text part is body), listed as a
            // text attachment by mail-parser's JSON.
            assert!(exploded.attachments.is_empty() && exploded.body_text.is_some());
            continue;
        }
        assert_eq!(
            exploded.attachments.len(),
            sizes.len(),
            "{file}: {:?}",
            taken(&exploded)
        );
        for (attachment, size) in exploded.attachments.iter().zip(&sizes) {
            if let Some(size) = size {
                assert_eq!(
                    attachment.bytes.len(),
                    *size,
                    "{file} part {}",
                    attachment.path
                );
            }
        }
    }
}

/// Leaf attachments of a serialized mail-parser message, depth first: the decoded size of
/// binary ones, None for text ones (converted to UTF-8 there, raw bytes here).
fn collect_leaf_attachments(message: &Value, out: &mut Vec<Option<usize>>) {
    let parts = message["parts"].as_array().expect("parts");
    let mut ids: Vec<u64> = message["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort_unstable();
    for id in ids {
        let body = &parts[id as usize]["body"];
        if let Some(nested) = body.get("Message") {
            collect_leaf_attachments(nested, out);
        } else if let Some(bytes) = body.get("Binary").or_else(|| body.get("InlineBinary")) {
            out.push(Some(bytes.as_array().expect("bytes").len()));
        } else {
            out.push(None);
        }
    }
}

#[test]
fn hostile_names_are_made_safe_and_kept() {
    let exploded = explode_sample("email/mime4j/multi-badnames.msg", &keep_all_policy());
    let originals: Vec<Option<&str>> = exploded
        .attachments
        .iter()
        .map(|a| a.original_name.as_deref())
        .collect();
    assert_eq!(
        originals,
        [Some("/foo/bar"), Some("foo bar"), Some("foobar")]
    );
    let xml = String::from_utf8(read_sample("email/mime4j/multi-badnames.xml")).expect("utf-8");
    for original in originals.into_iter().flatten() {
        assert!(
            xml.contains(&format!("name=\"{original}\"")),
            "{original} not in mime4j's parse"
        );
    }
    for attachment in &exploded.attachments {
        let name = &attachment.safe_name;
        assert!(!name.contains('/') && !name.contains('\\'), "{name}");
        assert!(
            name != "." && name != ".." && !name.starts_with('.'),
            "{name}"
        );
        assert!(!name.chars().any(char::is_control), "{name}");
    }
    assert_eq!(exploded.attachments[0].safe_name, "bar");
}

#[test]
fn encoded_names_are_decoded() {
    let cases = [
        (
            "email/mime4j/attachment-filename-encoding-Latin1.msg",
            "attachment.äöü",
        ),
        (
            "email/ruby-mail/japanese_attachment_long_name.eml",
            "かきくけこかきくけこかきくけこかきくけこかきくけこ.txt",
        ),
        (
            "email/php-mime-mail-parser/m0013",
            "50032266 CAR 11_MNPA00A01_9PTX_H00 ATT N° 1467829.pdf",
        ),
        (
            "email/django-mailbox/message_with_koi8r_filename_attachments.eml",
            "Ведомости.pdf",
        ),
        ("email/hunnysoft-zbateson/m2011.txt", "HasenundFrösche.txt"),
    ];
    for (file, name) in cases {
        let exploded = explode_sample(file, &keep_all_policy());
        let names: Vec<&str> = exploded
            .attachments
            .iter()
            .filter_map(|a| a.original_name.as_deref())
            .collect();
        assert!(names.contains(&name), "{file}: {names:?}");
    }
    let xml = String::from_utf8(read_sample(
        "email/mime4j/attachment-filename-encoding-Latin1.xml",
    ))
    .expect("utf-8");
    assert!(
        xml.contains("%2E%E4%F6%FC"),
        "the .xml shows the RFC 2231 form we decode"
    );
}

#[test]
fn tnef_samples_match_the_tnef_tool() {
    let expected = read_json("tnef/expected.json");
    for (file, outcome) in expected.as_object().expect("object") {
        let bytes = read_sample(&format!("tnef/{file}"));
        let files = tnef::attachments(&bytes);
        let wanted = outcome["attachments"]
            .as_array()
            .expect("the tool read every sample");
        let Ok(files) = files else {
            // The tool lists nothing from garbage-at-end.tnef and refuses to unpack it.
            assert!(wanted.is_empty(), "{file}: {files:?}");
            continue;
        };
        let ours: Vec<(Option<&str>, usize, String)> = files
            .iter()
            .map(|f| (f.name.as_deref(), f.bytes.len(), sha256(&f.bytes)))
            .collect();
        let theirs: Vec<(Option<&str>, usize, String)> = wanted
            .iter()
            .map(|w| (w["name"].as_str(), size_of(w) as usize, hash_of(w)))
            .collect();
        assert_eq!(ours, theirs, "{file}");

        // The upstream .list files name the attachments (and the saved RTF body, "-body.rtf",
        // which is not an attachment; long-filename and missing-filenames list only that).
        let list = String::from_utf8(read_sample(&format!(
            "tnef/{}",
            file.replace(".tnef", ".list")
        )))
        .expect("utf-8");
        let listed: Vec<&str> = list
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.ends_with("-body.rtf"))
            .collect();
        if !listed.is_empty() {
            let names: Vec<&str> = files.iter().filter_map(|f| f.name.as_deref()).collect();
            assert_eq!(names, listed, "{file}");
        }
    }
}

#[test]
fn tnef_in_mail_is_replaced_by_its_files() {
    let exploded = explode_sample("email/mimekit/rich-text.eml", &MailPolicy::default());
    let tnef_files: Vec<_> = exploded
        .attachments
        .iter()
        .filter(|a| a.via == Via::Tnef)
        .collect();
    assert_eq!(tnef_files.len(), 3, "{:?}", taken(&exploded));
    assert_eq!(
        tnef_files[0].original_name.as_deref(),
        Some("kitten-playing-with-a-christmas-tree.jpg")
    );
    assert!(
        tnef_files[0].bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "a JPEG"
    );
    // Two embedded Outlook items, which Outlook calls "Untitled Attachment".
    assert!(tnef_files[1..]
        .iter()
        .all(|f| f.original_name.as_deref() == Some("Untitled Attachment")));
    assert!(
        tnef_files.iter().all(|f| f.path.contains("/tnef.")),
        "{:?}",
        tnef_files[0].path
    );
    assert!(!exploded
        .attachments
        .iter()
        .any(|a| a.safe_name == "winmail.dat"));

    // A winmail.dat with only a rich-text body: nothing taken, said in a warning.
    let exploded = explode_sample("email/mimekit/ukr.eml", &MailPolicy::default());
    assert!(exploded.attachments.is_empty());
    assert!(exploded
        .warnings
        .iter()
        .any(|w| w.contains("winmail.dat holds no attachments")));
}

#[test]
fn unreadable_tnef_is_kept_as_is_with_a_warning() {
    let broken_tnef = b"\x78\x9f\x3e\x22\x01\x00\x02\x0f\x80\x06\x00\xff\xff\xff\x00";
    let mail = mail_with_parts(&[Part {
        content_type: "application/ms-tnef; name=\"winmail.dat\"",
        disposition: Some("attachment; filename=\"winmail.dat\""),
        body: broken_tnef,
    }]);
    let exploded = explode(&mail, &MailPolicy::default()).expect("explodes");
    assert_eq!(exploded.attachments.len(), 1);
    assert_eq!(exploded.attachments[0].safe_name, "winmail.dat");
    assert_eq!(exploded.attachments[0].bytes, broken_tnef);
    assert!(
        exploded.warnings[0]
            .starts_with("part 2: winmail.dat could not be unpacked (truncated tnef"),
        "{:?}",
        exploded.warnings
    );
}

#[test]
fn forwarded_mail_attachments_and_text() {
    let exploded = explode_sample(
        "email/ruby-mail/attachment_message_rfc822.eml",
        &MailPolicy::default(),
    );
    assert_eq!(exploded.attachments.len(), 1);
    let pdf = &exploded.attachments[0];
    assert_eq!(pdf.original_name.as_deref(), Some("broken.pdf"));
    assert!(
        matches!(pdf.via, Via::Forwarded { depth } if depth >= 1),
        "{:?}",
        pdf.via
    );
    assert!(pdf.path.contains("/rfc822."), "{}", pdf.path);

    let exploded = explode_sample(
        "email/mimekit/simple-embedded-message.eml",
        &MailPolicy::default(),
    );
    assert!(exploded.attachments.is_empty());
    let text = exploded.body_text.expect("body text");
    assert!(text.contains("---- forwarded message: "), "{text}");
}

#[test]
fn headers_of_the_top_level_message() {
    let exploded = explode_sample("email/mail-parser/rfc/002.eml", &MailPolicy::default());
    let headers = &exploded.headers;
    assert_eq!(headers.from[0].address, "vice-president@whitehouse.gov");
    assert_eq!(headers.from[0].name.as_deref(), Some("Al Gore"));
    assert_eq!(
        headers.subject.as_deref(),
        Some("[Fwd: Map of Argentina with Description]")
    );
    assert_eq!(
        (headers.message_id.as_deref(), headers.date.as_deref()),
        (None, None),
        "002.eml has neither"
    );
    // The forwarded message's text follows the main body.
    let text = exploded.body_text.as_deref().expect("body text");
    assert!(
        text.contains("---- forwarded message: Map of Argentina with Description ----"),
        "{text}"
    );
    assert!(text.contains("MIME thing"));

    let mail = b"Delivered-To: factures@example.fr\r\nX-Original-To: <compta@example.fr>\r\nFrom: a@b.c\r\nSender: Robot <robot@b.c>\r\nSubject: x\r\n\r\nhello\r\n";
    let exploded = explode(mail, &MailPolicy::default()).expect("explodes");
    let delivered: Vec<&str> = exploded
        .headers
        .delivered_to
        .iter()
        .map(|a| a.address.as_str())
        .collect();
    assert_eq!(delivered, ["factures@example.fr", "compta@example.fr"]);
    assert_eq!(
        exploded.headers.sender.as_ref().map(|s| s.address.as_str()),
        Some("robot@b.c")
    );
    assert_eq!(
        exploded.body_text.as_deref().map(str::trim_end),
        Some("hello")
    );
}

#[test]
fn small_inline_images_are_dropped_and_documents_kept() {
    let logo = vec![0x89u8; 1500];
    let big_photo = vec![0xFFu8; 30 << 10];
    let mail = mail_with_parts(&[
        Part {
            content_type: "image/png; name=\"logo.png\"",
            disposition: Some("inline; filename=\"logo.png\""),
            body: &logo,
        },
        Part {
            content_type: "image/jpeg",
            disposition: Some("inline"),
            body: &big_photo,
        },
        Part {
            content_type: "application/octet-stream",
            disposition: Some("inline"),
            body: b"%PDF-1.4 tiny",
        },
        Part {
            content_type: "image/png",
            disposition: Some("attachment; filename=\"small.png\""),
            body: &logo,
        },
    ]);
    let exploded = explode(&mail, &MailPolicy::default()).expect("explodes");
    assert_eq!(exploded.dropped.len(), 1);
    assert_eq!(exploded.dropped[0].name.as_deref(), Some("logo.png"));
    assert!(exploded.dropped[0].reason.starts_with("small inline image"));
    let names: Vec<&str> = exploded
        .attachments
        .iter()
        .map(|a| a.safe_name.as_str())
        .collect();
    assert_eq!(names, ["attachment-1.jpg", "attachment-2", "small.png"]);
    assert_eq!(exploded.attachments[1].disposition, Disposition::Inline);
}

#[test]
fn zip_bomb_is_refused() {
    let bomb = zipcheck::zip_declaring(&[u32::MAX - 1; 4]);
    let mail = mail_with_parts(&[
        Part {
            content_type: "application/zip",
            disposition: Some("attachment; filename=\"factures.zip\""),
            body: &bomb,
        },
        Part {
            content_type: "application/pdf",
            disposition: Some("attachment; filename=\"f.pdf\""),
            body: b"%PDF-1.4",
        },
    ]);
    let exploded = explode(&mail, &MailPolicy::default()).expect("explodes");
    assert_eq!(exploded.refused.len(), 1);
    assert_eq!(exploded.refused[0].name.as_deref(), Some("factures.zip"));
    assert!(
        exploded.refused[0].reason.starts_with("archive bomb"),
        "{}",
        exploded.refused[0].reason
    );
    assert_eq!(exploded.attachments.len(), 1);

    let ordinary_zip = zipcheck::zip_declaring(&[100, 200]);
    let mail = mail_with_parts(&[Part {
        content_type: "application/zip",
        disposition: Some("attachment; filename=\"ok.zip\""),
        body: &ordinary_zip,
    }]);
    let exploded = explode(&mail, &MailPolicy::default()).expect("explodes");
    assert!(exploded.refused.is_empty());
    assert_eq!(exploded.attachments.len(), 1);
}

#[test]
fn forwarding_fifty_deep_stops_at_max_depth() {
    // Base64-encoded forwards grow by a third per level: 10 levels are enough there.
    for (encoded, levels) in [(false, 50), (true, 10)] {
        let mut mail = b"From: a@b.c\r\nSubject: level 50\r\nContent-Type: multipart/mixed; boundary=\"b50\"\r\n\r\n--b50\r\nContent-Type: application/pdf; name=\"deep.pdf\"\r\n\r\n%PDF-1.4 deep\r\n--b50--\r\n".to_vec();
        for level in (0..levels).rev() {
            mail = forward(&mail, level, encoded);
        }
        let exploded = explode(&mail, &MailPolicy::default()).expect("explodes");
        if encoded {
            // mail-parser reads 3 levels of base64-encoded forwards; the 4th is taken whole.
            assert_eq!(exploded.attachments.len(), 1, "{:?}", taken(&exploded));
            let forwarded = &exploded.attachments[0];
            assert_eq!(forwarded.content_type, "message/rfc822");
            assert_eq!(forwarded.via, Via::Forwarded { depth: 3 });
            assert!(
                forwarded.safe_name.ends_with(".eml"),
                "{}",
                forwarded.safe_name
            );
            assert!(exploded
                .warnings
                .iter()
                .any(|w| w.contains("forwarded message not read")));
            continue;
        }
        assert!(exploded.attachments.is_empty(), "{:?}", taken(&exploded));
        let too_deep: Vec<_> = exploded
            .refused
            .iter()
            .filter(|r| r.reason.starts_with("too deep"))
            .collect();
        assert_eq!(too_deep.len(), 1, "{:?}", exploded.refused);
        assert_eq!(
            too_deep[0].path.matches("/rfc822").count(),
            8,
            "{}",
            too_deep[0].path
        );
        assert!(exploded
            .body_text
            .as_deref()
            .is_some_and(|text| text.contains("---- forwarded message: level 8 ----")));
    }
    let shallow = forward(
        &forward(
            b"Subject: inner\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n",
            1,
            false,
        ),
        0,
        false,
    );
    let exploded = explode(&shallow, &MailPolicy::default()).expect("explodes");
    assert_eq!(exploded.attachments.len(), 1);
    assert_eq!(exploded.attachments[0].via, Via::Forwarded { depth: 2 });
    assert_eq!(exploded.attachments[0].path, "2/rfc822.2/rfc822.1");
}

/// `inner` forwarded inside a new message, as a message/rfc822 part (base64 when `encoded`).
fn forward(inner: &[u8], level: usize, encoded: bool) -> Vec<u8> {
    let boundary = format!("b{level}");
    let mut mail = format!(
        "From: a@b.c\r\nSubject: level {level}\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n"
    )
    .into_bytes();
    if encoded {
        mail.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        mail.extend_from_slice(base64(inner).as_bytes());
    } else {
        mail.extend_from_slice(b"\r\n");
        mail.extend_from_slice(inner);
    }
    mail.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    mail
}

#[test]
fn a_huge_attachment_is_refused_and_the_others_taken() {
    let policy = MailPolicy {
        max_attachment_bytes: 1000,
        max_total_bytes: 1500,
        ..MailPolicy::default()
    };
    let huge = vec![b'x'; 5000];
    let middle = vec![b'y'; 800];
    let mail = mail_with_parts(&[
        Part {
            content_type: "application/pdf",
            disposition: Some("attachment; filename=\"a.pdf\""),
            body: b"%PDF-small",
        },
        Part {
            content_type: "application/pdf",
            disposition: Some("attachment; filename=\"huge.pdf\""),
            body: &huge,
        },
        Part {
            content_type: "application/octet-stream",
            disposition: None,
            body: &middle,
        },
        Part {
            content_type: "application/octet-stream",
            disposition: None,
            body: &middle,
        },
    ]);
    let exploded = explode(&mail, &policy).expect("explodes");
    let names: Vec<&str> = exploded
        .attachments
        .iter()
        .map(|a| a.safe_name.as_str())
        .collect();
    assert_eq!(names, ["a.pdf", "attachment-2"]);
    assert_eq!(exploded.refused.len(), 2);
    assert_eq!(exploded.refused[0].name.as_deref(), Some("huge.pdf"));
    assert_eq!(
        exploded.refused[0].reason,
        "too large: 5000 bytes, over the 1000-byte limit for one attachment"
    );
    assert!(
        exploded.refused[1].reason.starts_with("over the total"),
        "{}",
        exploded.refused[1].reason
    );
    assert_eq!(exploded.refused[1].path, "5");
}

#[test]
fn too_many_parts_are_refused() {
    let bodies: Vec<Vec<u8>> = (0..20).map(|i| format!("part {i}").into_bytes()).collect();
    let parts: Vec<Part<'_>> = bodies
        .iter()
        .map(|body| Part {
            content_type: "application/octet-stream",
            disposition: None,
            body,
        })
        .collect();
    let policy = MailPolicy {
        max_parts: 10,
        ..MailPolicy::default()
    };
    let exploded = explode(&mail_with_parts(&parts), &policy).expect("explodes");
    assert_eq!(
        exploded.attachments.len(),
        8,
        "root + text body + 8 parts = 10"
    );
    assert_eq!(exploded.refused.len(), 1);
    assert!(
        exploded.refused[0].reason.starts_with("too many parts"),
        "{}",
        exploded.refused[0].reason
    );
}

#[test]
fn whole_message_errors() {
    let policy = MailPolicy {
        max_message_bytes: 10,
        ..MailPolicy::default()
    };
    assert_eq!(
        explode(b"From: a@b.c\r\n\r\nhello", &policy),
        Err(MailError::TooLarge {
            bytes: 20,
            limit: 10
        })
    );
    assert_eq!(
        explode(b"", &MailPolicy::default()),
        Err(MailError::NotMail)
    );
    assert_eq!(
        MailError::TooLarge {
            bytes: 20,
            limit: 10
        }
        .to_string(),
        "message too large: 20 bytes, over the 10-byte limit"
    );
}

/// Found by the mail_explode fuzz target: a mutated rfc/002.eml that trips a `debug_assert!`
/// inside mail-parser 0.11.9. Debug builds refuse it with a precise error; release builds
/// (no debug assertions) read what mail-parser recovers.
#[test]
fn mail_parser_debug_assertion_is_an_error_not_a_panic() {
    let raw = read_sample("email/regressions/mail-parser-debug-assert.eml");
    match explode(&raw, &MailPolicy::default()) {
        Err(MailError::ParserFailed) => assert!(cfg!(debug_assertions)),
        Ok(_) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn safe_names_from_the_api() {
    assert_eq!(safe_file_name("../../../etc/passwd", 120), "passwd");
    assert_eq!(safe_file_name("LPT1.pdf", 120), "_LPT1.pdf");
}

/// Not an assertion on time: prints how fast rich-text.eml (1.1 MB, TNEF inside) explodes.
#[test]
fn measure_explode_throughput() {
    let raw = read_sample("email/mimekit/rich-text.eml");
    let rounds = if cfg!(debug_assertions) { 10 } else { 100 };
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let exploded = explode(&raw, &MailPolicy::default()).expect("explodes");
        assert_eq!(exploded.attachments.len(), 3);
    }
    let seconds = started.elapsed().as_secs_f64();
    let megabytes = (raw.len() * rounds) as f64 / 1e6;
    println!(
        "explode rich-text.eml x{rounds}: {:.1} MB/s ({seconds:.3} s)",
        megabytes / seconds
    );
}

struct Part<'a> {
    content_type: &'a str,
    disposition: Option<&'a str>,
    body: &'a [u8],
}

/// A multipart/mixed message: a text body (part 1), then `parts` (2 …), base64-encoded.
fn mail_with_parts(parts: &[Part<'_>]) -> Vec<u8> {
    let mut mail = b"From: Expediteur <factures@example.fr>\r\nTo: compta@example.com\r\nSubject: test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n".to_vec();
    for part in parts {
        mail.extend_from_slice(
            format!("--XYZ\r\nContent-Type: {}\r\n", part.content_type).as_bytes(),
        );
        if let Some(disposition) = part.disposition {
            mail.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        }
        mail.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        mail.extend_from_slice(base64(part.body).as_bytes());
        mail.extend_from_slice(b"\r\n");
    }
    mail.extend_from_slice(b"--XYZ--\r\n");
    mail
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(3).enumerate() {
        if line > 0 && line % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
#[ignore]
fn dump_for_debugging() {
    let file = std::env::var("MAIL_DUMP").expect("MAIL_DUMP");
    let exploded = explode_sample(&file, &keep_all_policy());
    for a in &exploded.attachments {
        println!(
            "{} {:?} {:?} {} {:?} len {} head {:?}",
            a.path,
            a.original_name,
            a.safe_name,
            a.content_type,
            a.via,
            a.bytes.len(),
            String::from_utf8_lossy(&a.bytes[..a.bytes.len().min(40)])
        );
    }
    println!(
        "refused {:?}\ndropped {:?}\nwarnings {:?}\nheaders {:?}",
        exploded.refused, exploded.dropped, exploded.warnings, exploded.headers
    );
    println!(
        "body {:?}",
        exploded
            .body_text
            .as_deref()
            .map(|t| &t[..t.len().min(300)])
    );
}
