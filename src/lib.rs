//! tollgate: policy as code for Microsoft Entra ID sign-in logs.
//!
//! Rules are YAML written in Entra's own vocabulary; they are checked against
//! a field catalog, compiled into matcher programs, and evaluated over
//! sign-in records read from every shape Microsoft exports them in, giving
//! findings that carry their evidence.
//!
//! The pipeline, one module per stage: [`syntax`] (rule text → spanned YAML)
//! → [`check`] (names resolved against the [`catalog`], values typed, every
//! mistake collected as a [`diag::Diagnostic`]) → [`compile`] (matcher
//! program) → [`ingest`] (log shapes → canonical [`record::Record`]s) →
//! [`eval`] (outcomes, traces, evidence) → [`report`] (text, JSON, SARIF).
//! [`engine`] ties them together; [`cli`] is the command line.
//!
//! ```
//! use tollgate::engine::Loader;
//! use tollgate::record::Location;
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

pub mod catalog;
pub mod check;
pub mod cli;
pub mod compile;
pub mod config;
pub mod diag;
pub mod engine;
pub mod eval;
pub mod finding;
pub mod ingest;
mod progress;
pub mod project;
pub mod record;
pub mod report;
pub mod run;
pub mod schema;
pub mod syntax;
pub mod time;
pub mod window;
