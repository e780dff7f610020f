//! E-mailed documents end to end: `when.metadata_match` on doctypes and
//! bursts, keys read from a metadata `field`, and `[[sender_policy]]` with
//! [`RuleSet::sender_check`]; plus the load-time errors of each.

use std::collections::BTreeMap;

use rules::{plus_tag, strip_plus, Input, RuleSet, RulesError, SenderCheck, Target, TargetKind};

fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(toml: &str) -> RuleSet {
    match RuleSet::from_toml(toml) {
        Ok(rs) => rs,
        Err(e) => panic!("should load: {e}\n{toml}"),
    }
}

fn err(toml: &str) -> String {
    match RuleSet::from_toml(toml) {
        Ok(_) => panic!("should fail:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

fn evaluate(
    rs: &RuleSet,
    pages: &[&str],
    metadata: &BTreeMap<String, String>,
) -> rules::Evaluation {
    let pages: Vec<String> = pages.iter().map(|p| p.to_string()).collect();
    rs.evaluate(&Input {
        source: "imap",
        format: "pdf",
        pages: &pages,
        metadata,
        words: None,
    })
}

/// The routing example of the documentation, as a clerk would write it.
const MAIL_RULES: &str = r#"
[[doctype]]
name = "supplier-invoice"
when.source = "imap"
when.metadata_match = { "mail.subject" = '(?i)facture', "mail.from" = '@fournisseur\.fr$', "mail.attachment" = '(?i)\.pdf$' }
  [[doctype.key]]
  name = "invoice_number"
  field = "mail.subject"
  regex = 'Facture (?P<value>F\d{4}-\d{5})'
  type = "code"
  required = true
  [[doctype.attach]]
  target = "invoice"
  key = "invoice_number"

[[doctype]]
name = "client-document"
when.metadata_match = { "mail.subject" = '\[C\d{5}\]' }
  [[doctype.key]]
  name = "client_number"
  field = "mail.subject"
  regex = '\[(?P<value>C\d{5})\]'
  type = "code"
  required = true
  [[doctype.attach]]
  target = "client"
  key = "client_number"

[[doctype]]
name = "plus-addressed"
when.metadata = { "mail.capture" = "capture@acme.fr" }
when.metadata_match = { "mail.plus" = '^(?i)c\d{5}$' }
  [[doctype.key]]
  name = "client_number"
  field = "mail.plus"
  type = "code"
  [[doctype.attach]]
  target = "client"
  key = "client_number"

[[doctype]]
name = "other"
"#;

#[test]
fn metadata_match_routes_doctypes() {
    let rs = load(MAIL_RULES);
    let supplier = meta(&[
        ("mail.from", "ventes@fournisseur.fr"),
        ("mail.subject", "Votre FACTURE Facture F2026-00042"),
        ("mail.attachment", "F2026-00042.PDF"),
    ]);
    let ev = evaluate(&rs, &["texte"], &supplier);
    assert_eq!(ev.doc_type.as_deref(), Some("supplier-invoice"));
    assert_eq!(ev.keys["invoice_number"].value, "F2026-00042");
    assert_eq!(ev.keys["invoice_number"].raw, "F2026-00042");
    assert_eq!(ev.keys["invoice_number"].page, 0);
    assert_eq!(
        ev.keys["invoice_number"].rule,
        "supplier-invoice/invoice_number: metadata mail.subject + regex"
    );
    assert_eq!(
        ev.targets,
        [Target {
            kind: TargetKind::Invoice,
            value: "F2026-00042".into(),
            key: "invoice_number".into(),
        }]
    );
    assert!(ev.problems.is_empty(), "{:?}", ev.problems);

    // each regex must match: another domain, a .doc, a subdomain (the regex is anchored)
    for (key, value) in [
        ("mail.from", "ventes@autre.fr"),
        ("mail.from", "ventes@fournisseur.fr.evil.com"),
        ("mail.attachment", "facture.doc"),
        ("mail.subject", "Relevé"),
    ] {
        let mut m = supplier.clone();
        m.insert(key.into(), value.into());
        assert_eq!(
            evaluate(&rs, &["texte"], &m).doc_type.as_deref(),
            Some("other"),
            "{key} = {value}"
        );
    }
    // a missing value never matches, even a regex that matches the empty string
    let mut m = supplier.clone();
    m.remove("mail.attachment");
    assert_eq!(evaluate(&rs, &[], &m).doc_type.as_deref(), Some("other"));
    let rs2 = load("[[doctype]]\nname = \"d\"\nwhen.metadata_match = { \"mail.cc\" = '.*' }\n");
    assert_eq!(evaluate(&rs2, &[], &meta(&[])).doc_type, None);
    assert_eq!(
        evaluate(&rs2, &[], &meta(&[("mail.cc", "")]))
            .doc_type
            .as_deref(),
        Some("d")
    );
    // when.source still applies
    let pages: Vec<String> = vec![];
    let ev = rs.evaluate(&Input {
        source: "cli",
        format: "pdf",
        pages: &pages,
        metadata: &supplier,
        words: None,
    });
    assert_eq!(ev.doc_type.as_deref(), Some("other"));
}

#[test]
fn client_from_subject_and_from_plus_address() {
    let rs = load(MAIL_RULES);
    let ev = evaluate(
        &rs,
        &["..."],
        &meta(&[("mail.subject", "RE: contrat [C01234] signé")]),
    );
    assert_eq!(ev.doc_type.as_deref(), Some("client-document"));
    assert_eq!(ev.keys["client_number"].value, "C01234");
    assert_eq!(ev.targets[0].kind, TargetKind::Client);

    let ev = evaluate(
        &rs,
        &["..."],
        &meta(&[
            ("mail.capture", "capture@acme.fr"),
            ("mail.plus", " c01234 "),
            ("mail.subject", "documents"),
        ]),
    );
    assert_eq!(
        ev.doc_type.as_deref(),
        Some("other"),
        "the regex is anchored: spaces do not match"
    );
    let ev = evaluate(
        &rs,
        &["..."],
        &meta(&[
            ("mail.capture", "capture@acme.fr"),
            ("mail.plus", "c01234"),
            ("mail.subject", "documents"),
        ]),
    );
    assert_eq!(ev.doc_type.as_deref(), Some("plus-addressed"));
    assert_eq!(ev.keys["client_number"].value, "C01234");
    assert_eq!(ev.keys["client_number"].raw, "c01234");
    assert_eq!(
        ev.keys["client_number"].rule,
        "plus-addressed/client_number: metadata mail.plus"
    );
    assert_eq!(ev.targets[0].value, "C01234");
}

#[test]
fn keys_from_fields() {
    let rs = load(
        r#"
        [[doctype]]
        name = "mail"
          [[doctype.key]]
          name = "whole"
          field = "mail.from_name"
          [[doctype.key]]
          name = "date"
          field = "mail.date"
          regex = '(\d{2}/\d{2}/\d{4})'
          type = "date"
          [[doctype.key]]
          name = "last_ref"
          field = "mail.subject"
          regex = 'R(\d+)'
          type = "integer"
          occurrence = "last"
          [[doctype.key]]
          name = "validated"
          field = "mail.subject"
          regex = '\[(?P<value>[^\]]+)\]'
          type = "code"
          validate = '^C\d{5}$'
          [[doctype.key]]
          name = "blank"
          field = "mail.cc"
          required = true
          [[doctype.key]]
          name = "absent"
          field = "mail.plus"
          required = true
          [[doctype.key]]
          name = "no_match"
          field = "mail.subject"
          regex = 'Facture (\S+)'
          required = true
          [[doctype.key]]
          name = "text_is_not_read"
          field = "mail.message_id"
          regex = 'R\d+'
        "#,
    );
    let ev = evaluate(
        &rs,
        &["R99 Facture X R100"],
        &meta(&[
            ("mail.from_name", "  Service   Compta  "),
            ("mail.date", "le 15/03/2026 à 10:00"),
            ("mail.subject", "refs R1 R22 R333 [abc]"),
            ("mail.cc", "   "),
            ("mail.message_id", "<x@y>"),
        ]),
    );
    assert_eq!(ev.keys["whole"].value, "Service Compta"); // text collapses spaces
    assert_eq!(ev.keys["whole"].raw, "Service   Compta");
    assert_eq!(ev.keys["whole"].rule, "mail/whole: metadata mail.from_name");
    assert_eq!(ev.keys["date"].value, "2026-03-15");
    assert_eq!(ev.keys["last_ref"].value, "333");
    assert_eq!(
        ev.keys["last_ref"].rule,
        "mail/last_ref: metadata mail.subject + regex (last)"
    );
    assert!(ev.keys.values().all(|k| k.page == 0));
    assert!(!ev.keys.contains_key("validated"));
    assert!(!ev.keys.contains_key("text_is_not_read"));
    assert_eq!(
        ev.problems,
        [
            r#"key validated: "ABC" does not match ^C\d{5}$"#,
            "required key blank not found",
            "required key absent not found",
            "required key no_match not found",
        ]
    );

    // a typed value that does not parse is a problem, as for text keys
    let ev = evaluate(&rs, &[], &meta(&[("mail.date", "31/02/2026")]));
    assert!(
        ev.problems
            .iter()
            .any(|p| p.starts_with(r#"key date: "31/02/2026" is not a valid date"#)),
        "{:?}",
        ev.problems
    );
}

#[test]
fn burst_metadata_match() {
    let rs = load(
        r#"
        [[burst]]
        name = "mailed-run"
        when.metadata_match = { "mail.attachment" = '(?i)^releve.*\.txt$', "mail.from" = '@banque\.fr$' }
        start = { regex = '^RELEVE' }

        [[burst]]
        name = "fallback"
        start = { regex = '^X' }
        "#,
    );
    let m = meta(&[
        ("mail.attachment", "Releve-2026-03.TXT"),
        ("mail.from", "noreply@banque.fr"),
    ]);
    assert_eq!(
        rs.burst_for("imap", "text-spool", &m).map(|b| b.name()),
        Some("mailed-run")
    );
    let mut other = m.clone();
    other.insert("mail.from".into(), "noreply@banque.fr.example".into());
    assert_eq!(
        rs.burst_for("imap", "text-spool", &other).map(|b| b.name()),
        Some("fallback")
    );
    other.remove("mail.from");
    assert_eq!(
        rs.burst_for("imap", "text-spool", &other).map(|b| b.name()),
        Some("fallback")
    );
}

#[test]
fn load_errors() {
    // bad regex in metadata_match names the doctype and the metadata key
    let msg = err(
        "[[doctype]]\nname = \"mailed\"\nwhen.metadata_match = { \"mail.subject\" = '(?i)facture', \"mail.from\" = '@(fournisseur' }\n",
    );
    assert!(
        msg.starts_with("doctype mailed: when.metadata_match for mail.from is not a valid regex: "),
        "{msg}"
    );
    let msg = err(
        "[[burst]]\nname = \"run\"\nwhen.metadata_match = { \"mail.attachment\" = '[' }\nstart = { regex = 'X' }\n",
    );
    assert!(
        msg.starts_with(
            "burst run: when.metadata_match for mail.attachment is not a valid regex: "
        ),
        "{msg}"
    );
    assert!(matches!(
        RuleSet::from_toml("[[doctype]]\nname = \"d\"\nwhen.metadata_match = { k = '(' }\n"),
        Err(RulesError::BadMetadataMatch { ref doctype, ref key, .. }) if doctype == "d" && key == "k"
    ));
    assert!(
        err("[[doctype]]\nname = \"d\"\nwhen.metadata_match = { k = 3 }\n")
            .starts_with("cannot read rules file: ")
    );

    // field and zone together are refused
    assert_eq!(
        err("[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nfield = \"mail.subject\"\nzone = { rows = [1, 1], cols = [1, 5] }\n"),
        "doctype d, key k: field and zone are exclusive (a key reads a metadata value or the page text, not both)"
    );
    assert_eq!(
        err("[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nfield = \" \"\n"),
        "doctype d, key k: field is empty (name a metadata key, e.g. mail.subject)"
    );
    let msg = err(
        "[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nfield = \"mail.subject\"\nregex = '(x'\n",
    );
    assert!(
        msg.starts_with("doctype d, key k: regex is not a valid regex: "),
        "{msg}"
    );
    assert!(err(
        "[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nfields = \"mail.subject\"\n"
    )
    .contains("unknown field `fields`"));

    // sender policies
    let policy = |body: &str| err(&format!("[[sender_policy]]\n{body}\n"));
    assert!(
        policy("capture = \"a@b.fr\"\nallowed = [\"x@y.fr\"]").contains("unknown field `allowed`")
    );
    assert!(policy("capture = \"a@b.fr\"\nclient_contacts = \"yes\"")
        .starts_with("cannot read rules file: "));
    assert!(policy("allow = \"x@y.fr\"").contains("missing field `capture`"));
    assert_eq!(
        policy("capture = []"),
        "sender_policy #1: capture is an empty list, the policy could never apply"
    );
    assert_eq!(
        policy("capture = [\"Factures@Acme.fr\", \"capture+x@acme.fr\"]"),
        "sender_policy #1 (factures@acme.fr): capture entry \"capture+x@acme.fr\" has a plus tag: write the capture address without it (tags are removed before comparing)"
    );
    assert_eq!(
        policy("capture = \"factures\""),
        "sender_policy #1 (factures): capture entry \"factures\" is not an address (user@domain)"
    );
    assert_eq!(
        policy("capture = \"a@b.fr\"\nallow = [\"x@y.fr\", \"fournisseur.fr\"]"),
        "sender_policy #1 (a@b.fr): allow entry \"fournisseur.fr\" is neither an address (user@domain) nor a domain (@domain, @.domain)"
    );
    assert_eq!(
        policy("capture = \"a@b.fr\"\nallow = \"*\""),
        "sender_policy #1 (a@b.fr): allow entry \"*\" is neither an address (user@domain) nor a domain (@domain, @.domain)"
    );
    assert_eq!(
        policy("capture = \"a@b.fr\"\nallow = \"@\""),
        "sender_policy #1 (a@b.fr): allow entry \"@\" has no domain after @"
    );
    assert_eq!(
        policy("capture = \"a@b.fr\"\nallow = \"Compta <c@d.fr>\""),
        "sender_policy #1 (a@b.fr): allow entry \"Compta <c@d.fr>\" is not a bare address or domain (no spaces, commas, quotes or <>)"
    );
    assert_eq!(
        err("[[sender_policy]]\ncapture = [\"a@b.fr\", \"*\"]\n[[sender_policy]]\ncapture = [\"c@b.fr\", \"A@B.FR\"]\n"),
        "sender_policy #2 (c@b.fr): capture a@b.fr is already in sender_policy #1, which always wins"
    );
    assert_eq!(
        err("[[sender_policy]]\ncapture = \"*\"\n[[sender_policy]]\ncapture = \"*\"\n"),
        "sender_policy #2 (*): capture * is already in sender_policy #1, which always wins"
    );
    // the same address twice in one policy is harmless
    let rs = load("[[sender_policy]]\ncapture = [\"a@b.fr\", \"A@b.fr\"]\n[[sender_policy]]\ncapture = \"*\"\n");
    assert_eq!(rs.sender_policy_labels(), ["a@b.fr", "*"]);
}

/// The policies of the brief, and a catch-all.
const POLICIES: &str = r#"
[[sender_policy]]
capture = ["factures@acme.fr", "capture@acme.fr"]
allow = ["compta@client-a.fr", "@fournisseur.fr", "@.groupe-b.fr"]

[[sender_policy]]
capture = "contrats@acme.fr"
allow = "juridique@acme.fr"
client_contacts = true

[[sender_policy]]
capture = "*"
allow = "@acme.fr"
"#;

fn check(rs: &RuleSet, pairs: &[(&str, &str)]) -> SenderCheck {
    rs.sender_check(&meta(pairs))
}

fn allowed(policy: &str) -> SenderCheck {
    SenderCheck::Allowed {
        policy: policy.into(),
    }
}

fn refused(reason: &str) -> SenderCheck {
    SenderCheck::Refused {
        reason: reason.into(),
    }
}

#[test]
fn sender_check_allow_list() {
    let rs = load(POLICIES);
    let cap = ("mail.capture", "factures@acme.fr");
    // exact address, case-insensitive on both sides
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "compta@client-a.fr")]),
        allowed("factures@acme.fr")
    );
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "Compta@Client-A.FR")]),
        allowed("factures@acme.fr")
    );
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.capture", "FACTURES@acme.fr"),
                ("mail.from", "compta@client-a.fr")
            ]
        ),
        allowed("factures@acme.fr")
    );
    // an exact address is exact: no other user, no plus tag
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "compta2@client-a.fr")]),
        refused("sender compta2@client-a.fr is not allowed to file for factures@acme.fr")
    );
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "compta+x@client-a.fr")]),
        refused("sender compta+x@client-a.fr is not allowed to file for factures@acme.fr")
    );
    // @domain: the domain, not its subdomains nor look-alikes
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "ventes@fournisseur.fr")]),
        allowed("factures@acme.fr")
    );
    for stranger in [
        "ventes@paris.fournisseur.fr",
        "ventes@faux-fournisseur.fr",
        "ventes@fournisseur.fr.evil.com",
        "fournisseur.fr",
    ] {
        assert_eq!(
            check(&rs, &[cap, ("mail.from", stranger)]),
            refused(&format!(
                "sender {stranger} is not allowed to file for factures@acme.fr"
            )),
        );
    }
    // @.domain: the domain and its subdomains
    for member in ["a@groupe-b.fr", "a@lyon.groupe-b.fr", "a@x.y.groupe-b.fr"] {
        assert_eq!(
            check(&rs, &[cap, ("mail.from", member)]),
            allowed("factures@acme.fr"),
            "{member}"
        );
    }
    assert!(matches!(
        check(&rs, &[cap, ("mail.from", "a@autre-groupe-b.fr")]),
        SenderCheck::Refused { .. }
    ));
    // the second capture address of the policy: same policy, same label
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.capture", "capture@acme.fr"),
                ("mail.from", "compta@client-a.fr")
            ]
        ),
        allowed("factures@acme.fr")
    );
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.capture", "capture@acme.fr"),
                ("mail.from", "pirate@evil.com")
            ]
        ),
        refused("sender pirate@evil.com is not allowed to file for capture@acme.fr")
    );
    // a blank sender
    assert_eq!(
        check(&rs, &[cap, ("mail.from", " ")]),
        refused("mail without sender address is not allowed to file for factures@acme.fr")
    );
}

#[test]
fn sender_check_capture_address() {
    let rs = load(POLICIES);
    let from = ("mail.from", "compta@client-a.fr");
    // the plus tag is removed from the capture address
    assert_eq!(
        check(&rs, &[("mail.capture", "capture+C01234@acme.fr"), from]),
        allowed("factures@acme.fr")
    );
    // without mail.capture: delivered_to, to, cc, plus tags removed
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.to", "someone@else.fr, Factures+C01234@Acme.fr"),
                from
            ]
        ),
        allowed("factures@acme.fr")
    );
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.to", "someone@else.fr"),
                ("mail.cc", "capture@acme.fr"),
                from
            ]
        ),
        allowed("factures@acme.fr")
    );
    assert_eq!(
        check(
            &rs,
            &[("mail.delivered_to", "capture+c01234@acme.fr"), from]
        ),
        allowed("factures@acme.fr")
    );
    // delivered_to comes before to: its policy applies
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.delivered_to", "contrats@acme.fr"),
                ("mail.to", "factures@acme.fr"),
                ("mail.from", "compta@client-a.fr"),
            ]
        ),
        SenderCheck::IfClientContact {
            policy: "contrats@acme.fr".into(),
            sender: "compta@client-a.fr".into()
        }
    );
    // mail.capture, when present, is the only capture address looked at
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.capture", "contrats@acme.fr"),
                ("mail.to", "factures@acme.fr"),
                from
            ]
        ),
        SenderCheck::IfClientContact {
            policy: "contrats@acme.fr".into(),
            sender: "compta@client-a.fr".into()
        }
    );
    // a capture address no policy names: the "*" policy
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.capture", "scans@acme.fr"),
                ("mail.from", "Paul@ACME.fr")
            ]
        ),
        allowed("*")
    );
    assert_eq!(
        check(&rs, &[("mail.capture", "scans@acme.fr"), from]),
        refused("sender compta@client-a.fr is not allowed to file for scans@acme.fr")
    );
    assert_eq!(check(&rs, &[("mail.from", "paul@acme.fr")]), allowed("*"));
    assert_eq!(
        check(&rs, &[from]),
        refused("sender compta@client-a.fr is not allowed to file for *")
    );
}

#[test]
fn sender_check_without_policy() {
    let rs = load("[[sender_policy]]\ncapture = \"factures@acme.fr\"\nallow = \"@client-a.fr\"\n");
    let from = ("mail.from", "compta@client-a.fr");
    assert_eq!(
        check(&rs, &[("mail.capture", "capture+C01234@acme.fr"), from]),
        refused("no sender policy for capture address capture@acme.fr")
    );
    assert_eq!(
        check(
            &rs,
            &[
                ("mail.to", "a@acme.fr, b+x@acme.fr"),
                ("mail.cc", "a@acme.fr"),
                from
            ]
        ),
        refused("no sender policy for capture addresses a@acme.fr, b@acme.fr")
    );
    assert_eq!(
        check(&rs, &[from]),
        refused("no sender policy: the mail names no capture address (mail.capture, mail.delivered_to, mail.to and mail.cc are empty)")
    );
    // no policy at all: every mailed document is refused
    let empty = load("");
    assert_eq!(
        check(&empty, &[("mail.capture", "factures@acme.fr"), from]),
        refused("no sender policy for capture address factures@acme.fr")
    );
    // not a mail: nothing to check, with or without policies
    assert_eq!(
        check(&rs, &[("mail.capture", "factures@acme.fr")]),
        SenderCheck::NotMail
    );
    assert_eq!(
        check(&empty, &[("form_type", "*FACT")]),
        SenderCheck::NotMail
    );
}

#[test]
fn sender_check_client_contacts() {
    let rs = load(POLICIES);
    let cap = ("mail.capture", "contrats@acme.fr");
    // on the list: allowed, no contact lookup needed
    assert_eq!(
        check(&rs, &[cap, ("mail.from", "juridique@acme.fr")]),
        allowed("contrats@acme.fr")
    );
    let answer = check(&rs, &[cap, ("mail.from", "Jean.Dupont@Client-A.fr")]);
    assert_eq!(
        answer,
        SenderCheck::IfClientContact {
            policy: "contrats@acme.fr".into(),
            sender: "jean.dupont@client-a.fr".into()
        }
    );
    assert_eq!(
        answer.contact_refusal(Some("C01234")).as_deref(),
        Some("sender jean.dupont@client-a.fr is not allowed to file for contrats@acme.fr: not a contact of client C01234")
    );
    assert_eq!(
        answer.contact_refusal(None).as_deref(),
        Some("sender jean.dupont@client-a.fr is not allowed to file for contrats@acme.fr: not on the list, and the document has no client whose contacts could be checked")
    );
    assert_eq!(allowed("x").contact_refusal(Some("C1")), None);
    assert_eq!(SenderCheck::NotMail.contact_refusal(None), None);
}

#[test]
fn plus_helpers() {
    assert_eq!(plus_tag("capture+C01234@acme.fr"), Some("C01234"));
    assert_eq!(plus_tag("capture@acme.fr"), None);
    assert_eq!(strip_plus("capture+C01234@acme.fr"), "capture@acme.fr");
}

/// Every ```toml block of the crate documentation (lib.rs) loads, so the
/// documented syntax stays true.
#[test]
fn documented_toml_blocks_load() {
    let doc: String = include_str!("../src/lib.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = 0;
    for (i, part) in doc.split("```toml\n").enumerate().skip(1) {
        let Some((block, _)) = part.split_once("```") else {
            panic!("toml block {i} is not closed");
        };
        if let Err(e) = RuleSet::from_toml(block) {
            panic!("toml block {i} of the documentation does not load: {e}\n{block}");
        }
        blocks += 1;
    }
    assert!(blocks >= 4, "{blocks} blocks");
}
