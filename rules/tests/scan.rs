//! Keys from scans (issue 6): OCR words in millimetres, `zone_mm`,
//! confidence and `min_confidence`, `shape` with OCR corrections.

use std::collections::BTreeMap;

use rules::{Evaluation, Input, RuleSet, Word};

/// A word `text` at (`x`, `y`) mm, 4 mm high, 2 mm per character.
fn w(text: &str, x: f32, y: f32, confidence: f32) -> Word {
    Word {
        text: text.into(),
        x_mm: x,
        y_mm: y,
        width_mm: 2.0 * text.chars().count() as f32,
        height_mm: 4.0,
        confidence,
    }
}

/// The header of a French invoice, as tesseract reads it on an A4 scan,
/// words in no particular order (engines do not promise one).
fn invoice_header(invoice_number: &str, client: &[&str]) -> Vec<Word> {
    let mut words = vec![
        // top right, second line first
        w("SARL", 130.0, 26.2, 97.0),
        w("Dupont", 140.0, 25.8, 94.0),
        w("Client", 130.0, 20.4, 96.0),
        w(":", 143.0, 20.4, 93.0),
        // top left, slightly skewed: the line's words are not at the same height
        w("facture", 21.0, 20.3, 95.0),
        w("N°", 15.0, 20.0, 91.0),
        w(":", 36.0, 20.5, 90.0),
        w(invoice_number, 39.0, 20.8, 88.0),
        w("Date", 15.0, 27.0, 96.0),
        w(":", 25.0, 27.0, 92.0),
        w("15/03/2024", 28.0, 27.1, 85.0),
        // body
        w("FACTURE", 90.0, 8.0, 99.0),
        w("Total", 120.0, 200.0, 95.0),
        w("TTC", 132.0, 200.0, 95.0),
        w(":", 140.0, 200.0, 90.0),
        w("1", 150.0, 200.0, 80.0),
        w("227,00", 153.0, 200.0, 70.0),
        w("€", 167.0, 200.0, 60.0),
    ];
    let mut x = 146.0;
    for (i, part) in client.iter().enumerate() {
        words.push(w(part, x, 20.6, if i == 0 { 62.0 } else { 75.0 }));
        x += 2.0 * part.chars().count() as f32 + 1.5;
    }
    words
}

/// The page text of the same scan (the text layer, as pdftotext gives it).
fn header_text(words: &[Word]) -> String {
    let find = |t: &str| words.iter().any(|w| w.text == t);
    let client: Vec<&str> = words
        .iter()
        .filter(|w| w.x_mm >= 146.0 && w.y_mm > 20.5 && w.y_mm < 21.0)
        .map(|w| w.text.as_str())
        .collect();
    let number = words
        .iter()
        .find(|w| w.x_mm == 39.0)
        .map_or("", |w| w.text.as_str());
    assert!(find("FACTURE"));
    format!(
        "FACTURE\nN° facture : {number}          Client : {}\nDate : 15/03/2024                        SARL Dupont\n\nTotal TTC : 1 227,00 €",
        client.join(" ")
    )
}

fn evaluate(rules: &str, pages: &[String], words: Option<&[Vec<Word>]>) -> Evaluation {
    let rs = RuleSet::from_toml(rules).unwrap_or_else(|e| panic!("{e}\n{rules}"));
    let metadata = BTreeMap::new();
    let input = Input::new("scan", "pdf", pages, &metadata);
    let input = match words {
        Some(words) => input.with_words(words),
        None => input,
    };
    rs.evaluate(&input)
}

const SCAN_RULES: &str = r#"
[[doctype]]
name = "invoice"
when.text = '(?i)facture'

  [[doctype.key]]
  name = "client_block"
  zone_mm = { page = 1, x = [120, 200], y = [15, 32] }

  [[doctype.key]]
  name = "client_number"
  zone_mm = { page = 1, x = [120, 200], y = [15, 32] }
  regex = 'Client\s*:\s*(?P<value>[A-Z0-9]{2}\s?[A-Z0-9]{6})'
  type = "code"
  shape = 'CL\d{6}'
  required = true

  [[doctype.key]]
  name = "client_name"
  zone_mm = { x = [120, 200], y = [15, 32] }
  regex = 'Client.*\n(?P<value>.+)'

  [[doctype.key]]
  name = "left_block"
  zone_mm = { x = [10, 100], y = [15, 32] }
  regex = '(?s).+'

  [[doctype.key]]
  name = "invoice_number"
  regex = 'N° facture\s*:\s*(?P<value>\S+)'
  type = "code"
  shape = 'FA-\d{4}-\d{6}'
  required = true

  [[doctype.key]]
  name = "total"
  regex = 'Total TTC\s*:\s*(?P<value>[\d ,]+\d)'
  type = "amount"

  [[doctype.attach]]
  target = "client"
  key = "client_number"
"#;

#[test]
fn zone_mm_reads_words_in_lines() {
    let words = vec![invoice_header("FA-2024-000501", &["CL004713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(SCAN_RULES, &pages, Some(&words));
    assert_eq!(ev.problems, Vec::<String>::new());
    assert_eq!(ev.doc_type.as_deref(), Some("invoice"));

    // no regex: the zone text, lines joined by a space
    assert_eq!(ev.keys["client_block"].raw, "Client : CL004713 SARL Dupont");
    assert_eq!(ev.keys["client_block"].page, 1);
    assert_eq!(
        ev.keys["client_block"].rule,
        "invoice/client_block: zone_mm p1 x120-200 y15-32"
    );
    // lines top to bottom, words left to right, lines joined by '\n'
    assert_eq!(
        ev.keys["left_block"].raw,
        "N° facture : FA-2024-000501\nDate : 15/03/2024"
    );
    let client = &ev.keys["client_number"];
    assert_eq!(client.value, "CL004713");
    assert_eq!(client.corrected_from, None);
    assert_eq!(
        client.rule,
        "invoice/client_number: zone_mm p1 x120-200 y15-32 + regex + shape"
    );
    // confidence: the lowest of the value's words
    assert_eq!(client.confidence, Some(62.0));
    assert_eq!(ev.keys["client_name"].raw, "SARL Dupont");
    assert_eq!(ev.keys["client_name"].confidence, Some(94.0));
    assert_eq!(ev.keys["client_block"].confidence, Some(62.0));
    assert_eq!(ev.keys["left_block"].confidence, Some(85.0));
    // regex on the text: the words holding the value, best effort
    assert_eq!(ev.keys["invoice_number"].value, "FA-2024-000501");
    assert_eq!(ev.keys["invoice_number"].confidence, Some(88.0));
    assert_eq!(ev.keys["total"].value, "1227.00");
    assert_eq!(ev.keys["total"].confidence, Some(70.0));
    assert_eq!(ev.targets[0].value, "CL004713");
}

#[test]
fn shape_corrects_ocr_confusions() {
    let words = vec![invoice_header("FA-2O24-OOO5O1", &["CLOO4713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(SCAN_RULES, &pages, Some(&words));
    assert_eq!(ev.problems, Vec::<String>::new());
    let client = &ev.keys["client_number"];
    assert_eq!(client.value, "CL004713");
    assert_eq!(client.raw, "CLOO4713");
    assert_eq!(client.corrected_from.as_deref(), Some("CLOO4713"));
    assert_eq!(
        client.rule,
        "invoice/client_number: zone_mm p1 x120-200 y15-32 + regex + shape (corrected from \"CLOO4713\")"
    );
    let number = &ev.keys["invoice_number"];
    assert_eq!(number.value, "FA-2024-000501");
    assert_eq!(number.corrected_from.as_deref(), Some("FA-2O24-OOO5O1"));
    assert_eq!(number.confidence, Some(88.0));
    assert_eq!(ev.targets[0].value, "CL004713");

    // a code split in two words by the OCR: spaces removed, confidence of both words
    let words = vec![invoice_header("FA-2024-000501", &["CL", "004713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(SCAN_RULES, &pages, Some(&words));
    assert_eq!(ev.problems, Vec::<String>::new());
    let client = &ev.keys["client_number"];
    assert_eq!(client.value, "CL004713");
    assert_eq!(client.raw, "CL 004713");
    assert_eq!(client.corrected_from.as_deref(), Some("CL 004713"));
    assert_eq!(client.confidence, Some(62.0));

    // split and confused
    let words = vec![invoice_header("FA-2024-000501", &["CL", "OO4713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(SCAN_RULES, &pages, Some(&words));
    assert_eq!(ev.keys["client_number"].value, "CL004713");
}

#[test]
fn shape_refuses_what_it_cannot_fit() {
    // not the shape, whatever the corrections
    let words = vec![invoice_header("FA-2024-000501", &["XY004713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(SCAN_RULES, &pages, Some(&words));
    assert!(!ev.keys.contains_key("client_number"));
    assert_eq!(
        ev.problems,
        [
            r#"key client_number: "XY004713" does not match shape CL\d{6}, even with OCR corrections"#,
            "cannot attach to client: key client_number has no value",
        ]
    );

    // two readings with as few corrections: the rules never guess
    let rules = r#"
        [[doctype]]
        name = "d"
        [[doctype.key]]
        name = "code"
        regex = 'Code : (?P<value>\S+)'
        shape = '[A-Z]{2}\d{2}|\d{2}[A-Z]{2}'
    "#;
    let ev = evaluate(rules, &["Code : OOOO".to_string()], None);
    assert!(ev.keys.is_empty());
    assert_eq!(
        ev.problems,
        [
            r#"key code: "OOOO" could be read as "00OO" or "OO00" to match shape [A-Z]{2}\d{2}|\d{2}[A-Z]{2}: check it"#
        ]
    );
    // shape also works without words (a spool), and a fitting value is kept as is
    let ev = evaluate(rules, &["Code : AB12".to_string()], None);
    assert_eq!(ev.keys["code"].value, "AB12");
    assert_eq!(ev.keys["code"].confidence, None);
    assert_eq!(ev.keys["code"].corrected_from, None);
}

#[test]
fn min_confidence_sends_to_review() {
    let rules = SCAN_RULES.replace(
        "  shape = 'CL\\d{6}'\n",
        "  shape = 'CL\\d{6}'\n  min_confidence = 80.0\n",
    );
    assert_ne!(rules, SCAN_RULES);
    let words = vec![invoice_header("FA-2024-000501", &["CL004713"])];
    let pages = vec![header_text(&words[0])];
    let ev = evaluate(&rules, &pages, Some(&words));
    assert_eq!(
        ev.problems,
        ["key client_number read with confidence 62 (below 80): check it"]
    );
    // the value is kept, for the reviewer
    assert_eq!(ev.keys["client_number"].value, "CL004713");

    // read well enough: filed
    let mut words = words;
    for word in &mut words[0] {
        if word.text == "CL004713" {
            word.confidence = 80.0;
        }
    }
    let ev = evaluate(&rules, &pages, Some(&words));
    assert_eq!(ev.problems, Vec::<String>::new());

    // no words, no confidence: never refused for it
    let ev = evaluate(
        &rules.replace(
            "zone_mm = { page = 1, x = [120, 200], y = [15, 32] }\n  regex = 'Client",
            "regex = 'Client",
        ),
        &pages,
        None,
    );
    assert_eq!(ev.keys["client_number"].confidence, None);
    assert!(
        !ev.problems.iter().any(|p| p.contains("confidence")),
        "{:?}",
        ev.problems
    );
}

#[test]
fn zone_mm_pages_and_documents_without_words() {
    let rules = r#"
        [[doctype]]
        name = "d"
        [[doctype.key]]
        name = "last"
        zone_mm = { page = -1, x = [0, 50], y = [0, 50] }
        required = true
        [[doctype.key]]
        name = "second"
        zone_mm = { page = 2, x = [0, 50], y = [0, 50] }
        [[doctype.key]]
        name = "third"
        zone_mm = { page = 3, x = [0, 50], y = [0, 50] }
        [[doctype.key]]
        name = "empty"
        zone_mm = { page = 1, x = [100, 110], y = [100, 110] }
    "#;
    let words = vec![
        vec![w("one", 10.0, 10.0, 90.0)],
        vec![
            w("two", 10.0, 10.0, 80.0),
            // centre outside the zone (x = 48 + 5 = 53)
            w("cut", 48.0, 10.0, 10.0),
        ],
    ];
    let pages = vec!["one".to_string(), "two cut".to_string()];
    let ev = evaluate(rules, &pages, Some(&words));
    assert_eq!(ev.problems, Vec::<String>::new());
    assert_eq!(ev.keys["last"].value, "two");
    assert_eq!(ev.keys["last"].page, 2);
    assert_eq!(ev.keys["last"].confidence, Some(80.0));
    assert_eq!(ev.keys["second"].value, "two");
    assert!(!ev.keys.contains_key("third"));
    assert!(!ev.keys.contains_key("empty"));

    // a spool or a born-digital PDF: nothing found, no error
    let ev = evaluate(rules, &pages, None);
    assert!(ev.keys.is_empty());
    assert_eq!(ev.problems, ["required key last not found"]);
}

fn load_error(key: &str) -> String {
    let toml = format!(
        "[[doctype]]\nname = \"invoice\"\n[[doctype.key]]\nname = \"client_number\"\n{key}\n"
    );
    match RuleSet::from_toml(&toml) {
        Ok(_) => panic!("should fail:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn load_errors_name_doctype_and_key() {
    assert_eq!(
        load_error("zone_mm = { x = [1, 2], y = [1, 2] }\nzone = { rows = [1, 1], cols = [1, 2] }"),
        "doctype invoice, key client_number: zone_mm and zone are exclusive (a key reads one place)"
    );
    assert_eq!(
        load_error("zone_mm = { x = [1, 2], y = [1, 2] }\nfield = \"mail.subject\""),
        "doctype invoice, key client_number: zone_mm and field are exclusive (a key reads one place)"
    );
    let msg = load_error("regex = 'x'\nshape = 'CL\\d{6'");
    assert!(
        msg.starts_with("doctype invoice, key client_number: shape is not a valid regex: "),
        "{msg}"
    );
    assert!(msg.contains(r"CL\d{6"), "{msg}");
    assert_eq!(
        load_error("zone_mm = { x = [200, 120], y = [1, 2] }"),
        "doctype invoice, key client_number: bad zone_mm: x [200, 120] goes backwards (from must be <= to)"
    );
    assert_eq!(
        load_error("zone_mm = { x = [1, 2], y = [-1, 2] }"),
        "doctype invoice, key client_number: bad zone_mm: y must be millimetres from the page's edge (0 or more), got [-1, 2]"
    );
    assert_eq!(
        load_error("zone_mm = { x = [1, 2, 3], y = [1, 2] }"),
        "doctype invoice, key client_number: bad zone_mm: x must be [from, to] (2 numbers, millimetres), got 3"
    );
    assert_eq!(
        load_error("zone_mm = { page = 0, x = [1, 2], y = [1, 2] }"),
        "doctype invoice, key client_number: bad zone_mm: page 0 does not exist: pages start at 1 (-1 = last page)"
    );
    assert!(load_error("zone_mm = { x = [1, 2], y = [1, 2], w = 3 }").contains("unknown field `w`"));
    assert!(load_error("zone_mm = { x = [1, 2] }").contains("missing field `y`"));
    assert_eq!(
        load_error("regex = 'x'\nmin_confidence = 150"),
        "doctype invoice, key client_number: min_confidence must be between 0 and 100, got 150"
    );
    // millimetres may be decimals
    RuleSet::from_toml(
        "[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nzone_mm = { x = [12.5, 80], y = [0, 10.25] }\nmin_confidence = 75\n",
    )
    .unwrap();
}
