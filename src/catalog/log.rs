//! The logs records belong to: the four sign-in logs, Microsoft Graph
//! activity, and any other category a source names.

use std::fmt;

use serde::Serialize;

/// Which log a record belongs to, from its source (diagnostic category, Log
/// Analytics table) or, failing that, from the record itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogCategory {
    /// Interactive user sign-ins (`SigninLogs`).
    Interactive,
    /// Non-interactive user sign-ins (`AADNonInteractiveUserSignInLogs`).
    NonInteractive,
    /// Service principal sign-ins (`AADServicePrincipalSignInLogs`).
    ServicePrincipal,
    /// Managed identity sign-ins (`AADManagedIdentitySignInLogs`).
    ManagedIdentity,
    /// Microsoft Graph activity (`MicrosoftGraphActivityLogs`).
    GraphActivity,
    /// Any other category, kept under the name the source gave it
    /// (`ADFSSignInLogs`, `MicrosoftServicePrincipalSignInLogs`, ...).
    Other(Box<str>),
}

impl LogCategory {
    /// The four sign-in logs a rule covers when it names no `logs`.
    pub const SIGN_INS: [LogCategory; 4] = [
        LogCategory::Interactive,
        LogCategory::NonInteractive,
        LogCategory::ServicePrincipal,
        LogCategory::ManagedIdentity,
    ];

    /// The names a rule's `logs:` accepts.
    pub const RULE_NAMES: [&'static str; 5] = [
        "interactive",
        "nonInteractive",
        "servicePrincipal",
        "managedIdentity",
        "graphActivity",
    ];

    /// The name used in rules and reports.
    pub fn name(&self) -> &str {
        match self {
            LogCategory::Interactive => "interactive",
            LogCategory::NonInteractive => "nonInteractive",
            LogCategory::ServicePrincipal => "servicePrincipal",
            LogCategory::ManagedIdentity => "managedIdentity",
            LogCategory::GraphActivity => "graphActivity",
            LogCategory::Other(name) => name,
        }
    }

    /// A category as a rule's `logs:` names it (exact spelling).
    pub fn from_rule_name(name: &str) -> Option<LogCategory> {
        Self::SIGN_INS
            .into_iter()
            .chain([LogCategory::GraphActivity])
            .find(|c| c.name() == name)
    }

    /// The category of a diagnostic-settings `category` or a Log Analytics
    /// `Type` / `Category` value, ignoring case.
    pub fn from_source(name: &str) -> LogCategory {
        const KNOWN: &[(&str, LogCategory)] = &[
            ("SignInLogs", LogCategory::Interactive),
            ("SigninLogs", LogCategory::Interactive),
            ("NonInteractiveUserSignInLogs", LogCategory::NonInteractive),
            (
                "AADNonInteractiveUserSignInLogs",
                LogCategory::NonInteractive,
            ),
            ("ServicePrincipalSignInLogs", LogCategory::ServicePrincipal),
            (
                "AADServicePrincipalSignInLogs",
                LogCategory::ServicePrincipal,
            ),
            ("ManagedIdentitySignInLogs", LogCategory::ManagedIdentity),
            ("AADManagedIdentitySignInLogs", LogCategory::ManagedIdentity),
            ("MicrosoftGraphActivityLogs", LogCategory::GraphActivity),
        ];
        KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or_else(|| LogCategory::Other(name.into()), |(_, c)| c.clone())
    }
}

impl fmt::Display for LogCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for LogCategory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
