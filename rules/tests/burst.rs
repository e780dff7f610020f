//! `[[burst]]`: cutting a print run into documents, end to end: the TOML,
//! load-time errors, where documents begin, which burst applies, and a
//! micro-bench of the splitter.

use std::collections::BTreeMap;
use std::time::Instant;

use regex::Regex;
use rules::{Burst, RuleSet, RulesError};

fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The example of the brief, as a clerk would write it.
const RUN_RULES: &str = r#"
[[burst]]
name = "invoice-run"
# which runs this applies to
when.source = ["lpd-factures", "spool-in"]
when.format = ["scs", "text-spool"]
when.metadata = { "splf.name" = "QPRINT", "splf.form_type" = "*FACT" }
# a new document starts on a page where `start` matches...
start = { regex = 'FACTURE', zone = { rows = [1, 1], cols = [40, 60] } }
# ...or where this value differs from the current document's value
change = { regex = 'N° facture\s*:\s*(?P<value>FA-\d{4}-\d{6})', zone = { rows = [3, 3], cols = [1, 40] } }

[[doctype]]
name = "invoice"
when.text = 'FACTURE'
"#;

/// A 132-column spool page: a title at columns 40-60 of row 1 (or not), the
/// invoice number on row 3, then filler lines.
fn spool_page(title: &str, number: Option<&str>) -> String {
    let mut page = format!("{:39}{title:<21}{:>72}\n", "ACME SA", "Page 1");
    page.push_str(&format!("{:132}\n", "Client : C-0042"));
    match number {
        Some(n) => page.push_str(&format!("{:<132}\n", format!("N° facture : {n}"))),
        None => page.push_str(&format!("{:132}\n", "")),
    }
    for i in 0..57 {
        page.push_str(&format!(
            "{:>5} Article de test référence ABC-{i:03}  {:>70}\n",
            i + 1,
            "10,00 €"
        ));
    }
    page
}

/// 1-based numbers of the pages that begin a document, and each
/// document's change value once all its pages are fed.
fn split(burst: &Burst, pages: &[&str]) -> (Vec<usize>, Vec<Option<String>>) {
    let mut s = burst.splitter();
    let (mut starts, mut values) = (Vec::new(), Vec::new());
    for (i, page) in pages.iter().enumerate() {
        if s.page(page) {
            starts.push(i + 1);
            values.push(None);
        }
        *values.last_mut().expect("page 1 begins a document") =
            s.current_value().map(str::to_string);
    }
    (starts, values)
}

fn one(toml: &str) -> RuleSet {
    RuleSet::from_toml(&format!("[[burst]]\nname = \"b\"\n{toml}"))
        .unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

fn first(rs: &RuleSet) -> &Burst {
    rs.burst_for("cli", "text-spool", &BTreeMap::new())
        .expect("a burst without conditions applies to every run")
}

fn values(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn the_documented_example_parses_and_cuts() {
    let rs = RuleSet::from_toml(RUN_RULES).unwrap();
    assert_eq!(rs.burst_names(), ["invoice-run"]);
    assert_eq!(rs.doctype_names(), ["invoice"]);
    let m = meta(&[
        ("splf.name", "QPRINT"),
        ("splf.form_type", "*FACT"),
        ("splf.user", "COMPTA"),
    ]);
    let burst = rs.burst_for("lpd-factures", "scs", &m).unwrap();
    assert_eq!(burst.name(), "invoice-run");

    let p1 = spool_page("FACTURE", Some("FA-2024-000001"));
    let p2 = spool_page("   suite", None);
    let p3 = spool_page("FACTURE", Some("FA-2024-000002"));
    let p4 = spool_page("   suite", Some("FA-2024-000002"));
    let p5 = spool_page("   suite", Some("FA-2024-000003")); // change without start
    let p6 = spool_page("AVOIR", None);
    // "FACTURE" outside the zone (row 2) does not start a document
    let p7 = format!("{:132}\nFACTURE\n{:132}\n", "", "");
    let (starts, vals) = split(burst, &[&p1, &p2, &p3, &p4, &p5, &p6, &p7]);
    assert_eq!(starts, [1, 3, 5]);
    assert_eq!(
        vals,
        values(&[
            Some("FA-2024-000001"),
            Some("FA-2024-000002"),
            Some("FA-2024-000003")
        ])
    );
}

#[test]
fn conditions_on_source_format_and_metadata() {
    let rs = RuleSet::from_toml(RUN_RULES).unwrap();
    let m = meta(&[("splf.name", "QPRINT"), ("splf.form_type", "*FACT")]);
    assert!(rs.burst_for("spool-in", "text-spool", &m).is_some());
    assert!(rs.burst_for("cli", "scs", &m).is_none(), "source");
    assert!(rs.burst_for("spool-in", "pdf", &m).is_none(), "format");
    let wrong = meta(&[("splf.name", "QPRINT"), ("splf.form_type", "*STD")]);
    assert!(rs.burst_for("spool-in", "scs", &wrong).is_none(), "value");
    let missing = meta(&[("splf.name", "QPRINT")]);
    assert!(rs.burst_for("spool-in", "scs", &missing).is_none(), "key");
    // the metadata key is "splf.form_type", not a nested "splf" table
    let nested = meta(&[("splf", "QPRINT"), ("form_type", "*FACT")]);
    assert!(rs.burst_for("spool-in", "scs", &nested).is_none());

    // a single string is a list of one; no metadata condition = any metadata
    let rs = one("when.source = \"lpd\"\nstart = { regex = 'X' }\n");
    assert!(rs.burst_for("lpd", "anything", &BTreeMap::new()).is_some());
    assert!(rs.burst_for("lpd2", "anything", &m).is_none());

    // unquoted dotted keys make a nested table: the file does not load
    let e = RuleSet::from_toml(
        "[[burst]]\nname = \"b\"\nwhen.metadata = { splf.name = \"QPRINT\" }\nstart = { regex = 'X' }\n",
    )
    .unwrap_err();
    assert!(matches!(e, RulesError::Parse(_)), "{e}");
}

#[test]
fn the_first_matching_burst_wins() {
    let rs = RuleSet::from_toml(
        r#"
        [[burst]]
        name = "factures"
        when.metadata = { "splf.form_type" = "*FACT" }
        start = { regex = 'FACTURE' }

        [[burst]]
        name = "scs"
        when.format = "scs"
        start = { regex = 'AVOIR' }

        [[burst]]
        name = "catch-all"
        change = { zone = { rows = [1, 1], cols = [1, 10] } }
        "#,
    )
    .unwrap();
    assert_eq!(rs.burst_names(), ["factures", "scs", "catch-all"]);
    let fact = meta(&[("splf.form_type", "*FACT")]);
    let none = BTreeMap::new();
    let name = |format: &str, m: &BTreeMap<String, String>| {
        rs.burst_for("lpd", format, m).map(Burst::name)
    };
    assert_eq!(name("scs", &fact), Some("factures"));
    assert_eq!(name("scs", &none), Some("scs"));
    assert_eq!(name("text-spool", &none), Some("catch-all"));

    // no bursts at all: every run is one document
    let rs = RuleSet::from_toml("[[doctype]]\nname = \"d\"\n").unwrap();
    assert!(rs.burst_names().is_empty());
    assert!(rs.burst_for("lpd", "scs", &fact).is_none());
}

#[test]
fn start_only() {
    let rs = one("start = { regex = '^\\s*FACTURE' }\n");
    let b = first(&rs);
    let (starts, vals) = split(
        b,
        &[
            "  FACTURE 1",
            "suite",
            "",
            "  FACTURE 2",
            "  FACTURE 3",
            "page\n  FACTURE", // not at the start of the page: `^` is the page start
        ],
    );
    assert_eq!(starts, [1, 4, 5]);
    assert_eq!(vals, [None, None, None]);

    // with a zone: only that rectangle of the page counts
    let rs = one("start = { regex = 'FACT', zone = { rows = [2, 3], cols = [5, 8] } }\n");
    let (starts, _) = split(
        first(&rs),
        &[
            "x",
            "\n    FACT",      // row 2, cols 5-8
            "\n   FACT",       // cols 4-7: cut to "ACT"
            "\n\n    FACTURE", // row 3
            "\n\n\n    FACT",  // row 4
            "    FACT",        // row 1
        ],
    );
    assert_eq!(starts, [1, 2, 4]);
}

#[test]
fn first_page_without_trigger_still_begins_a_document() {
    let rs = one("start = { regex = 'FACTURE' }\n");
    let (starts, _) = split(first(&rs), &["bordereau d'envoi", "suite", "FACTURE"]);
    assert_eq!(starts, [1, 3]);

    let rs = one("change = { regex = 'N°\\s*(\\d+)' }\n");
    let (starts, vals) = split(first(&rs), &["page de garde", "N° 1", "N° 1", "N° 2"]);
    // the value first seen on page 2 is the first document's: no cut there
    assert_eq!(starts, [1, 4]);
    assert_eq!(vals, values(&[Some("1"), Some("2")]));

    // an empty run: nothing was fed, nothing began
    let s = first(&rs).splitter();
    assert_eq!(s.current_value(), None);
}

#[test]
fn change_only() {
    // regex alone: searched in the whole page; group 1 without a `value` group
    let rs = one("change = { regex = 'Client\\s*:\\s*(\\S+)' }\n");
    let (starts, vals) = split(
        first(&rs),
        &[
            "Client : C1\n...",
            "...\nClient : C1", // same value: continuation
            "sans client",      // no value: continuation
            "Client : C2",
            "Client :  ",  // blank: no value
            "Client : C1", // differs from C2: cuts, even if seen before
        ],
    );
    assert_eq!(starts, [1, 4, 6]);
    assert_eq!(vals, values(&[Some("C1"), Some("C2"), Some("C1")]));

    // zone alone: the zone text, lines trimmed and joined by a space
    let rs = one("change = { zone = { rows = [1, 2], cols = [1, 6] } }\n");
    let (starts, vals) = split(
        first(&rs),
        &[
            "  A1  xxx\n B ",
            "A1\nB\nother rows do not count",
            "\n\n",
            "A1\nC",
            "A1    \r\n  C   \r\n",
        ],
    );
    assert_eq!(starts, [1, 4]);
    assert_eq!(vals, values(&[Some("A1 B"), Some("A1 C")]));

    // regex in a zone; the value is trimmed, `value` group preferred
    let rs =
        one("change = { regex = '(N°)(?P<value>.*)', zone = { rows = [2, 2], cols = [1, 8] } }\n");
    let (starts, vals) = split(
        first(&rs),
        &[
            "\nN° 123  |ignored",
            "\nN° 123",
            "N° 999", // row 1: outside the zone
            "\nN° 124",
        ],
    );
    assert_eq!(starts, [1, 4]);
    assert_eq!(vals, values(&[Some("123"), Some("124")]));
}

#[test]
fn start_and_change_both_cut() {
    let rs = one(
        "start = { regex = 'FACTURE', zone = { rows = [1, 1], cols = [1, 7] } }\n\
         change = { regex = 'N°\\s*(?P<value>\\d+)' }\n",
    );
    let pages = [
        "FACTURE\nN° 1",
        "suite",           // continuation (no trigger)
        "suite\nN° 1",     // continuation (same value)
        "FACTURE\nN° 1",   // start cuts, same value or not
        "suite\nN° 2",     // change cuts
        "FACTURE",         // start cuts; the value is not known yet
        "suite\nN° 2",     // first value of this document: no cut
        "suite\nN° 3",     // change cuts
        "  FACTURE\nN° 3", // "FACTURE" outside the zone, same value: continuation
    ];
    let (starts, vals) = split(first(&rs), &pages);
    assert_eq!(starts, [1, 4, 5, 6, 8]);
    assert_eq!(
        vals,
        values(&[Some("1"), Some("1"), Some("2"), Some("2"), Some("3")])
    );

    // the value of the current document, page by page
    let mut s = first(&rs).splitter();
    let seen: Vec<(bool, Option<String>)> = pages
        .iter()
        .map(|p| (s.page(p), s.current_value().map(str::to_string)))
        .collect();
    let expected = [
        (true, Some("1")),
        (false, Some("1")),
        (false, Some("1")),
        (true, Some("1")),
        (true, Some("2")),
        (true, None),
        (false, Some("2")),
        (true, Some("3")),
        (false, Some("3")),
    ];
    assert_eq!(
        seen,
        expected.map(|(b, v)| (b, v.map(str::to_string))).to_vec()
    );
}

#[test]
fn zones_count_characters() {
    // é, €, ° are one column each; a trailing \r is not a column
    let rs = one("change = { zone = { rows = [1, 1], cols = [3, 6] } }\n");
    let (starts, vals) = split(first(&rs), &["é€ABCDxx", "..ABCD\r\n", "°°ABCE", "  ABCE"]);
    assert_eq!(starts, [1, 3]);
    assert_eq!(vals, values(&[Some("ABCD"), Some("ABCE")]));
}

#[test]
fn load_errors() {
    let err = |toml: &str| -> RulesError {
        RuleSet::from_toml(toml)
            .err()
            .unwrap_or_else(|| panic!("should not load:\n{toml}"))
    };
    let burst = |body: &str| err(&format!("[[burst]]\nname = \"run\"\n{body}"));

    let e = burst("when.format = \"scs\"\n");
    assert!(matches!(&e, RulesError::NoBurstTrigger { burst } if burst == "run"));
    assert_eq!(e.to_string(), "burst run: needs start, change, or both");

    let e = burst("when.text = 'FACTURE'\nstart = { regex = 'X' }\n");
    assert!(matches!(&e, RulesError::BurstTextCondition { burst } if burst == "run"));
    assert_eq!(
        e.to_string(),
        "burst run: when.text is not allowed in a burst (a run is cut page by page, \
         before its whole text is known): use start or change"
    );

    let e = burst("start = { regex = 'FACT(' }\n");
    assert!(
        matches!(&e, RulesError::BadBurstRegex { burst, trigger: "start", .. } if burst == "run")
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("burst run, start: regex is not a valid regex: "),
        "{msg}"
    );
    assert!(msg.contains("unclosed group"), "{msg}");
    let e = burst("start = { regex = 'X' }\nchange = { regex = '[A-Z' }\n");
    assert!(e
        .to_string()
        .starts_with("burst run, change: regex is not a valid regex: "));

    let e = burst("start = { regex = 'X', zone = { rows = [3, 2], cols = [1, 2] } }\n");
    assert!(
        matches!(&e, RulesError::BadBurstZone { burst, trigger: "start", .. } if burst == "run")
    );
    assert_eq!(
        e.to_string(),
        "burst run, start: bad zone: rows [3, 2] go backwards (from must be <= to)"
    );
    assert_eq!(
        burst("change = { zone = { rows = [1, 1], cols = [0, 2] } }\n").to_string(),
        "burst run, change: bad zone: cols start at 1, got [0, 2]"
    );
    assert_eq!(
        burst("change = { zone = { rows = [1], cols = [1, 2] } }\n").to_string(),
        "burst run, change: bad zone: rows must be [from, to] (2 numbers), got 1"
    );
    // a burst zone has no page: it is always the page at hand
    let msg = burst("change = { zone = { page = 1, rows = [1, 1], cols = [1, 2] } }\n").to_string();
    assert!(msg.contains("unknown field `page`"), "{msg}");
    assert!(burst("change = { zone = { rows = [1, 1] } }\n")
        .to_string()
        .contains("missing field `cols`"));

    let e = burst("start = { zone = { rows = [1, 1], cols = [1, 2] } }\n");
    assert!(matches!(
        &e,
        RulesError::EmptyTrigger {
            trigger: "start",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "burst run, start: needs a regex (optionally with a zone)"
    );
    assert_eq!(
        burst("change = {}\n").to_string(),
        "burst run, change: needs a regex, a zone, or both"
    );

    // unknown fields, at every level
    for (body, field) in [
        ("start = { regex = 'X' }\nstop = { regex = 'Y' }\n", "stop"),
        ("start = { regex = 'X', group = 1 }\n", "group"),
        (
            "start = { regex = 'X', zone = { rows = [1, 1], cols = [1, 2], width = 3 } }\n",
            "width",
        ),
        ("start = { regex = 'X' }\nwhen.form = \"*FACT\"\n", "form"),
    ] {
        let e = burst(body);
        assert!(matches!(e, RulesError::Parse(_)), "{e}");
        assert!(
            e.to_string().contains(&format!("unknown field `{field}`")),
            "{e}"
        );
    }
    assert!(err("[[bursts]]\nname = \"run\"\n")
        .to_string()
        .contains("unknown field `bursts`"));
    assert!(err("[[burst]]\nstart = { regex = 'X' }\n")
        .to_string()
        .contains("missing field `name`"));
    assert!(burst("start = 'FACTURE'\n")
        .to_string()
        .starts_with("cannot read rules file: "));

    assert_eq!(
        err("[[burst]]\nname = \"  \"\nstart = { regex = 'X' }\n").to_string(),
        "burst #1: name is empty"
    );
    let e = err("[[burst]]\nname = \"a\"\nstart = { regex = 'X' }\n[[burst]]\nname = \"a\"\nstart = { regex = 'Y' }\n");
    assert!(matches!(&e, RulesError::DuplicateBurst { burst } if burst == "a"));
    assert_eq!(
        e.to_string(),
        "burst a: name is used by more than one burst"
    );
    // a burst and a doctype may share a name
    RuleSet::from_toml(
        "[[doctype]]\nname = \"a\"\n[[burst]]\nname = \"a\"\nstart = { regex = 'X' }\n",
    )
    .unwrap();
    assert_eq!(
        burst("when.format = []\nstart = { regex = 'X' }\n").to_string(),
        "burst run: when.format is an empty list, the burst could never apply"
    );

    // messages: lowercase start, no trailing period
    for e in [
        burst(""),
        burst("when.text = 'x'\nstart = { regex = 'X' }\n"),
        burst("change = { zone = { rows = [2, 1], cols = [1, 1] } }\n"),
    ] {
        let msg = e.to_string();
        assert!(msg.starts_with("burst run"), "{msg}");
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

/// The rules, written the slow and obvious way: zones cut with
/// `chars().skip().take()`, values with `captures_iter`.
struct Model {
    start: Option<(Regex, Option<[usize; 4]>)>,
    change: Option<(Option<Regex>, Option<[usize; 4]>)>,
}

impl Model {
    fn cut(zone: [usize; 4], page: &str) -> Vec<String> {
        let [r1, r2, c1, c2] = zone;
        page.split('\n')
            .skip(r1 - 1)
            .take(r2 - r1 + 1)
            .map(|l| {
                let l = l.strip_suffix('\r').unwrap_or(l);
                l.chars().skip(c1 - 1).take(c2 - c1 + 1).collect()
            })
            .collect()
    }

    fn value(&self, page: &str) -> Option<String> {
        let (regex, zone) = self.change.as_ref()?;
        let text = match zone {
            Some(z) => Model::cut(*z, page),
            None => vec![page.to_string()],
        };
        match regex {
            None => {
                let parts: Vec<&str> = text
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
            Some(re) => {
                let text = text.join("\n");
                let group = re
                    .capture_names()
                    .position(|n| n == Some("value"))
                    .unwrap_or(if re.captures_len() > 1 { 1 } else { 0 });
                re.captures_iter(&text)
                    .filter_map(|c| c.get(group))
                    .map(|m| m.as_str().trim().to_string())
                    .find(|v| !v.is_empty())
            }
        }
    }

    fn starts(&self, page: &str) -> bool {
        match &self.start {
            None => false,
            Some((re, None)) => re.is_match(page),
            Some((re, Some(z))) => re.is_match(&Model::cut(*z, page).join("\n")),
        }
    }

    /// Documents as page ranges, from the whole run at once.
    fn split(&self, pages: &[String]) -> Vec<usize> {
        let mut starts = Vec::new();
        let mut current: Option<String> = None;
        for (i, page) in pages.iter().enumerate() {
            let value = self.value(page);
            let new = i == 0
                || self.starts(page)
                || matches!((&current, &value), (Some(c), Some(v)) if c != v);
            if new {
                starts.push(i + 1);
                current = value;
            } else if current.is_none() {
                current = value;
            }
        }
        starts
    }
}

#[test]
fn random_runs_cut_as_the_model_says() {
    const CHARS: &[char] = &[
        'A', 'B', 'é', ' ', ' ', '\n', '\n', '\r', '1', '2', '€', ':', '\t',
    ];
    let regexes = [
        "A",
        "^A",
        "A1",
        "(?P<value>[AB]\\d)",
        "é(\\d)?",
        "(1)(2)?",
        "[AB]+",
    ];
    let mut rng = Rng(7);
    let mut cuts = 0;
    for round in 0..400 {
        let mut zone = || -> Option<[usize; 4]> {
            (rng.below(3) > 0).then(|| {
                let (r1, c1) = (1 + rng.below(4) as usize, 1 + rng.below(6) as usize);
                [
                    r1,
                    r1 + rng.below(3) as usize,
                    c1,
                    c1 + rng.below(6) as usize,
                ]
            })
        };
        let (z1, z2) = (zone(), zone());
        let pick = |n: u64| regexes[n as usize % regexes.len()];
        let (r1, r2) = (pick(rng.next()), pick(rng.next()));
        let kind = rng.below(3);
        let zone_toml = |z: Option<[usize; 4]>| match z {
            Some([a, b, c, d]) => format!(", zone = {{ rows = [{a}, {b}], cols = [{c}, {d}] }}"),
            None => String::new(),
        };
        let mut toml = String::new();
        let mut model = Model {
            start: None,
            change: None,
        };
        if kind != 1 {
            toml.push_str(&format!("start = {{ regex = '{r1}'{} }}\n", zone_toml(z1)));
            model.start = Some((Regex::new(r1).unwrap(), z1));
        }
        if kind != 0 {
            let with_regex = z2.is_none() || rng.below(2) == 0;
            let regex_toml = if with_regex {
                format!("regex = '{r2}'")
            } else {
                String::new()
            };
            let zone = zone_toml(z2);
            let zone = if with_regex {
                zone
            } else {
                zone[2..].to_string()
            };
            toml.push_str(&format!("change = {{ {regex_toml}{zone} }}\n"));
            model.change = Some((with_regex.then(|| Regex::new(r2).unwrap()), z2));
        }
        let rs = one(&toml);
        let pages: Vec<String> = (0..1 + rng.below(12))
            .map(|_| {
                (0..rng.below(40))
                    .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize])
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = pages.iter().map(String::as_str).collect();
        let (starts, _) = split(first(&rs), &refs);
        assert_eq!(
            starts,
            model.split(&pages),
            "round {round}\n{toml}\n{pages:#?}"
        );
        cuts += starts.len() - 1;
    }
    assert!(cuts > 300, "the runs should be cut often: {cuts}");
}

/// `cargo test --release -p rules --test burst -- --ignored --nocapture`
#[test]
#[ignore = "micro-bench: prints pages/s"]
fn splitter_pages_per_second() {
    let rs = RuleSet::from_toml(RUN_RULES).unwrap();
    let m = meta(&[("splf.name", "QPRINT"), ("splf.form_type", "*FACT")]);
    let burst = rs.burst_for("spool-in", "scs", &m).unwrap();
    // 10,000 pages: an invoice of 1 to 4 pages, again and again
    let pages: Vec<String> = (0..10_000)
        .map(|i| {
            if i % 3 == 0 {
                spool_page("FACTURE", Some(&format!("FA-2024-{:06}", i / 3)))
            } else {
                spool_page("   suite", None)
            }
        })
        .collect();
    let bytes: usize = pages.iter().map(String::len).sum();
    let mut best = f64::MAX;
    let mut documents = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mut s = burst.splitter();
        documents = pages.iter().filter(|p| s.page(p)).count();
        best = best.min(t.elapsed().as_secs_f64());
    }
    assert_eq!(documents, 3334);
    println!(
        "splitter (start zone + change zone regex): {} pages, {:.1} MB, {:.0} pages/s",
        pages.len(),
        bytes as f64 / 1e6,
        pages.len() as f64 / best
    );

    // the slowest kind: regexes over whole pages
    let rs = one(
        "start = { regex = 'FACTURE' }\nchange = { regex = 'N° facture\\s*:\\s*(?P<value>FA-\\d{4}-\\d{6})' }\n",
    );
    let burst = first(&rs);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut s = burst.splitter();
        documents = pages.iter().filter(|p| s.page(p)).count();
        best = best.min(t.elapsed().as_secs_f64());
    }
    assert_eq!(documents, 3334);
    println!(
        "splitter (regexes over whole pages): {:.0} pages/s",
        pages.len() as f64 / best
    );
}
