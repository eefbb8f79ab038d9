//! The placeholders a multi-record rule's message may use (`{count}`,
//! `{window.start}`, `{distinct.…}`, `{travel.kmh}`, a step's fields, the
//! key).

use crate::catalog::{self, Field, Resolved};
use crate::check::RuleCx;
use crate::check::model::{Piece, Shape, Step, TravelPart, WindowPart};

impl RuleCx<'_> {
    /// What `{name}` in the message of a multi-record rule fills with;
    /// `Err` with the help for an error when the finding cannot fill it.
    pub(in crate::check) fn multi_piece(
        &self,
        name: &str,
        shape: &Shape,
    ) -> Result<Piece, (String, String)> {
        let (keys, steps): (Vec<&Resolved>, &[Step]) = match shape {
            Shape::Window(w) => (w.group_by.iter().collect(), &[]),
            Shape::Sequence(s) => (
                s.steps.iter().flat_map(|st| st.key.iter()).collect(),
                &s.steps,
            ),
            Shape::Single => (Vec::new(), &[]),
        };
        let usable = || {
            let mut list = vec![
                "{count}",
                "{window.duration}",
                "{window.start}",
                "{window.end}",
            ]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
            if let Shape::Window(w) = shape {
                list.extend(
                    w.distinct
                        .iter()
                        .map(|(f, _)| format!("{{distinct.{}}}", f.path)),
                );
            }
            if steps.iter().filter(|s| s.travel.is_some()).count() == 1 {
                list.extend(["{travel.kmh}".to_string(), "{travel.km}".to_string()]);
            }
            list.extend(steps.iter().map(|s| format!("{{{}.FIELD}}", s.name)));
            let mut plain: Vec<String> = keys.iter().map(|k| format!("{{{}}}", k.path)).collect();
            plain.dedup();
            list.extend(plain);
            list.join(", ")
        };
        if name == "count" {
            return Ok(Piece::Count);
        }
        if let Some(part) = name.strip_prefix("window.") {
            return match part {
                "duration" => Ok(Piece::Window(WindowPart::Duration)),
                "start" => Ok(Piece::Window(WindowPart::Start)),
                "end" => Ok(Piece::Window(WindowPart::End)),
                _ => Err((
                    format!("`{{{name}}}` is not a part of the window"),
                    "the window gives `{window.duration}`, `{window.start}` and `{window.end}`"
                        .to_string(),
                )),
            };
        }
        if let Some(part) = name.strip_prefix("travel.") {
            let travelling: Vec<&str> = steps
                .iter()
                .filter(|s| s.travel.is_some())
                .map(|s| s.name.as_str())
                .collect();
            return match (travelling.as_slice(), part) {
                ([], _) => Err((
                    format!("no step of this rule travels, so there is no `{{{name}}}`"),
                    format!("add `travel:` to a step, or use {}", usable()),
                )),
                ([_], "kmh") => Ok(Piece::Travel(TravelPart::Kmh)),
                ([_], "km") => Ok(Piece::Travel(TravelPart::Km)),
                ([_], _) => Err((
                    format!("`{{{name}}}` is not a measure of travel"),
                    "travel gives `{travel.kmh}` (the speed) and `{travel.km}` (the distance)"
                        .to_string(),
                )),
                (several, _) => Err((
                    format!(
                        "`{{{name}}}` could be the travel of step `{}`",
                        several.join("` or `")
                    ),
                    "`{travel.*}` names the travel of the one step that travels; with several, say it in the text"
                        .to_string(),
                )),
            };
        }
        if let Some(field) = name.strip_prefix("distinct.") {
            let Shape::Window(w) = shape else {
                return Err((
                    format!("a sequence has no `{{{name}}}`"),
                    format!("use {}", usable()),
                ));
            };
            let resolved = catalog::resolve_in(self.root, field).ok();
            return match w
                .distinct
                .iter()
                .find(|(f, _)| Some(&f.path) == resolved.as_ref().map(|r| &r.path))
            {
                Some((f, _)) => Ok(Piece::Distinct(f.clone())),
                None => Err((
                    format!("`{field}` is not a `distinct` field of the window"),
                    format!("use {}", usable()),
                )),
            };
        }
        if let Some((first, rest)) = name.split_once('.')
            && let Some(step) = steps.iter().find(|s| s.name == first)
        {
            let fields = step.logs.first().map_or(self.root, catalog::for_log);
            return match catalog::resolve_in(fields, rest) {
                Ok(field) => Ok(Piece::Step {
                    step: step.name.clone(),
                    field,
                }),
                Err(e) => Err((
                    format!("unknown field `{}` of step `{}`", e.segment, step.name),
                    e.suggestion.map_or_else(
                        || "see `tollgate schema` for the fields".to_string(),
                        |s| format!("did you mean `{first}.{s}`?"),
                    ),
                )),
            };
        }
        let as_key = |fields: &'static [Field]| {
            catalog::resolve_in(fields, name).ok().and_then(|r| {
                let index = match shape {
                    Shape::Window(w) => w.group_by.iter().position(|k| k.path == r.path),
                    Shape::Sequence(s) => s
                        .steps
                        .iter()
                        .find_map(|st| st.key.iter().position(|k| k.path == r.path)),
                    Shape::Single => None,
                };
                index.map(|index| Piece::Key { index, field: r })
            })
        };
        let catalogs = std::iter::once(self.root).chain(
            steps
                .iter()
                .filter_map(|s| s.logs.first().map(catalog::for_log)),
        );
        for fields in catalogs {
            if let Some(piece) = as_key(fields) {
                return Ok(piece);
            }
        }
        Err((
            format!(
                "the finding cannot fill `{{{name}}}`: a finding of many records has no one value of it"
            ),
            format!("use {}", usable()),
        ))
    }
}
