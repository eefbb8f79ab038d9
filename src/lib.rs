//! tollgate: policy as code for Microsoft Entra ID sign-in logs.

pub mod catalog;
pub mod finding;
pub mod ingest;
pub mod record;
pub mod report;
pub mod diag;
pub mod syntax;
