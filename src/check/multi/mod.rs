//! Multi-record rules: the `window:` and `sequence:` keys → [`Window`](super::model::Window) and
//! [`Sequence`](super::model::Sequence), and the placeholders their messages may use.
//!
//! Takes the YAML under the key, reads spans of time (`20m`), thresholds
//! (`{ gte: 10 }`), key fields (resolved in the catalog of the logs they
//! are read in), `distinct` fields and, for sequences, each step: its name,
//! logs, key, `match`, `count`, `absent`, `where` (whose field references
//! may read earlier steps, see [`super::refs`]) and `travel` (distance and
//! speed from an earlier step's records). Every mistake is reported where
//! it is written, with the accepted forms or the closest name.

mod message;
mod sequence;
mod spec;
mod travel;
mod window;

pub(super) use spec::key_span;

#[cfg(test)]
mod tests;
