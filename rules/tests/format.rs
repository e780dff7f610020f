//! The rules file format, end to end: a realistic French invoice, doctype
//! selection, load-time errors and robustness.

use std::collections::BTreeMap;
use std::time::Instant;

use rules::{Evaluation, Input, KeyValue, RuleSet, RulesError, Target, TargetKind};

fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run(
    rs: &RuleSet,
    source: &str,
    format: &str,
    pages: &[&str],
    metadata: &[(&str, &str)],
) -> Evaluation {
    let pages: Vec<String> = pages.iter().map(|s| s.to_string()).collect();
    let metadata = meta(metadata);
    rs.evaluate(&Input {
        source,
        format,
        pages: &pages,
        metadata: &metadata,
        words: None,
    })
}

const INVOICE_RULES: &str = r#"
[settings]
review_when_no_type = true

[[doctype]]
name = "invoice"
when.source = ["spool-in", "cli"]
when.format = ["text-spool", "pdf"]
when.text = '(?i)facture'

  [[doctype.key]]
  name = "invoice_number"
  regex = 'N° facture\s*:\s*(?P<value>[A-Z]{2}-\d{4}-\d{6})'
  type = "code"
  required = true
  validate = '^FA-\d{4}-\d{6}$'

  [[doctype.key]]
  name = "client_number"
  zone = { page = 1, rows = [2, 2], cols = [45, 80] }
  regex = 'Client\s*:\s*(?P<value>\S+)'
  type = "code"
  required = true

  [[doctype.key]]
  name = "date"
  regex = 'Date\s*:\s*(?P<value>\d{2}/\d{2}/\d{4})'
  type = "date"
  required = true

  [[doctype.key]]
  name = "currency"
  regex = 'Devise\s*:\s*([A-Z]{3})'
  type = "code"

  [[doctype.key]]
  name = "total"
  regex = 'Total TTC\s*:\s*(?P<value>[^\n]+)'
  type = "amount"
  required = true
  occurrence = "last"

  [[doctype.key]]
  name = "quantity"
  regex = '(?m)^\s*(\d+) Crème'
  type = "integer"

  [[doctype.key]]
  name = "order_reference"
  regex = 'Commande\s*:\s*(\S+)'

  [[doctype.attach]]
  target = "client"
  key = "client_number"

  [[doctype.attach]]
  target = "invoice"
  key = "invoice_number"
"#;

const INVOICE_PAGE: &str = "\
ACME SARL                                   FACTURE / INVOICE
N° facture : FA-2024-000123                 Client : CL004711
Date : 15/03/2024   Devise : EUR (€)
Qté Désignation                    P.U.       Montant
   2 Crème brûlée (façon maison)     12,50      25,00
                            Total TTC :   1 227,00 €
";

#[test]
fn realistic_french_invoice() {
    // The zone is counted in characters: "Client" is at column 45 although
    // "N° " makes it byte 46.
    let line2 = INVOICE_PAGE.lines().nth(1).unwrap();
    assert_eq!(line2.chars().position(|c| c == 'C'), Some(44));
    assert_eq!(line2.find('C'), Some(45));

    let rs = RuleSet::from_toml(INVOICE_RULES).unwrap();
    assert_eq!(rs.doctype_names(), ["invoice"]);
    let ev = run(
        &rs,
        "spool-in",
        "text-spool",
        &[INVOICE_PAGE],
        &[("form_type", "*FACT")],
    );

    assert_eq!(ev.doc_type.as_deref(), Some("invoice"));
    assert_eq!(ev.problems, Vec::<String>::new());
    let kv = |value: &str, raw: &str, rule: &str| KeyValue {
        value: value.into(),
        raw: raw.into(),
        rule: rule.into(),
        page: 1,
        confidence: None,
        corrected_from: None,
    };
    let want: BTreeMap<String, KeyValue> = [
        (
            "invoice_number",
            kv(
                "FA-2024-000123",
                "FA-2024-000123",
                "invoice/invoice_number: regex",
            ),
        ),
        (
            "client_number",
            kv(
                "CL004711",
                "CL004711",
                "invoice/client_number: zone p1 r2-2 c45-80 + regex",
            ),
        ),
        (
            "date",
            kv("2024-03-15", "15/03/2024", "invoice/date: regex"),
        ),
        ("currency", kv("EUR", "EUR", "invoice/currency: regex")),
        (
            "total",
            kv("1227.00", "1 227,00 €", "invoice/total: regex (last)"),
        ),
        ("quantity", kv("2", "2", "invoice/quantity: regex")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(ev.keys, want);
    assert!(
        !ev.keys.contains_key("order_reference"),
        "optional key absent, no problem"
    );
    assert_eq!(
        ev.targets,
        [
            Target {
                kind: TargetKind::Client,
                value: "CL004711".into(),
                key: "client_number".into()
            },
            Target {
                kind: TargetKind::Invoice,
                value: "FA-2024-000123".into(),
                key: "invoice_number".into()
            },
        ]
    );
}

#[test]
fn realistic_invoice_with_problems() {
    let rs = RuleSet::from_toml(INVOICE_RULES).unwrap();
    // A printed invoice where the client column moved, the number is of the
    // wrong series and the amount uses a narrow no-break space.
    let page = "\
ACME SARL                                   FACTURE / INVOICE
N° facture : AV-2024-000123    Client : CL004711
Date : 15/03/2024
                            Total TTC :   1\u{202F}227,00-
";
    let ev = run(&rs, "cli", "pdf", &[page], &[]);
    assert_eq!(ev.doc_type.as_deref(), Some("invoice"));
    assert_eq!(ev.keys["total"].value, "-1227.00");
    assert_eq!(
        ev.problems,
        [
            r#"key invoice_number: "AV-2024-000123" does not match ^FA-\d{4}-\d{6}$"#,
            "required key client_number not found",
            "cannot attach to client: key client_number has no value",
            "cannot attach to invoice: key invoice_number has no value",
        ]
    );
    assert!(ev.targets.is_empty());
}

#[test]
fn invoice_rules_do_not_apply_elsewhere() {
    let rs = RuleSet::from_toml(INVOICE_RULES).unwrap();
    for (source, format, page) in [
        ("mail", "pdf", INVOICE_PAGE),        // wrong source
        ("cli", "image", INVOICE_PAGE),       // wrong format
        ("cli", "pdf", "BON DE LIVRAISON\n"), // no "facture"
    ] {
        let ev = run(&rs, source, format, &[page], &[]);
        assert_eq!(ev.doc_type, None, "{source} {format}");
        assert_eq!(ev.problems, ["no document type matched"]);
        assert!(ev.keys.is_empty() && ev.targets.is_empty());
    }
}

const SELECTION_RULES: &str = r#"
[[doctype]]
name = "credit_note"
when.format = "text-spool"
when.metadata = { form_type = "*AVOIR", outq = "FACT" }

[[doctype]]
name = "spool_invoice"
when.source = "spool-in"
when.metadata = { form_type = "*FACT" }

[[doctype]]
name = "pdf_invoice"
when.format = ["pdf"]
when.text = '(?i)\bfacture\b'

[[doctype]]
name = "any_facture"
  [doctype.when]
  text = 'FACTURE'

[[doctype]]
name = "other"
"#;

#[test]
fn doctype_selection() {
    let rs = RuleSet::from_toml(SELECTION_RULES).unwrap();
    assert_eq!(
        rs.doctype_names(),
        [
            "credit_note",
            "spool_invoice",
            "pdf_invoice",
            "any_facture",
            "other"
        ]
    );
    let ty = |source, format, text, metadata: &[(&str, &str)]| {
        run(&rs, source, format, &[text], metadata).doc_type
    };
    let both = [("form_type", "*AVOIR"), ("outq", "FACT")];
    // all metadata entries must equal, and the format must be in the list
    assert_eq!(
        ty("spool-in", "text-spool", "", &both).as_deref(),
        Some("credit_note")
    );
    assert_eq!(
        ty("spool-in", "text-spool", "", &[("form_type", "*AVOIR")]).as_deref(),
        Some("other"),
        "missing metadata entry"
    );
    assert_eq!(
        ty(
            "spool-in",
            "text-spool",
            "",
            &[("form_type", "*avoir"), ("outq", "FACT")]
        )
        .as_deref(),
        Some("other"),
        "metadata is compared exactly"
    );
    assert_eq!(ty("spool-in", "pdf", "", &both).as_deref(), Some("other"));
    // first match wins: credit_note's conditions would not hold, spool_invoice's do
    assert_eq!(
        ty(
            "spool-in",
            "text-spool",
            "facture",
            &[("form_type", "*FACT")]
        )
        .as_deref(),
        Some("spool_invoice")
    );
    assert_eq!(
        ty("cli", "text-spool", "", &[("form_type", "*FACT")]).as_deref(),
        Some("other")
    );
    // format + text regex
    assert_eq!(
        ty("cli", "pdf", "Votre Facture n° 12", &[]).as_deref(),
        Some("pdf_invoice")
    );
    assert_eq!(ty("cli", "pdf", "facturer", &[]).as_deref(), Some("other"));
    // text only, case-sensitive here
    assert_eq!(
        ty("cli", "text-spool", "FACTURE", &[]).as_deref(),
        Some("any_facture")
    );
    assert_eq!(
        ty("cli", "text-spool", "facture", &[]).as_deref(),
        Some("other")
    );
}

#[test]
fn file_order_decides() {
    let a = "[[doctype]]\nname = \"a\"\nwhen.text = 'x'\n";
    let b = "[[doctype]]\nname = \"b\"\nwhen.source = \"cli\"\n";
    let ab = RuleSet::from_toml(&format!("{a}{b}")).unwrap();
    let ba = RuleSet::from_toml(&format!("{b}{a}")).unwrap();
    assert_eq!(
        run(&ab, "cli", "pdf", &["x"], &[]).doc_type.as_deref(),
        Some("a")
    );
    assert_eq!(
        run(&ba, "cli", "pdf", &["x"], &[]).doc_type.as_deref(),
        Some("b")
    );
}

#[test]
fn text_condition_sees_all_pages() {
    let rs = RuleSet::from_toml("[[doctype]]\nname = \"a\"\nwhen.text = 'fin\\ndébut'\n").unwrap();
    assert_eq!(
        run(&rs, "cli", "pdf", &["page un fin", "début page deux"], &[])
            .doc_type
            .as_deref(),
        Some("a")
    );
    assert_eq!(run(&rs, "cli", "pdf", &["page un fin"], &[]).doc_type, None);
}

#[test]
fn load_errors() {
    let err = |toml: &str| -> RulesError { RuleSet::from_toml(toml).expect_err("should not load") };

    let e = err(r#"
        [[doctype]]
        name = "invoice"
        [[doctype.key]]
        name = "invoice_number"
        regex = '(?P<value>[0-9]+'
    "#);
    assert!(
        matches!(&e, RulesError::BadKeyRegex { doctype, key, field: "regex", .. }
        if doctype == "invoice" && key == "invoice_number")
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("doctype invoice, key invoice_number: regex is not a valid regex:"),
        "{msg}"
    );
    assert!(msg.contains("unclosed group"), "{msg}");

    let e = err("[[doctype]]\nname = \"invoice\"\ncolour = \"red\"\n");
    assert!(matches!(e, RulesError::Parse(_)));
    let msg = e.to_string();
    assert!(msg.starts_with("cannot read rules file: "), "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");

    let e = err(
        "[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\nrequierd = true\n",
    );
    assert!(e.to_string().contains("unknown field `requierd`"), "{e}");
    let e = err("[[doctype]]\nname = \"a\"\n[[doctype.attach]]\ntarget = \"client\"\nkey = \"k\"\nwhy = 1\n");
    assert!(e.to_string().contains("unknown field `why`"), "{e}");
    let e = err("[[doctypes]]\nname = \"a\"\n");
    assert!(e.to_string().contains("unknown field `doctypes`"), "{e}");

    let e = err("[[doctype]]\nname = \"invoice\"\n[[doctype]]\nname = \"invoice\"\n");
    assert_eq!(
        e.to_string(),
        "doctype invoice: name is used by more than one doctype"
    );

    let e = err(r#"
        [[doctype]]
        name = "invoice"
        [[doctype.key]]
        name = "n"
        regex = 'a'
        [[doctype.key]]
        name = "n"
        zone = { rows = [1, 1], cols = [1, 1] }
    "#);
    assert_eq!(
        e.to_string(),
        "doctype invoice, key n: name is used by more than one key of this doctype"
    );

    // a key of another doctype does not count
    let e = err(r#"
        [[doctype]]
        name = "invoice"
        [[doctype.key]]
        name = "n"
        regex = 'a'
        [[doctype]]
        name = "form"
        [[doctype.attach]]
        target = "form"
        key = "n"
    "#);
    assert!(
        matches!(&e, RulesError::UnknownAttachKey { doctype, target: "form", key } if doctype == "form" && key == "n")
    );
    assert_eq!(
        e.to_string(),
        "doctype form: attach to form uses key n, which is not defined in this doctype"
    );

    // messages: lowercase start, no trailing period
    for e in [
        err("[[doctype]]\nname = \"a\"\nwhen.text = '['\n"),
        err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nzone = { rows = [2, 1], cols = [1, 1] }\n"),
    ] {
        let msg = e.to_string();
        assert!(msg.starts_with("doctype a"), "{msg}");
        assert!(!msg.trim_end().ends_with('.'), "{msg}");
    }
}

/// xorshift64*, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn fuzz_evaluate_never_panics() {
    const CHARS: &[char] = &[
        'a', 'é', ' ', '\n', '\r', '1', ',', '€', '\u{202F}', 'N', '°', ':', '-', '/', '\t',
    ];
    let mut rng = Rng(42);
    for _ in 0..300 {
        let mut toml = String::from("[[doctype]]\nname = \"d\"\n");
        for k in 0..4 {
            let ty = ["text", "code", "date", "amount", "integer"][rng.below(5) as usize];
            let occ = ["first", "last"][rng.below(2) as usize];
            let page = [1i64, 2, 3, -1, -2, -5, 9][rng.below(7) as usize];
            let (r1, c1) = (1 + rng.below(8), 1 + rng.below(30));
            let (r2, c2) = (r1 + rng.below(4), c1 + rng.below(30));
            let extractor = match rng.below(3) {
                0 => "regex = '(?P<value>[^\\n]{1,12})'".to_string(),
                1 => format!("zone = {{ page = {page}, rows = [{r1}, {r2}], cols = [{c1}, {c2}] }}"),
                _ => format!("zone = {{ page = {page}, rows = [{r1}, {r2}], cols = [{c1}, {c2}] }}\nregex = '\\S+'"),
            };
            toml.push_str(&format!(
                "[[doctype.key]]\nname = \"k{k}\"\ntype = \"{ty}\"\noccurrence = \"{occ}\"\nrequired = true\n{extractor}\n"
            ));
        }
        toml.push_str("[[doctype.attach]]\ntarget = \"form\"\nkey = \"k0\"\n");
        let rs = RuleSet::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        let pages: Vec<String> = (0..rng.below(4))
            .map(|_| {
                (0..rng.below(200))
                    .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize])
                    .collect()
            })
            .collect();
        let metadata = BTreeMap::new();
        let ev = rs.evaluate(&Input {
            source: "cli",
            format: "pdf",
            pages: &pages,
            metadata: &metadata,
            words: None,
        });
        assert_eq!(ev.doc_type.as_deref(), Some("d"));
        // every key either has a value or is reported (all keys are required)
        for k in 0..4 {
            let name = format!("k{k}");
            let reported = ev
                .problems
                .iter()
                .any(|p| p.contains(&format!("key {name}")));
            assert!(ev.keys.contains_key(&name) != reported, "{name}: {ev:?}");
            if let Some(kv) = ev.keys.get(&name) {
                assert!(kv.page >= 1 && kv.page <= pages.len(), "{kv:?}");
            }
        }
        assert_eq!(ev.targets.is_empty(), !ev.keys.contains_key("k0"));
    }
}

#[test]
fn hundred_pages_is_fast() {
    let rs = RuleSet::from_toml(INVOICE_RULES).unwrap();
    let filler = "   1 Article de test (référence ABC-123)      10,00      10,00\n".repeat(60);
    let mut pages: Vec<String> = (0..100).map(|i| format!("Page {i}\n{filler}")).collect();
    pages[0] = INVOICE_PAGE.to_string();
    pages[99] = format!("{filler}                            Total TTC :   9 999,99 €\n");
    let metadata = BTreeMap::new();
    let input = Input {
        source: "cli",
        format: "pdf",
        pages: &pages,
        metadata: &metadata,
        words: None,
    };

    let ev = rs.evaluate(&input);
    assert_eq!(ev.problems, Vec::<String>::new());
    assert_eq!(ev.keys["total"].value, "9999.99");
    assert_eq!(ev.keys["total"].page, 100);

    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(rs.evaluate(&input));
    }
    let per_eval = start.elapsed() / runs;
    let keys = 7;
    eprintln!(
        "100 pages ({} KiB): {per_eval:?} per evaluation, {:?} per key",
        pages.iter().map(String::len).sum::<usize>() / 1024,
        per_eval / keys
    );
    // generous bound for unoptimised test builds on a busy machine
    assert!(
        per_eval / keys < std::time::Duration::from_millis(5),
        "{per_eval:?}"
    );
}
