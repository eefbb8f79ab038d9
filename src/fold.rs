//! Letter case in record keys: takes a JSON object and a key, gives the
//! value under that key spelled exactly or, failing that, in any ASCII
//! letter case. The reader (which maps keys to catalog names) and the
//! evaluator (which reads `raw.` paths) both look keys up this way.

use serde_json::{Map, Value};

/// The value under `key`: spelled exactly when the object has it (one hash
/// lookup, the common case), else under the first key, in the object's
/// order, equal to it ignoring ASCII case.
#[inline]
pub(crate) fn get_any_case<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}
