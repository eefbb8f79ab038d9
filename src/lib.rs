//! tollgate: policy as code for Microsoft Entra ID sign-in logs.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod compile;
pub mod diag;
pub mod engine;
pub mod eval;
pub mod finding;
pub mod ingest;
pub mod record;
pub mod report;
pub mod syntax;
pub mod time;
