//! Sigma in and out.
//!
//! In: a rule file document with `logsource` and `detection` (or a
//! `correlation`) is a Sigma rule. Check hands such documents here, and
//! they come back as the same checked rules tollgate's own rules become,
//! so they run beside them with the same findings, evidence and reports.
//! Field names are Log Analytics columns resolved through the catalog's
//! aliases; what tollgate cannot run is an error naming the feature.
//!
//! Out: [`export::to_sigma`] writes a single-record rule as a Sigma rule.

mod cond;
pub mod export;
mod load;
mod value;

pub use load::log_of_service;
pub(crate) use load::{check_all, is_sigma};
