//! tollgate: policy as code for Microsoft Entra ID sign-in logs.
//!
//! Rules are YAML written in Entra's own vocabulary; they are checked against
//! a field catalog, compiled into matcher programs, and evaluated over
//! sign-in records read from every shape Microsoft exports them in, giving
//! findings that carry their evidence.
//!
//! The front door: a [`Loader`] reads rules and gives a [`RuleSet`] (or,
//! with [`Loader::check`], the [`CheckedRules`] before compiling, with
//! every mistake as a [`Diagnostic`]); a [`Run`] takes a rule set, the
//! [`Inputs`] and [`RunOptions`], gives each new [`Finding`] to a [`Sink`]
//! and returns the [`Summary`]; [`report`] writes findings as text, JSON,
//! SARIF and the other formats; [`ingest`] reads every export shape into
//! canonical [`Record`]s. [`Project`] resolves a `tollgate.yaml` and the
//! caller's settings into a loader, as the command line does. The loader
//! also reads Sigma rules, into the same checked rules; the `sigma` module says
//! how, and writes tollgate's own rules as Sigma.
//!
//! Inside, one private module per pipeline stage: syntax (rule text →
//! spanned YAML) → check (names resolved against the field catalog, values
//! typed, every mistake collected) → compile (matcher program) → ingest
//! (log shapes → records) → eval (outcomes, traces, evidence) → report.
//!
//! ```
//! use tollgate::{Loader, Location};
//!
//! let mut loader = Loader::new();
//! loader.add_source(
//!     "rules.yaml",
//!     r#"
//! id: EX-001
//! title: Legacy IMAP sign-in succeeded
//! severity: high
//! match:
//!   clientAppUsed: IMAP4
//!   ResultType: "0"          # the Log Analytics name of status.errorCode
//! message: "{userPrincipalName} used IMAP from {ipAddress}"
//! "#,
//! );
//! let rules = loader.load().expect("the rule is valid");
//!
//! // A Log Analytics row: PascalCase columns, the error code as text.
//! let record = tollgate::ingest::normalize(serde_json::json!({
//!     "Type": "SigninLogs",
//!     "UserPrincipalName": "frank@contoso.com",
//!     "IPAddress": "203.0.113.16",
//!     "ClientAppUsed": "IMAP4",
//!     "ResultType": "0",
//! }))
//! .expect("a record");
//!
//! let at = Location { path: "inline".into(), line: 1, record: 0 };
//! let mut findings = Vec::new();
//! rules.evaluate(&record, &at, &mut |f| findings.push(f));
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].message, "frank@contoso.com used IMAP from 203.0.113.16");
//! assert_eq!(findings[0].evidence[1].actual, serde_json::json!(0));
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

// The stage modules are private: library users reach what they need
// through the re-exports below and the public modules, so the stages can
// change shape without breaking them.
mod catalog;
mod check;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod compile;
mod config;
pub mod diag;
pub mod engine;
mod eval;
pub mod finding;
mod fold;
pub mod ingest;
#[cfg(feature = "cli")]
mod progress;
mod project;
mod record;
pub mod report;
pub mod run;
mod schema;
mod sigma;
mod syntax;
pub mod target;
mod time;
mod window;

pub use config::{Config, Exception};
pub use diag::{Code, Diagnostic, ErrorFormat, Level};
pub use engine::{BUILTIN_RULES, CheckedRules, Loader, Rejected, RuleSet, TestOutcome, Validation};
pub use finding::{Evidence, Finding, Problem, RuleInfo, Severity, SignIn, Summary};
pub use project::{CheckSettings, FailOn, Project, ProjectError, Resolved, RuleSettings};
pub use record::{Location, LogCategory, Record};
pub use report::{Emitter, Format};
pub use run::{Inputs, Notice, Run, RunError, RunOptions, RunResult, Sink};
pub use schema::{CatalogFormat, field_catalog, rule_schema};
