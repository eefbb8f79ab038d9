//! The Entra admin center CSV dialect: takes the cells of a sign-in log
//! download, whose headers are display names (`Date (UTC)`, `Request ID`,
//! ...), and gives them under Graph names (`createdDateTime`, `id`, ...),
//! converted as the normalizer expects (`Yes` as true, `Not Applied` as
//! `notApplied`, `Lyon, ARA, FR` as a location). Columns whose meaning is
//! not certain are given back as they came.

use serde_json::{Map, Value};

use super::{Column, Row};
use crate::catalog::{self, Field, SIGN_IN};

/// How a cell of an admin center column becomes a Graph value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conv {
    /// Text; an enum field's display value (`Not Applied`) becomes its Graph
    /// name (`notApplied`) when it matches one ignoring case, spaces and
    /// dashes.
    Text,
    /// `Yes` / `No` as well as what the normalizer reads as a boolean.
    Bool,
    /// `City, State, CC`: split into `location.city`, `.state` and
    /// `.countryOrRegion`.
    Location,
}

/// Admin center columns with a known Graph field: the column names of the
/// Entra admin center's sign-in log download (Monitoring & health > Sign-in
/// logs > Download), matched after trimming, ignoring case and runs of
/// spaces. Only columns whose meaning is certain are here; `Status`
/// (Success, Failure, Interrupted) has no Graph field of its own and is kept
/// as it is, with `Success` giving `status.errorCode` 0 when the row has no
/// error code.
const ADMIN_CENTER_COLUMNS: &[(&str, &str, Conv)] = &[
    ("Date (UTC)", "createdDateTime", Conv::Text),
    ("Request ID", "id", Conv::Text),
    ("User agent", "userAgent", Conv::Text),
    ("Correlation ID", "correlationId", Conv::Text),
    ("User ID", "userId", Conv::Text),
    ("User", "userDisplayName", Conv::Text),
    ("Username", "userPrincipalName", Conv::Text),
    ("User type", "userType", Conv::Text),
    (
        "Cross tenant access type",
        "crossTenantAccessType",
        Conv::Text,
    ),
    ("Incoming token type", "incomingTokenType", Conv::Text),
    (
        "Authentication Protocol",
        "authenticationProtocol",
        Conv::Text,
    ),
    (
        "Unique token identifier",
        "uniqueTokenIdentifier",
        Conv::Text,
    ),
    ("Client credential type", "clientCredentialType", Conv::Text),
    ("Application", "appDisplayName", Conv::Text),
    ("Application ID", "appId", Conv::Text),
    ("Home tenant ID", "homeTenantId", Conv::Text),
    ("Home tenant name", "homeTenantName", Conv::Text),
    ("Resource", "resourceDisplayName", Conv::Text),
    ("Resource ID", "resourceId", Conv::Text),
    ("Resource tenant ID", "resourceTenantId", Conv::Text),
    ("IP address", "ipAddress", Conv::Text),
    (
        "IP address (seen by resource)",
        "ipAddressFromResourceProvider",
        Conv::Text,
    ),
    ("Location", "location", Conv::Location),
    ("Sign-in error code", "status.errorCode", Conv::Text),
    ("Failure reason", "status.failureReason", Conv::Text),
    ("Additional Details", "status.additionalDetails", Conv::Text),
    ("Client app", "clientAppUsed", Conv::Text),
    ("Device ID", "deviceDetail.deviceId", Conv::Text),
    ("Browser", "deviceDetail.browser", Conv::Text),
    (
        "Operating System",
        "deviceDetail.operatingSystem",
        Conv::Text,
    ),
    ("Compliant", "deviceDetail.isCompliant", Conv::Bool),
    ("Managed", "deviceDetail.isManaged", Conv::Bool),
    ("Join Type", "deviceDetail.trustType", Conv::Text),
    ("Conditional Access", "conditionalAccessStatus", Conv::Text),
    (
        "Authentication requirement",
        "authenticationRequirement",
        Conv::Text,
    ),
    ("Service principal ID", "servicePrincipalId", Conv::Text),
    ("Service principal name", "servicePrincipalName", Conv::Text),
    ("Token issuer type", "tokenIssuerType", Conv::Text),
    ("Token issuer name", "tokenIssuerName", Conv::Text),
    ("Flagged for review", "flaggedForReview", Conv::Bool),
    (
        "Autonomous system number",
        "autonomousSystemNumber",
        Conv::Text,
    ),
    ("Session ID", "sessionId", Conv::Text),
    ("Sign-in identifier", "signInIdentifier", Conv::Text),
    (
        "Through Global Secure Access",
        "isThroughGlobalSecureAccess",
        Conv::Bool,
    ),
    (
        "Global Secure Access IP address",
        "globalSecureAccessIpAddress",
        Conv::Text,
    ),
];

/// The admin center column whose `Success` stands for error code 0.
const ADMIN_STATUS: &str = "status";

/// What an admin center column maps to: its Graph path (dotted), the
/// catalog field there, and how its cells convert.
pub(super) type Target = (&'static str, Option<&'static Field>, Conv);

/// Whether a header is an admin center download's. Its headers are display
/// names with spaces (`Request ID`, `Date (UTC)`), which no Log Analytics
/// column has: two known ones make the file an admin center download.
pub(super) fn is_admin_header(header: &[String]) -> bool {
    header
        .iter()
        .filter(|h| h.contains(' ') && admin_center_column(h).is_some())
        .count()
        >= 2
}

/// The Graph target of the admin center column headed `cell`, if known.
pub(super) fn target(cell: &str) -> Option<Target> {
    admin_center_column(cell).map(|(path, conv)| {
        let field = catalog::resolve_in(SIGN_IN, path)
            .ok()
            .and_then(|r| r.field);
        (path, field, conv)
    })
}

/// Whether `cell` heads the `Status` column.
pub(super) fn is_status(cell: &str) -> bool {
    squeeze(cell) == ADMIN_STATUS
}

/// An admin center column name for matching: no outer spaces, single
/// inner spaces, lower case.
fn squeeze(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn admin_center_column(name: &str) -> Option<(&'static str, Conv)> {
    let key = squeeze(name);
    ADMIN_CENTER_COLUMNS
        .iter()
        .find(|(display, _, _)| squeeze(display) == key)
        .map(|(_, path, conv)| (*path, *conv))
}

/// An admin center row: mapped columns under Graph names (the first
/// non-empty cell of a field wins; a later one that differs is kept under
/// its column's name), the others under their own names.
pub(super) fn admin_center_row(columns: &[Column], cells: &[&str], line: u64) -> Row {
    let mut canonical = Map::new();
    let mut unmapped = Vec::new();
    let mut success = false;
    for (column, cell) in columns.iter().zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        if column.status {
            success = cell.eq_ignore_ascii_case("success");
        }
        let Some((path, field, conv)) = column.target else {
            unmapped.push((column.name.clone(), Value::String(cell.to_string())));
            continue;
        };
        let placed = match conv {
            Conv::Location => match split_location(cell) {
                Some(parts) => parts
                    .into_iter()
                    .all(|(child, value)| place(&mut canonical, &["location", child], value)),
                None => false,
            },
            Conv::Bool => place(&mut canonical, &split_path(path), yes_no(cell)),
            Conv::Text => place(
                &mut canonical,
                &split_path(path),
                display_value(field, cell),
            ),
        };
        if !placed {
            unmapped.push((column.name.clone(), Value::String(cell.to_string())));
        }
    }
    if success {
        // `Success` is error code 0 when no column gives the code.
        place(&mut canonical, &["status", "errorCode"], Value::from(0));
    }
    Row::AdminCenter {
        canonical,
        unmapped,
        line,
    }
}

fn split_path(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

/// Puts `value` at `path` unless a value is there already; gives whether it
/// was put (or was the same).
fn place(map: &mut Map<String, Value>, path: &[&str], value: Value) -> bool {
    match path {
        [] => false,
        [last] => match map.get(*last) {
            Some(existing) => *existing == value,
            None => {
                map.insert((*last).to_string(), value);
                true
            }
        },
        [first, rest @ ..] => {
            let slot = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(inner) => place(inner, rest, value),
                _ => false,
            }
        }
    }
}

/// `Yes` and `No` as booleans; other text is left to the normalizer.
fn yes_no(cell: &str) -> Value {
    if cell.eq_ignore_ascii_case("yes") {
        Value::Bool(true)
    } else if cell.eq_ignore_ascii_case("no") {
        Value::Bool(false)
    } else {
        Value::String(cell.to_string())
    }
}

/// The Graph name of an enum field's display value (`Not Applied` is
/// `notApplied`, `Single-factor authentication` is
/// `singleFactorAuthentication`); other text as it is.
fn display_value(field: Option<&Field>, cell: &str) -> Value {
    let compact = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .collect::<String>()
            .to_lowercase()
    };
    if let Some(field) = field.filter(|f| !f.values.is_empty()) {
        let key = compact(cell);
        if let Some(name) = field.values.iter().find(|v| compact(v) == key) {
            return Value::String((*name).to_string());
        }
    }
    Value::String(cell.to_string())
}

/// `City, State, CC` as location fields; the last part must be a
/// two-letter country code. `None` when the text does not read so.
fn split_location(text: &str) -> Option<Vec<(&'static str, Value)>> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let (country, rest) = parts.split_last()?;
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let names: &[&'static str] = match rest.len() {
        0 => &[],
        1 => &["city"],
        2 => &["city", "state"],
        _ => return None,
    };
    let mut out: Vec<(&'static str, Value)> = names
        .iter()
        .zip(rest)
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, Value::String((*v).to_string())))
        .collect();
    out.push(("countryOrRegion", Value::String((*country).to_string())));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_on_commas() {
        assert_eq!(split_location("Paris, FR").map(|v| v.len()), Some(2));
        assert_eq!(split_location("Seattle, Washington, USA"), None);
        assert_eq!(split_location("a, b, c, US"), None);
    }
}
