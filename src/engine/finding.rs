//! Building a [`Finding`] from a rule that matched a record: its message
//! and its fingerprint.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::check::Piece;
use crate::compile::CompiledRule;
use crate::eval::{self, Scope};
use crate::finding::{Finding, SignIn};
use crate::record::{Location, Record};

/// Builds the finding for a rule that matched a record.
pub(super) fn finding(rule: &CompiledRule, record: &Record, location: &Location) -> Finding {
    let trace = eval::explain(&rule.root, Scope::Record(&record.fields, None));
    let text = |name: &str| match record.fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Finding {
        rule_id: rule.info.id.clone(),
        title: rule.info.title.clone(),
        severity: rule.info.severity,
        message: render_message(&rule.message, record),
        location: location.clone(),
        category: record.category.name().to_string(),
        sign_in: SignIn {
            id: record_id(record).map(str::to_string),
            created_date_time: text("createdDateTime").or_else(|| text("timeGenerated")),
            user_principal_name: text("userPrincipalName"),
            ip_address: text("ipAddress"),
            app_display_name: text("appDisplayName"),
            correlation_id: text("correlationId"),
        },
        evidence: eval::evidence(trace, &rule.conds),
        fingerprint: fingerprint(&rule.info.id, record),
        episode: None,
    }
}

/// Fills a message template from a record; an absent field renders as `-`.
pub fn render_message(pieces: &[Piece], record: &Record) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            // Only multi-record findings fill these.
            Piece::Count
            | Piece::Window(_)
            | Piece::Distinct(_)
            | Piece::Step { .. }
            | Piece::Key { .. }
            | Piece::Travel(_) => out.push('-'),
            Piece::Field(field) => {
                // The values that are not empty, joined with `, `.
                let mut none = true;
                record.visit(&field.path, &mut |v| {
                    let text = match v {
                        Value::String(s) => Cow::Borrowed(s.as_str()),
                        other => Cow::Owned(other.to_string()),
                    };
                    if !text.is_empty() {
                        if !none {
                            out.push_str(", ");
                        }
                        out.push_str(&text);
                        none = false;
                    }
                    false
                });
                if none {
                    out.push('-');
                }
            }
        }
    }
    out
}

/// The fields that identify a sign-in when its record has no id.
pub const IDENTITY_FIELDS: [&str; 8] = [
    "createdDateTime",
    "userPrincipalName",
    "userId",
    "ipAddress",
    "appId",
    "appDisplayName",
    "correlationId",
    "servicePrincipalId",
];

/// The record's own identifier: a sign-in's `id`, a Graph call's
/// `requestId`.
fn record_id(record: &Record) -> Option<&str> {
    ["id", "requestId"].into_iter().find_map(|name| {
        record
            .fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
}

/// A fingerprint that depends only on the rule and the record, never on
/// where or how the record was written: the rule, the log, and the record's
/// id (a sign-in's `id`, a Graph call's `requestId`), or when the record
/// has none, its identity fields ([`IDENTITY_FIELDS`]).
pub fn fingerprint(rule_id: &str, record: &Record) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0]);
    hasher.update(record.category.name().as_bytes());
    hasher.update([0]);
    let text = |name: &str| match record.fields.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match record_id(record) {
        Some(id) => {
            hasher.update(b"id\0");
            hasher.update(id.as_bytes());
        }
        None => {
            hasher.update(b"identity\0");
            for name in IDENTITY_FIELDS {
                hasher.update(text(name).as_bytes());
                hasher.update([0]);
            }
        }
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in digest.iter().take(16) {
        for digit in [byte >> 4, byte & 0xf] {
            hex.extend(char::from_digit(u32::from(digit), 16));
        }
    }
    hex
}
