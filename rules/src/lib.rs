//! Greffier rules: recognise the type of a business document, extract its
//! keys, type them, and say which records (client, invoice, form) it must be
//! filed under. The rules live in a TOML file a clerk can read and edit.
//!
//! This crate is pure: no I/O, no async, no other workspace crate. Load a
//! file with [`RuleSet::from_toml`] (every check and every regex compile
//! happens there, with errors that name the doctype and key, the burst, or
//! the sender policy), then call [`RuleSet::evaluate`] on each document. A
//! print run holding many documents (a spool of invoices) is first cut into
//! documents with a `[[burst]]`: see [Bursting](#bursting-cutting-a-print-run-into-documents).
//! Documents that arrive by e-mail carry `mail.*` metadata that conditions
//! and keys can read, and a `[[sender_policy]]` says who may file them: see
//! [E-mailed documents](#e-mailed-documents). Scanned documents come with
//! their OCR words, which keys can read by position in millimetres, with a
//! confidence, and with OCR confusions corrected: see
//! [Keys from scans](#keys-from-scans). Evaluation never fails: whatever
//! prevents automatic filing is listed in [`Evaluation::problems`]. The rules
//! never guess: a value that is missing, unreadable or invalid is a problem,
//! not a best effort.
//!
//! # File format
//!
//! ```toml
//! # optional, default shown; informative only: a document with no type always goes to review
//! [settings]
//! review_when_no_type = true
//!
//! # Doctypes are tried in file order; the first whose conditions ALL hold wins.
//! [[doctype]]
//! name = "invoice"                        # required, unique
//! when.source = ["spool-in", "cli"]       # source name in this list (a string or a list)
//! when.format = ["text-spool", "pdf"]     # format name in this list (a string or a list)
//! when.text = '(?i)facture'               # regex that must match somewhere in the text
//! when.metadata = { form_type = "*FACT" } # each entry must equal the document's metadata value
//! # each entry is a regex that must match the document's metadata value (a missing value never
//! # matches); quote keys that hold a dot, or TOML reads a nested table
//! when.metadata_match = { "mail.subject" = '(?i)facture', "mail.attachment" = '(?i)\.pdf$' }
//!
//!   [[doctype.key]]
//!   name = "invoice_number"               # required, unique within the doctype
//!   regex = 'N° facture\s*:\s*(?P<value>[A-Z]{2}-\d{4}-\d{6})'
//!   type = "code"                         # text (default) | code | date | amount | integer
//!   required = true                       # default false
//!   validate = '^FA-\d{4}-\d{6}$'         # regex the typed value must match
//!   occurrence = "first"                  # "first" (default) | "last"
//!
//!   [[doctype.key]]
//!   name = "client_number"
//!   # page (default 1, negative counts from the end: -1 = last page),
//!   # rows [from, to] and cols [from, to]: 1-based, inclusive, in characters
//!   zone = { page = 1, rows = [2, 2], cols = [45, 80] }
//!   regex = 'Client\s*:\s*(?P<value>\S+)' # optional with a zone: searched in the zone text only
//!   type = "code"
//!   required = true
//!
//!   [[doctype.key]]
//!   name = "total"
//!   regex = 'Total TTC\s*:\s*(?P<value>[^\n]+)'
//!   type = "amount"
//!   occurrence = "last"
//!
//!   [[doctype.key]]
//!   name = "order_number"
//!   field = "mail.subject"                # read a metadata value instead of the text (not with zone)
//!   regex = 'Commande (?P<value>\d+)'     # optional: searched in that value only
//!   type = "integer"
//!
//!   [[doctype.attach]]
//!   target = "client"                     # client | invoice | form
//!   key = "client_number"                 # a key of this doctype; its typed value names the record
//!
//!   [[doctype.attach]]
//!   target = "invoice"
//!   key = "invoice_number"
//! ```
//!
//! Unknown fields are errors, at every level.
//!
//! **Conditions.** All given conditions must hold; a doctype without
//! conditions matches every document (put it last, as a catch-all).
//! `when.text` searches the whole text: all pages joined with `'\n'`.
//! `when.metadata` compares exactly; `when.metadata_match` searches each
//! regex in the metadata value (unanchored unless you write `^...$`; the
//! value as given, not trimmed). A metadata key that the document does not
//! have fails both.
//!
//! **Keys.** A key has a `regex`, a `zone`, or both; or a `field`, with or
//! without a `regex` (`field` and `zone` together are a load error); or a
//! `zone_mm` (OCR words in millimetres, with or without a `regex`: see
//! [Keys from scans](#keys-from-scans)).
//! - A regex alone searches the whole text; the value is the named group
//!   `value` if the regex has one, else group 1 if it has groups, else the
//!   whole match. Matches where that group did not take part, or is blank,
//!   are skipped. The page recorded is the page where the value starts.
//! - A zone is a rectangle of the page text grid: the page is split into
//!   lines at `'\n'` (a trailing `'\r'` is ignored), rows are lines, columns
//!   are characters (not bytes: `é` is one column, a tab is one column).
//!   Rows or columns outside the page are simply empty. Without a regex the
//!   value is the zone text with each line trimmed and lines joined by a
//!   space; an empty zone means "not found". With a regex, the regex is
//!   searched in the zone text (lines joined with `'\n'`).
//! - A field is a metadata key (`field = "mail.subject"`): the value is read
//!   from the document's metadata, not from its text. Without a regex the
//!   value is the whole metadata value, trimmed; with a regex, the regex is
//!   searched in the metadata value and the value group is chosen as for a
//!   regex alone (`value`, else group 1, else the whole match; `occurrence`
//!   applies). A missing or blank metadata value means "not found". Such a
//!   key's [`KeyValue::page`] is 0 (it is on no page) and its
//!   [`KeyValue::rule`] says where it came from, e.g.
//!   `mail/client_number: metadata mail.subject + regex`.
//! - The raw value is then fitted to `shape`, if the key has one (see
//!   [Keys from scans](#keys-from-scans)), typed (see [`values`]), then
//!   checked against `validate` (unanchored unless you write `^...$`).
//!
//! **Outcome.** Found, typed and valid keys go into [`Evaluation::keys`].
//! A value that cannot be typed, fails `validate` or does not fit its
//! `shape` is a problem (and is not kept); a `required` key that is not
//! found is a problem; a key read with a confidence below its
//! `min_confidence` is a problem (and is kept, so that review shows it). Each attach whose
//! key has a value gives a [`Target`]; otherwise it is a problem. No doctype
//! matched: the only problem is `no document type matched`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rules::{Input, RuleSet, Target, TargetKind};
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[doctype]]
//!     name = "invoice"
//!     when.text = '(?i)facture'
//!       [[doctype.key]]
//!       name = "invoice_number"
//!       regex = 'N° facture\s*:\s*(?P<value>\S+)'
//!       validate = '^FA-\d{4}-\d{6}$'
//!       required = true
//!       [[doctype.key]]
//!       name = "date"
//!       regex = 'Date\s*:\s*(\S+)'
//!       type = "date"
//!       [[doctype.attach]]
//!       target = "invoice"
//!       key = "invoice_number"
//! "#)?;
//! assert_eq!(rules.doctype_names(), ["invoice"]);
//!
//! let pages = vec!["FACTURE\nN° facture : FA-2024-000123\nDate : 15/03/2024".to_string()];
//! let metadata = BTreeMap::new();
//! let ev = rules.evaluate(&Input::new("cli", "pdf", &pages, &metadata));
//! assert_eq!(ev.doc_type.as_deref(), Some("invoice"));
//! assert_eq!(ev.keys["date"].value, "2024-03-15");
//! assert_eq!(ev.targets, [Target {
//!     kind: TargetKind::Invoice,
//!     value: "FA-2024-000123".into(),
//!     key: "invoice_number".into(),
//! }]);
//! assert!(ev.problems.is_empty());
//! # Ok::<(), rules::RulesError>(())
//! ```
//!
//! # Bursting: cutting a print run into documents
//!
//! A spool often holds a whole print run: hundreds of invoices, one after
//! the other. A `[[burst]]` says where each document begins; the run is cut
//! page by page as it streams, and each document is then evaluated on its
//! own (doctype, keys, attaches, as above).
//!
//! ```toml
//! # Bursts are tried in file order; the first whose conditions ALL hold applies to the run.
//! # No burst applies: the run is one document.
//! [[burst]]
//! name = "invoice-run"                    # required, unique among bursts
//! when.source = ["lpd-factures", "spool-in"]   # as a doctype's when.source
//! when.format = ["scs", "text-spool"]          # as a doctype's when.format
//! # as a doctype's when.metadata; quote keys that hold a dot, or TOML reads a nested table
//! when.metadata = { "splf.name" = "QPRINT", "splf.form_type" = "*FACT" }
//! when.metadata_match = { "splf.user_data" = '^FACT' }   # as a doctype's when.metadata_match
//! # when.text is not allowed: a run is cut before its whole text is known
//!
//! # a page where this regex matches (in the zone of that page, if given) begins a document
//! start = { regex = 'FACTURE', zone = { rows = [1, 1], cols = [40, 60] } }
//!
//! # a page whose value differs from the current document's value begins a document
//! change = { regex = 'N° facture\s*:\s*(?P<value>FA-\d{4}-\d{6})', zone = { rows = [3, 3], cols = [1, 40] } }
//! ```
//!
//! At least one of `start` and `change` is required; unknown fields are
//! errors here too.
//!
//! - `start = { regex = '...', zone = {...} }`: the regex is required, the
//!   zone optional. Without a zone the regex searches the whole page text.
//! - `change = { regex = '...', zone = {...} }`: a regex, a zone, or both,
//!   and the value is found as a key's (first match): a regex alone
//!   searches the whole page and takes its `value` group, else group 1,
//!   else the whole match; a zone alone takes the zone text, each line
//!   trimmed, non-empty lines joined by a space; both search the regex in
//!   the zone text. The value is trimmed; a blank value is no value.
//! - A zone here has no `page` (it is always the page at hand): `rows` and
//!   `cols` are `[from, to]`, 1-based, inclusive, in characters, exactly as
//!   in key zones.
//!
//! **Where documents begin.** The pages are taken in order:
//! - the first page always begins a document, trigger or not;
//! - a page where `start` matches begins a document;
//! - a page where `change` finds a value that differs from the current
//!   document's value begins a document. A document's value is the first
//!   value found in it (usually on its first page). A page where `change`
//!   finds nothing, or finds the same value, continues the document; so
//!   does a page with a value when the document has none yet;
//! - with both `start` and `change`, either one cuts;
//! - every other page belongs to the document before it.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rules::RuleSet;
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[burst]]
//!     name = "invoice-run"
//!     when.format = "scs"
//!     when.metadata = { "splf.form_type" = "*FACT" }
//!     change = { regex = 'N° facture\s*:\s*(?P<value>FA-\d{4}-\d{6})', zone = { rows = [2, 2], cols = [1, 40] } }
//! "#)?;
//! assert_eq!(rules.burst_names(), ["invoice-run"]);
//!
//! let metadata = BTreeMap::from([("splf.form_type".to_string(), "*FACT".to_string())]);
//! assert!(rules.burst_for("lpd", "pdf", &metadata).is_none());
//! let burst = rules.burst_for("lpd", "scs", &metadata).expect("applies");
//! let mut splitter = burst.splitter();
//! let run = [
//!     "FACTURE\nN° facture : FA-2024-000001\n...",
//!     "suite\n\nTotal TTC : 12,00",                // no value: continues FA-2024-000001
//!     "FACTURE\nN° facture : FA-2024-000002\n...",
//!     "FACTURE\nN° facture : FA-2024-000002\n...", // same value: continues
//!     "FACTURE\nN° facture : FA-2024-000003\n...",
//! ];
//! let starts: Vec<bool> = run.iter().map(|page| splitter.page(page)).collect();
//! assert_eq!(starts, [true, false, true, false, true]);
//! assert_eq!(splitter.current_value(), Some("FA-2024-000003"));
//! # Ok::<(), rules::RulesError>(())
//! ```
//!
//! # E-mailed documents
//!
//! Each attachment of a mail is a document; the mail source sets these
//! metadata keys on it (addresses lowercased, lists joined with `", "`):
//!
//! | key | value |
//! |---|---|
//! | `mail.from` | the sender address, e.g. `compta@client-a.fr` |
//! | `mail.from_name` | the sender's display name |
//! | `mail.to`, `mail.cc` | the recipient addresses |
//! | `mail.delivered_to` | `Delivered-To` / `X-Original-To` addresses |
//! | `mail.capture` | the capture address configured on the mail source (may be absent) |
//! | `mail.plus` | the plus-address tag, as written: `C01234` for `capture+C01234@acme.fr` |
//! | `mail.subject`, `mail.message_id`, `mail.date` | as in the mail |
//! | `mail.attachment` | the attachment's safe file name |
//! | `mail.attachment_original` | its decoded original name |
//!
//! **Conditions and keys.** `when.metadata_match` (on doctypes and bursts)
//! routes by sender, subject or attachment name, and `field` reads a key
//! from the mail:
//!
//! ```toml
//! [[doctype]]
//! name = "mailed-invoice"
//! when.source = "imap"
//! when.metadata_match = { "mail.subject" = '(?i)facture', "mail.from" = '@fournisseur\.fr$', "mail.attachment" = '(?i)\.pdf$' }
//!
//!   [[doctype.key]]
//!   name = "client_number"               # client from the subject: "Facture [C01234] mars"
//!   field = "mail.subject"
//!   regex = '\[(?P<value>C\d{5})\]'
//!   type = "code"
//!
//!   [[doctype.key]]
//!   name = "plus_client"                 # client from plus addressing: capture+C01234@acme.fr
//!   field = "mail.plus"
//!   type = "code"
//!
//!   [[doctype.key]]
//!   name = "invoice_number"              # "Facture F2026-00042"
//!   field = "mail.subject"
//!   regex = 'Facture (?P<value>F\d{4}-\d{5})'
//!   type = "code"
//!
//!   [[doctype.attach]]
//!   target = "client"
//!   key = "client_number"
//! ```
//!
//! **Sender policy.** A stranger must not be able to file under a client:
//! every e-mailed document is checked against a `[[sender_policy]]`.
//!
//! ```toml
//! [[sender_policy]]
//! capture = ["factures@acme.fr", "capture@acme.fr"]  # required: capture addresses (a string or a list)
//! allow = ["compta@client-a.fr", "@fournisseur.fr", "@.groupe-b.fr"]  # default: nobody
//! client_contacts = true                              # default false
//!
//! [[sender_policy]]
//! capture = "*"                                       # any mail without a more specific policy
//! allow = "@acme.fr"
//! ```
//!
//! - `capture`: the capture addresses the policy applies to, written without
//!   plus tag, compared case-insensitively; `"*"` is the policy of every mail
//!   that no other policy names. An address (or `"*"`) may appear in one
//!   policy only.
//! - `allow`: who may file. `user@domain` is that address exactly (a plus
//!   tag in the sender's address is not removed); `@domain` is any address
//!   of that domain, not of its subdomains; `@.domain` is any address of that
//!   domain and of all its subdomains (`@.fournisseur.fr` admits
//!   `x@fournisseur.fr` and `x@paris.fournisseur.fr`). Case-insensitive.
//!   There is no "anyone" entry.
//! - `client_contacts = true`: a sender not on the list may still file if
//!   it is a contact of the client the document would be filed under (its
//!   client target); the caller looks the contacts up.
//! - Unknown fields, an empty `capture`, entries that are not addresses or
//!   domains, and a plus tag in a `capture` address are load errors.
//!
//! **Which policy applies.** The document's capture address is
//! `mail.capture` if present, else any address in `mail.delivered_to`, then
//! `mail.to`, then `mail.cc`; every one is compared with its plus tag removed
//! (`capture+C01234@acme.fr` counts as `capture@acme.fr`) and
//! case-insensitively. The policy is the first (file order) whose `capture`
//! lists that address (with several candidate addresses, the first
//! candidate, in the order above, that some policy lists); else the `"*"`
//! policy; else none.
//!
//! **The check.** [`RuleSet::sender_check`] answers a [`SenderCheck`]:
//! - no `mail.from`: [`SenderCheck::NotMail`], nothing to check;
//! - no policy applies: [`SenderCheck::Refused`] (`no sender policy for
//!   capture address factures@acme.fr`). A rules file without any
//!   `[[sender_policy]]` thus refuses every e-mailed document;
//! - the sender is on the `allow` list: [`SenderCheck::Allowed`];
//! - it is not, and the policy has `client_contacts = true`:
//!   [`SenderCheck::IfClientContact`]: the caller files the document only if
//!   the sender is a contact of its client target, else refuses it with
//!   [`SenderCheck::contact_refusal`];
//! - otherwise [`SenderCheck::Refused`] (`sender x@y.fr is not allowed to
//!   file for factures@acme.fr`).
//!
//! A refused document still gets its doctype, keys and targets from
//! [`RuleSet::evaluate`], but it is not filed: it goes to review with the
//! reason as a problem.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rules::{Input, RuleSet, SenderCheck};
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[doctype]]
//!     name = "mailed-invoice"
//!     when.metadata_match = { "mail.subject" = '(?i)facture' }
//!       [[doctype.key]]
//!       name = "client_number"
//!       field = "mail.plus"
//!       type = "code"
//!       [[doctype.key]]
//!       name = "invoice_number"
//!       field = "mail.subject"
//!       regex = 'Facture (?P<value>F\d{4}-\d{5})'
//!       [[doctype.attach]]
//!       target = "client"
//!       key = "client_number"
//!
//!     [[sender_policy]]
//!     capture = "factures@acme.fr"
//!     allow = ["compta@client-a.fr", "@fournisseur.fr"]
//! "#)?;
//!
//! let mut metadata: BTreeMap<String, String> = [
//!     ("mail.from", "compta@client-a.fr"),
//!     ("mail.to", "factures+c01234@acme.fr"),
//!     ("mail.plus", "c01234"),
//!     ("mail.subject", "Facture F2026-00042"),
//! ].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
//! let pages = vec!["...".to_string()];
//! let ev = rules.evaluate(&Input { source: "imap", format: "pdf", pages: &pages, metadata: &metadata, words: None });
//! assert_eq!(ev.keys["client_number"].value, "C01234");
//! assert_eq!(ev.keys["client_number"].rule, "mailed-invoice/client_number: metadata mail.plus");
//! assert_eq!(ev.keys["invoice_number"].value, "F2026-00042");
//! assert_eq!(rules.sender_check(&metadata), SenderCheck::Allowed { policy: "factures@acme.fr".into() });
//!
//! metadata.insert("mail.from".into(), "someone@elsewhere.fr".into());
//! assert_eq!(rules.sender_check(&metadata), SenderCheck::Refused {
//!     reason: "sender someone@elsewhere.fr is not allowed to file for factures@acme.fr".into(),
//! });
//! # Ok::<(), rules::RulesError>(())
//! ```
//!
//! # Keys from scans
//!
//! A scanned document is OCR'd: besides its page texts, the caller passes
//! its words ([`Input::words`], or [`Input::with_words`]), one list per
//! page, each [`Word`] with its text, its box in millimetres from the page's
//! top-left corner and the OCR engine's confidence (0 to 100). A spool or a
//! born-digital PDF has no words.
//!
//! ```toml
//! [[doctype]]
//! name = "scanned-invoice"
//! when.format = "pdf"
//! when.text = '(?i)facture'
//!
//!   [[doctype.key]]
//!   name = "client_number"
//!   # millimetres: x from the page's left edge, y from its top edge, inclusive;
//!   # page as in zone (default 1, negative counts from the end)
//!   zone_mm = { page = 1, x = [120, 200], y = [15, 35] }
//!   # a loose regex finds the value even misread ("CLO04713", "CL 004713")...
//!   regex = 'Client\s*:\s*(?P<value>[A-Z0-9]{2}\s?[A-Z0-9]{6})'
//!   # ...and shape says what it must be: OCR confusions are corrected to fit it
//!   shape = 'CL\d{6}'
//!   type = "code"
//!   min_confidence = 80                     # 0 to 100: below, the document goes to review
//!   required = true
//!
//!   [[doctype.key]]
//!   name = "invoice_number"
//!   regex = 'N° facture\s*:\s*(?P<value>[A-Z0-9-]{14})'   # on the OCR text, as any regex key
//!   shape = 'FA-\d{4}-\d{6}'
//!   type = "code"
//!   min_confidence = 70.5
//!
//!   [[doctype.attach]]
//!   target = "client"
//!   key = "client_number"
//! ```
//!
//! **`zone_mm`.** `zone_mm = { page, x = [from, to], y = [from, to] }` takes
//! the words of that page whose box centre lies in the rectangle (edges
//! included; millimetres may be decimals, never negative). The zone text is
//! made of those words grouped into lines: sorted by vertical centre, a word
//! joins the current line when its vertical centre is within half the median
//! height of the zone's words from the line's mean centre, else it begins a
//! new line; lines go top to bottom, words left to right, joined by a space,
//! lines by `'\n'`. Without a regex the value is that text with the lines
//! joined by a space; an empty zone means "not found". With a regex, it is
//! searched in the zone text as for `zone` (value group, `occurrence`).
//! `zone_mm` is exclusive with `zone` and with `field` (load error). A
//! document without words (or without that page) finds nothing there: not
//! an error, but a `required` key is then reported as not found. The rule
//! reads e.g. `invoice/client_number: zone_mm p1 x120-200 y15-35 + regex + shape`.
//!
//! **Confidence.** [`KeyValue::confidence`] is the lowest confidence of the
//! words the value was read from:
//! - `zone_mm`: the words of the zone text that the value overlaps (every
//!   word the regex's value group touches, even partly; without a regex,
//!   all the zone's words);
//! - a regex or a (text-grid) `zone`, when the document has words: best
//!   effort, since the page text and the words are two readings. The page's
//!   words are laid out as for a `zone_mm` covering the page, with every
//!   separator a single space, and the value (its whitespace runs made single
//!   spaces) is searched there: the words overlapping its first occurrence
//!   count. If it is not there, every space-separated part of the value must
//!   be inside some word (the first such word counts); if a part is in no
//!   word, the confidence is `None`;
//! - `None` for a `field` key and for a document without words.
//!
//! A word with a negative confidence (tesseract writes -1 for what is not a
//! word) does not count. `min_confidence = 80` (0 to 100, else a load error)
//! makes a key read with a lower confidence a problem, `key client_number
//! read with confidence 62 (below 80): check it`: the document goes to
//! review, the key keeps its value. A key without confidence is never
//! refused for it.
//!
//! **`shape`.** `shape = 'CL\d{6}'` is a regex the whole raw value (trimmed)
//! must match, checked before typing (`validate` comes after typing). When
//! the value does not match as read:
//! 1. its inner whitespace is removed (OCR often splits codes: `CL 004713`);
//! 2. else characters OCR confuses are swapped: letters read for digits
//!    `O o Q D`→`0`, `I l | i`→`1`, `Z z`→`2`, `S s`→`5`, `B`→`8`, `G`→`6`,
//!    `T`→`7`, and digits read for letters `0`→`O`, `1`→`I`, `5`→`S`,
//!    `8`→`B`, `2`→`Z`, `6`→`G`, in the value as read and in the value
//!    without whitespace. Variants are tried by increasing number of swaps,
//!    at most 4096 (2^12) of them per form; the fewest swaps win, and only if
//!    exactly one variant with that many swaps fits (a number of swaps counts
//!    only if all its variants were tried within the budget).
//!
//! A corrected value is typed from the correction; [`KeyValue::raw`] keeps
//! the text as read, [`KeyValue::corrected_from`] holds it (trimmed) and the
//! rule ends with `(corrected from "CLOO4713")`. No fitting variant is a
//! problem (`key client_number: "XY004713" does not match shape CL\d{6},
//! even with OCR corrections`), and so are two equally good ones (`... could
//! be read as "00OO" or "OO00" to match shape ...: check it`): the rules
//! never guess. `shape` works on any key, with or without words.
//!
//! **A regex loose enough for OCR.** The regex that finds the value runs
//! before `shape`: `(?P<value>CL\d{6})` does not even find `CLO04713` or
//! `CL 004713`. Write it loose (letters and digits of the right length, an
//! optional space) and let `shape` say what the value must be, as above:
//! `regex = 'Client\s*:\s*(?P<value>[A-Z0-9]{2}\s?[A-Z0-9]{6})'` with
//! `shape = 'CL\d{6}'`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rules::{Input, RuleSet, Word};
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[doctype]]
//!     name = "scanned-invoice"
//!       [[doctype.key]]
//!       name = "client_number"
//!       zone_mm = { x = [120, 200], y = [15, 35] }
//!       regex = 'Client\s*:\s*(?P<value>[A-Z0-9]{2}\s?[A-Z0-9]{6})'
//!       shape = 'CL\d{6}'
//!       type = "code"
//!       min_confidence = 80
//! "#)?;
//! let word = |text: &str, x_mm: f32, confidence: f32| Word {
//!     text: text.into(), x_mm, y_mm: 20.0, width_mm: 12.0, height_mm: 4.0, confidence,
//! };
//! let words = vec![vec![
//!     word("N°", 15.0, 91.0), word("FA-2024-000501", 30.0, 88.0),
//!     word("Client", 130.0, 96.0), word(":", 143.0, 93.0), word("CLOO4713", 146.0, 62.0),
//! ]];
//! let pages = vec!["N° FA-2024-000501        Client : CLOO4713".to_string()];
//! let metadata = BTreeMap::new();
//! let ev = rules.evaluate(&Input::new("scan", "pdf", &pages, &metadata).with_words(&words));
//! let client = &ev.keys["client_number"];
//! assert_eq!(client.value, "CL004713");
//! assert_eq!(client.corrected_from.as_deref(), Some("CLOO4713"));
//! assert_eq!(client.confidence, Some(62.0));
//! assert_eq!(ev.problems, ["key client_number read with confidence 62 (below 80): check it"]);
//! # Ok::<(), rules::RulesError>(())
//! ```
//!
//! # Layout
//!
//! - [`config`]: TOML model of the rules file, as written (serde, unknown fields denied)
//! - [`compile`]: compiled [`RuleSet`]: load-time checks and regex compilation
//! - [`values`]: typed value parsing (text, code, date, amount, integer)
//! - [`eval`]: evaluation of a document: doctype choice, keys, targets, problems
//! - [`burst`]: cutting a print run into documents ([`Burst`], [`Splitter`])
//! - [`scan`]: keys from scans: OCR [`Word`]s, `zone_mm`, confidence, `shape`
//! - [`sender`]: who may file e-mailed documents ([`SenderCheck`], [`plus_tag`], [`strip_plus`])
//! - [`error`]: [`RulesError`], the load-time errors

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod burst;
pub mod compile;
pub mod config;
pub mod error;
pub mod eval;
pub mod scan;
pub mod sender;
pub mod values;

pub use burst::{Burst, Splitter};
pub use compile::RuleSet;
pub use config::{Occurrence, RulesFile, SenderPolicyConfig, Settings, ZoneMmConfig};
pub use error::RulesError;
pub use eval::{Evaluation, Input, KeyValue, Target, TargetKind, UnknownTargetKind};
pub use scan::Word;
pub use sender::{plus_tag, strip_plus, SenderCheck};
pub use values::{ValueError, ValueType};
