//! Sender policy: who may file documents that arrive by e-mail.
//!
//! A `[[sender_policy]]` names capture addresses and the senders allowed to
//! file through them; [`RuleSet::sender_check`] says, from a document's
//! `mail.*` metadata, whether its sender may file it. The check is pure: when
//! a policy also allows the contacts of the client, the answer is
//! [`SenderCheck::IfClientContact`] and the caller looks the contacts up.
//! See the crate documentation for the rules.

use std::collections::BTreeMap;

use crate::compile::RuleSet;
use crate::config::{SenderPolicyConfig, StringList};
use crate::error::RulesError;

/// Metadata key of the sender address.
pub const MAIL_FROM: &str = "mail.from";
/// Metadata key of the capture address configured on the mail source.
pub const MAIL_CAPTURE: &str = "mail.capture";
/// Metadata keys searched, in this order, for a capture address when
/// [`MAIL_CAPTURE`] is absent.
pub const MAIL_RECIPIENTS: [&str; 3] = ["mail.delivered_to", "mail.to", "mail.cc"];

/// Whether the sender of an e-mailed document may file it. See
/// [`RuleSet::sender_check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderCheck {
    /// No `mail.from`: not an e-mailed document, nothing to check.
    NotMail,
    /// The sender is on the allow list of the policy.
    Allowed {
        /// The policy's label: its first capture address (or `*`).
        policy: String,
    },
    /// The sender is not on the allow list, but the policy allows the
    /// contacts of the client the document would be filed under: the caller
    /// checks that `sender` is one of them (else the document is refused,
    /// see [`SenderCheck::contact_refusal`]).
    IfClientContact {
        /// The policy's label: its first capture address (or `*`).
        policy: String,
        /// The sender address, lowercased.
        sender: String,
    },
    /// The sender may not file: the document is not filed, it goes to review
    /// with `reason` as a problem.
    Refused {
        /// Lowercase sentence naming the sender and the capture address.
        reason: String,
    },
}

impl SenderCheck {
    /// For [`SenderCheck::IfClientContact`], the reason to refuse the
    /// document when the sender is not a contact of `client` (the value of
    /// the document's client target; `None` if it has none); `None` for
    /// the other answers.
    pub fn contact_refusal(&self, client: Option<&str>) -> Option<String> {
        let SenderCheck::IfClientContact { policy, sender } = self else {
            return None;
        };
        Some(match client {
            Some(client) => format!(
                "sender {sender} is not allowed to file for {policy}: not a contact of client {client}"
            ),
            None => format!(
                "sender {sender} is not allowed to file for {policy}: not on the list, and the document has no client whose contacts could be checked"
            ),
        })
    }
}

/// The plus-address tag of `address`: `C01234` for `capture+C01234@acme.fr`
/// (as written). `None` without `@`, without `+` in the local part, or with
/// an empty tag.
pub fn plus_tag(address: &str) -> Option<&str> {
    let (local, _) = address.rsplit_once('@')?;
    let (_, tag) = local.split_once('+')?;
    (!tag.is_empty()).then_some(tag)
}

/// `address` without its plus tag: `capture+C01234@acme.fr` gives
/// `capture@acme.fr`. Case is kept; an address without tag is returned as is.
pub fn strip_plus(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) => format!("{base}@{domain}"),
            None => address.to_string(),
        },
        None => address.to_string(),
    }
}

/// A checked `[[sender_policy]]`.
#[derive(Debug, Clone)]
pub(crate) struct SenderPolicy {
    /// First capture address (or `*`).
    label: String,
    /// Lowercased capture addresses without plus tag, or `*`.
    captures: Vec<String>,
    allow: Vec<Allow>,
    client_contacts: bool,
}

/// One `allow` entry, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allow {
    /// `user@domain`: that address exactly.
    Address(String),
    /// `@domain`: any address of that domain, not of its subdomains.
    Domain(String),
    /// `@.domain`: any address of that domain or of its subdomains.
    DomainTree(String),
}

impl Allow {
    fn admits(&self, sender: &str) -> bool {
        let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
        match self {
            Allow::Address(a) => a == sender,
            Allow::Domain(d) => d == domain,
            Allow::DomainTree(d) => {
                domain == d
                    || domain
                        .strip_suffix(d.as_str())
                        .is_some_and(|head| head.ends_with('.') && head.len() > 1)
            }
        }
    }
}

/// Why `domain` (after `@` or `@.`) is not a domain, if it is not.
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("has no domain after @");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err("has a malformed domain (empty label between dots)");
    }
    if domain.contains('@') {
        return Err("has more than one @");
    }
    Ok(())
}

/// Why `entry` (trimmed) is not `user@domain`, if it is not.
fn check_address(entry: &str) -> Result<(), &'static str> {
    if entry
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"'))
    {
        return Err("is not a bare address (no spaces, commas, quotes or <>)");
    }
    let Some((local, domain)) = entry.split_once('@') else {
        return Err("is not an address (user@domain)");
    };
    if local.is_empty() {
        return Err("has nothing before @");
    }
    check_domain(domain)
}

fn parse_allow(entry: &str) -> Result<Allow, &'static str> {
    if entry
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"'))
    {
        return Err("is not a bare address or domain (no spaces, commas, quotes or <>)");
    }
    if let Some(tree) = entry.strip_prefix("@.") {
        check_domain(tree)?;
        return Ok(Allow::DomainTree(tree.to_string()));
    }
    if let Some(domain) = entry.strip_prefix('@') {
        check_domain(domain)?;
        return Ok(Allow::Domain(domain.to_string()));
    }
    if !entry.contains('@') {
        return Err("is neither an address (user@domain) nor a domain (@domain, @.domain)");
    }
    check_address(entry)?;
    Ok(Allow::Address(entry.to_string()))
}

/// Check the `[[sender_policy]]` tables (file order kept).
pub(crate) fn compile_policies(
    policies: Vec<SenderPolicyConfig>,
) -> Result<Vec<SenderPolicy>, RulesError> {
    // capture address -> 1-based index of the policy that has it
    let mut owners: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(policies.len());
    for (i, p) in policies.into_iter().enumerate() {
        let index = i + 1;
        let StringList(captures) = p.capture;
        let Some(first) = captures.first() else {
            return Err(RulesError::EmptyPolicyCapture { index });
        };
        let label = first.trim().to_lowercase();
        let bad =
            |field: &'static str, entry: &str, reason: &'static str| RulesError::BadPolicyAddress {
                index,
                policy: label.clone(),
                field,
                entry: entry.to_string(),
                reason,
            };

        let mut checked: Vec<String> = Vec::with_capacity(captures.len());
        for entry in &captures {
            let capture = entry.trim().to_lowercase();
            if capture != "*" {
                check_address(&capture).map_err(|reason| bad("capture", entry, reason))?;
                if capture
                    .split_once('@')
                    .is_some_and(|(l, _)| l.contains('+'))
                {
                    return Err(bad(
                        "capture",
                        entry,
                        "has a plus tag: write the capture address without it (tags are removed before comparing)",
                    ));
                }
            }
            if checked.contains(&capture) {
                continue;
            }
            if let Some(&first) = owners.get(&capture) {
                return Err(RulesError::DuplicatePolicyCapture {
                    index,
                    policy: label,
                    capture,
                    first,
                });
            }
            owners.insert(capture.clone(), index);
            checked.push(capture);
        }

        let StringList(allow) = p.allow;
        let allow = allow
            .iter()
            .map(|entry| {
                parse_allow(&entry.trim().to_lowercase())
                    .map_err(|reason| bad("allow", entry, reason))
            })
            .collect::<Result<Vec<Allow>, RulesError>>()?;

        out.push(SenderPolicy {
            label,
            captures: checked,
            allow,
            client_contacts: p.client_contacts,
        });
    }
    Ok(out)
}

/// An address from metadata, as compared: trimmed, `<...>` unwrapped,
/// lowercased.
fn clean(address: &str) -> String {
    let a = address.trim();
    let a = match (a.rfind('<'), a.rfind('>')) {
        (Some(open), Some(close)) if open < close => a[open + 1..close].trim(),
        _ => a,
    };
    a.to_lowercase()
}

/// The document's capture addresses, compared without plus tag: `mail.capture`
/// if present, else every address of `mail.delivered_to`, `mail.to`,
/// `mail.cc` (in this order, without repeats).
fn capture_candidates(metadata: &BTreeMap<String, String>) -> Vec<String> {
    let capture = metadata
        .get(MAIL_CAPTURE)
        .map(|c| strip_plus(&clean(c)))
        .filter(|c| !c.is_empty());
    if let Some(capture) = capture {
        return vec![capture];
    }
    let mut out: Vec<String> = Vec::new();
    for key in MAIL_RECIPIENTS {
        let Some(list) = metadata.get(key) else {
            continue;
        };
        for address in list.split([',', ';']) {
            let address = strip_plus(&clean(address));
            if !address.is_empty() && !out.contains(&address) {
                out.push(address);
            }
        }
    }
    out
}

impl RuleSet {
    /// May the sender of this document file it? `metadata` is the
    /// document's metadata (the `mail.*` keys of an e-mailed document).
    ///
    /// - no `mail.from`: [`SenderCheck::NotMail`];
    /// - the policy is the first `[[sender_policy]]` (file order) naming the
    ///   capture address: `mail.capture` if present, else the first address
    ///   of `mail.delivered_to`, then `mail.to`, then `mail.cc` that a policy
    ///   names; compared without plus tag and case-insensitively. No policy
    ///   names it: the `"*"` policy, if any; else [`SenderCheck::Refused`];
    /// - the sender (`mail.from`, case-insensitive) is on the policy's
    ///   `allow` list: [`SenderCheck::Allowed`]; else, if the policy has
    ///   `client_contacts = true`: [`SenderCheck::IfClientContact`]; else
    ///   [`SenderCheck::Refused`].
    pub fn sender_check(&self, metadata: &BTreeMap<String, String>) -> SenderCheck {
        let Some(from) = metadata.get(MAIL_FROM) else {
            return SenderCheck::NotMail;
        };
        let sender = clean(from);
        let candidates = capture_candidates(metadata);

        let specific = candidates.iter().find_map(|c| {
            self.sender_policies
                .iter()
                .find(|p| p.captures.contains(c))
                .map(|p| (p, Some(c.as_str())))
        });
        let chosen = specific.or_else(|| {
            self.sender_policies
                .iter()
                .find(|p| p.captures.iter().any(|c| c == "*"))
                .map(|p| (p, candidates.first().map(String::as_str)))
        });
        let Some((policy, capture)) = chosen else {
            let reason = match candidates.as_slice() {
                [] => "no sender policy: the mail names no capture address (mail.capture, mail.delivered_to, mail.to and mail.cc are empty)".to_string(),
                [one] => format!("no sender policy for capture address {one}"),
                many => format!("no sender policy for capture addresses {}", many.join(", ")),
            };
            return SenderCheck::Refused { reason };
        };
        let capture = capture.unwrap_or(policy.label.as_str());

        if sender.is_empty() {
            return SenderCheck::Refused {
                reason: format!("mail without sender address is not allowed to file for {capture}"),
            };
        }
        if policy.allow.iter().any(|a| a.admits(&sender)) {
            return SenderCheck::Allowed {
                policy: policy.label.clone(),
            };
        }
        if policy.client_contacts {
            return SenderCheck::IfClientContact {
                policy: policy.label.clone(),
                sender,
            };
        }
        SenderCheck::Refused {
            reason: format!("sender {sender} is not allowed to file for {capture}"),
        }
    }

    /// Labels (first capture address, or `*`) of the `[[sender_policy]]`
    /// tables, in file order.
    pub fn sender_policy_labels(&self) -> Vec<&str> {
        self.sender_policies
            .iter()
            .map(|p| p.label.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_tags() {
        assert_eq!(plus_tag("capture+C01234@acme.fr"), Some("C01234"));
        assert_eq!(plus_tag("capture+a+b@acme.fr"), Some("a+b"));
        assert_eq!(plus_tag("capture@acme.fr"), None);
        assert_eq!(plus_tag("capture+@acme.fr"), None);
        assert_eq!(plus_tag("no-at+x"), None);
        assert_eq!(strip_plus("Capture+C01234@Acme.fr"), "Capture@Acme.fr");
        assert_eq!(strip_plus("capture@acme.fr"), "capture@acme.fr");
        assert_eq!(strip_plus("a+b"), "a+b");
    }

    #[test]
    fn allow_entries() {
        let a = |e| parse_allow(e).unwrap();
        assert_eq!(a("x@y.fr"), Allow::Address("x@y.fr".into()));
        assert_eq!(a("@y.fr"), Allow::Domain("y.fr".into()));
        assert_eq!(a("@.y.fr"), Allow::DomainTree("y.fr".into()));
        assert!(a("@y.fr").admits("x@y.fr"));
        assert!(!a("@y.fr").admits("x@sub.y.fr"));
        assert!(!a("@y.fr").admits("x@my.fr"));
        assert!(a("@.y.fr").admits("x@y.fr"));
        assert!(a("@.y.fr").admits("x@a.b.y.fr"));
        assert!(!a("@.y.fr").admits("x@evily.fr"));
        assert!(!a("@.y.fr").admits("x@.y.fr"));
        assert!(!a("x@y.fr").admits("xx@y.fr"));
        assert!(!a("@y.fr").admits("y.fr"));
        for bad in [
            "", "@", "@.", "x", "x@", "@y..fr", "@.y.fr.", "a b@y.fr", "<x@y.fr>", "x@y@z", "*",
        ] {
            assert!(parse_allow(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clean_addresses() {
        assert_eq!(clean("  Compta@Client-A.fr "), "compta@client-a.fr");
        assert_eq!(clean("Compta <Compta@Client-A.fr>"), "compta@client-a.fr");
        assert_eq!(clean(""), "");
    }
}
