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
//! [E-mailed documents](#e-mailed-documents). Evaluation never fails: whatever
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
//! without a `regex` (`field` and `zone` together are a load error).
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
//! - The raw value is then typed (see [`values`]), then checked against
//!   `validate` (unanchored unless you write `^...$`).
//!
//! **Outcome.** Found, typed and valid keys go into [`Evaluation::keys`].
//! A value that cannot be typed or fails `validate` is a problem (and is not
//! kept); a `required` key that is not found is a problem. Each attach whose
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
//! let ev = rules.evaluate(&Input { source: "cli", format: "pdf", pages: &pages, metadata: &metadata });
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
//! let ev = rules.evaluate(&Input { source: "imap", format: "pdf", pages: &pages, metadata: &metadata });
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
//! # Layout
//!
//! - [`config`]: TOML model of the rules file, as written (serde, unknown fields denied)
//! - [`compile`]: compiled [`RuleSet`]: load-time checks and regex compilation
//! - [`values`]: typed value parsing (text, code, date, amount, integer)
//! - [`eval`]: evaluation of a document: doctype choice, keys, targets, problems
//! - [`burst`]: cutting a print run into documents ([`Burst`], [`Splitter`])
//! - [`sender`]: who may file e-mailed documents ([`SenderCheck`], [`plus_tag`], [`strip_plus`])
//! - [`error`]: [`RulesError`], the load-time errors

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod burst;
pub mod compile;
pub mod config;
pub mod error;
pub mod eval;
pub mod sender;
pub mod values;

pub use burst::{Burst, Splitter};
pub use compile::RuleSet;
pub use config::{Occurrence, RulesFile, SenderPolicyConfig, Settings};
pub use error::RulesError;
pub use eval::{Evaluation, Input, KeyValue, Target, TargetKind, UnknownTargetKind};
pub use sender::{plus_tag, strip_plus, SenderCheck};
pub use values::{ValueError, ValueType};
