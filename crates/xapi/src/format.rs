//! The statement formats of a GET (Communication 2.1.3 `format`), the canonical Activity
//! definition the LRS keeps (Data 2.4.4.1), and language preference (Accept-Language).
use serde_json::{Map, Value};

use crate::agent::{self, Ifi};

/// The `format` parameter of a statement GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    Ids,
    #[default]
    Exact,
    Canonical,
}

impl Format {
    pub fn parse(value: &str) -> Option<Format> {
        match value {
            "ids" => Some(Format::Ids),
            "exact" => Some(Format::Exact),
            "canonical" => Some(Format::Canonical),
            _ => None,
        }
    }
}

/// The `ids` format: Agents and Groups reduced to their IFI (an anonymous Group to its members'
/// IFIs), Activities to their id, Verbs to their id.
pub fn ids(statement: &Value) -> Value {
    let mut statement = statement.clone();
    for_each_part(&mut statement, &mut |part| match part {
        Part::Agent(value) => *value = agent_ids(value),
        Part::Activity(value) => {
            if let Some(object) = value.as_object_mut() {
                object.remove("definition");
            }
        }
        Part::Verb(value) => {
            if let Some(object) = value.as_object_mut() {
                object.remove("display");
            }
        }
    });
    statement
}

fn agent_ids(value: &Value) -> Value {
    let mut reduced = Map::new();
    if let Some(kind) = value.get("objectType") {
        reduced.insert("objectType".into(), kind.clone());
    }
    match Ifi::of(value) {
        Some(ifi) => reduced.extend(ifi.to_json()),
        None => {
            let members = agent::members(value).iter().map(agent_ids).collect();
            reduced.insert("member".into(), Value::Array(members));
        }
    }
    Value::Object(reduced)
}

/// The LRS's canonical Activity definitions and Verb displays, by IRI, for [`canonical`].
pub struct CanonicalParts<'a> {
    pub definition_of: &'a dyn Fn(&str) -> Option<Value>,
    pub display_of: &'a dyn Fn(&str) -> Option<Value>,
}

/// The `canonical` format: each Activity carries the LRS's canonical definition and each Verb its
/// canonical display (Data 2.4.3: "the LRS SHOULD* return a canonical Display for that Verb")
/// laid over its own, where the LRS has one; every language map in Activity definitions and
/// Verb displays keeps one language, the best match for `languages` (Accept-Language, most
/// preferred first). Agents are as in `exact`.
pub fn canonical(statement: &Value, parts: &CanonicalParts<'_>, languages: &[String]) -> Value {
    let mut statement = statement.clone();
    for_each_part(&mut statement, &mut |part| match part {
        Part::Agent(_) => {}
        Part::Activity(activity) => {
            let Some(object) = activity.as_object_mut() else {
                return;
            };
            let canonical = object
                .get("id")
                .and_then(Value::as_str)
                .and_then(parts.definition_of);
            if let Some(definition) = canonical {
                object.insert("definition".into(), definition);
            }
            if let Some(definition) = object.get_mut("definition") {
                filter_definition_languages(definition, languages);
            }
        }
        Part::Verb(verb) => {
            let Some(object) = verb.as_object_mut() else {
                return;
            };
            let canonical = object
                .get("id")
                .and_then(Value::as_str)
                .and_then(parts.display_of);
            // Laid over the statement's own display, so that a language only statements stored
            // before the store kept displays (or this one) name is not lost.
            if let Some(display) = canonical {
                let merged = match object.get("display") {
                    Some(own) => merge_display(own, &display),
                    None => display,
                };
                object.insert("display".into(), merged);
            }
            if let Some(display) = object.get_mut("display") {
                keep_one_language(display, languages);
            }
        }
    });
    statement
}

fn filter_definition_languages(definition: &mut Value, languages: &[String]) {
    let Some(definition) = definition.as_object_mut() else {
        return;
    };
    for key in ["name", "description"] {
        if let Some(map) = definition.get_mut(key) {
            keep_one_language(map, languages);
        }
    }
    for key in ["choices", "scale", "source", "target", "steps"] {
        for component in definition
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(map) = component.get_mut("description") {
                keep_one_language(map, languages);
            }
        }
    }
}

/// Reduces a language map to its one entry that best matches the preferences: an exact tag, then
/// a tag with the preferred prefix (`en` matches `en-US`), then `und`, then the first entry.
pub fn keep_one_language(map: &mut Value, languages: &[String]) {
    let Some(entries) = map.as_object() else {
        return;
    };
    if entries.len() <= 1 {
        return;
    }
    let chosen = pick_language(entries, languages);
    if let Some((key, value)) = chosen.map(|(k, v)| (k.clone(), v.clone())) {
        let mut one = Map::new();
        one.insert(key, value);
        *map = Value::Object(one);
    }
}

fn pick_language<'a>(
    entries: &'a Map<String, Value>,
    languages: &[String],
) -> Option<(&'a String, &'a Value)> {
    for wanted in languages {
        if wanted == "*" {
            break;
        }
        let wanted = wanted.to_ascii_lowercase();
        if let Some(hit) = entries
            .iter()
            .find(|(tag, _)| tag.to_ascii_lowercase() == wanted)
        {
            return Some(hit);
        }
        let prefix = format!("{wanted}-");
        if let Some(hit) = entries.iter().find(|(tag, _)| {
            let tag = tag.to_ascii_lowercase();
            tag.starts_with(&prefix) || wanted.starts_with(&format!("{tag}-"))
        }) {
            return Some(hit);
        }
    }
    entries
        .iter()
        .find(|(tag, _)| tag.as_str() == "und")
        .or_else(|| entries.iter().next())
}

/// The language ranges of an Accept-Language header, most preferred first (RFC 9110 12.5.4);
/// ranges with `q=0` are dropped.
pub fn accept_language(header: &str) -> Vec<String> {
    let mut ranges: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            if tag.is_empty() {
                return None;
            }
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (q > 0.0).then(|| (tag.to_string(), q))
        })
        .collect();
    // A stable sort keeps the header's order among equal weights.
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges.into_iter().map(|(tag, _)| tag).collect()
}

/// A walk over one kind of part of a statement (its Activities, its Verbs).
type Walk = for<'a> fn(&'a Value, &mut dyn FnMut(&'a Value));

/// Every Activity in a statement that carries a definition, with that definition: the object,
/// the context activities, and the same inside a SubStatement. Borrows: this runs on every
/// statement stored.
pub fn activity_definitions(statement: &Value) -> Vec<(&str, &Value)> {
    ids_with(statement, for_each_activity, "definition")
}

/// The Verbs of a statement (and of its SubStatement) with their displays, as (id, display).
pub fn verb_displays(statement: &Value) -> Vec<(&str, &Value)> {
    ids_with(statement, for_each_verb, "display")
}

/// The ids of every Activity in a statement (for loading canonical definitions).
pub fn activity_ids(statement: &Value) -> Vec<String> {
    walked_ids(statement, for_each_activity)
}

/// The ids of every Verb in a statement (for loading canonical displays).
pub fn verb_ids(statement: &Value) -> Vec<String> {
    walked_ids(statement, for_each_verb)
}

/// (id, `key`'s value) of each part `walk` visits that has both.
fn ids_with<'a>(statement: &'a Value, walk: Walk, key: &str) -> Vec<(&'a str, &'a Value)> {
    let mut found = Vec::new();
    walk(statement, &mut |part| {
        if let (Some(id), Some(value)) = (part.get("id").and_then(Value::as_str), part.get(key)) {
            found.push((id, value));
        }
    });
    found
}

/// The ids of the parts `walk` visits, sorted, each once.
fn walked_ids(statement: &Value, walk: Walk) -> Vec<String> {
    let mut found = Vec::new();
    walk(statement, &mut |part| {
        if let Some(id) = part.get("id").and_then(Value::as_str) {
            found.push(id.to_string());
        }
    });
    found.sort();
    found.dedup();
    found
}

fn for_each_verb<'a>(statement: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    if let Some(verb) = statement.get("verb") {
        visit(verb);
    }
    if let Some(sub) = statement.get("object")
        && sub.get("objectType").and_then(Value::as_str) == Some("SubStatement")
        && let Some(verb) = sub.get("verb")
    {
        visit(verb);
    }
}

/// The LRS's rule for a Verb's canonical display (Data 2.4.3 lets it decide from the displays it
/// receives): the language maps merge language by language, the newer text winning, so a
/// statement that names a Verb in one more language does not erase the others.
pub fn merge_display(old: &Value, new: &Value) -> Value {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return new.clone();
    };
    let mut merged = old.clone();
    for (tag, text) in new {
        merged.insert(tag.clone(), text.clone());
    }
    Value::Object(merged)
}

/// Visits every Activity of a statement without changing (or copying) it: the object, the
/// context activities, and the same inside a SubStatement.
fn for_each_activity<'a>(statement: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    if let Some(target) = statement.get("object") {
        match target.get("objectType").and_then(Value::as_str) {
            Some("SubStatement") => for_each_activity(target, visit),
            Some("Agent") | Some("Group") | Some("StatementRef") => {}
            _ => visit(target),
        }
    }
    let activities = statement
        .pointer("/context/contextActivities")
        .and_then(Value::as_object);
    for value in activities.into_iter().flat_map(|a| a.values()) {
        match value {
            Value::Array(list) => list.iter().for_each(&mut *visit),
            single => visit(single),
        }
    }
}

/// The LRS's rule for updating a canonical definition (Data 2.4.4.1 leaves it to the LRS): the
/// newer definition wins property by property, and language maps merge language by language, so
/// a statement that names an activity in one more language does not erase the others.
pub fn merge_definition(old: &Value, new: &Value) -> Value {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return new.clone();
    };
    let mut merged = old.clone();
    for (key, value) in new {
        let is_language_map = matches!(key.as_str(), "name" | "description");
        match (merged.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(added)) if is_language_map => {
                for (tag, text) in added {
                    existing.insert(tag.clone(), text.clone());
                }
            }
            _ => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merged)
}

/// A part of a statement that the formats rewrite.
enum Part<'a> {
    Agent(&'a mut Value),
    Activity(&'a mut Value),
    Verb(&'a mut Value),
}

/// Visits every Agent/Group, Activity and Verb of a statement, including those in its context,
/// its authority and a SubStatement.
fn for_each_part(statement: &mut Value, visit: &mut dyn FnMut(Part<'_>)) {
    let Some(object) = statement.as_object_mut() else {
        return;
    };
    for key in ["actor", "authority"] {
        if let Some(agent) = object.get_mut(key) {
            visit(Part::Agent(agent));
        }
    }
    if let Some(verb) = object.get_mut("verb") {
        visit(Part::Verb(verb));
    }
    if let Some(target) = object.get_mut("object") {
        match target.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => visit(Part::Agent(target)),
            Some("SubStatement") => for_each_part(target, visit),
            Some("StatementRef") => {}
            _ => visit(Part::Activity(target)),
        }
    }
    let Some(context) = object.get_mut("context").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["instructor", "team"] {
        if let Some(agent) = context.get_mut(key) {
            visit(Part::Agent(agent));
        }
    }
    for (list, key) in [("contextAgents", "agent"), ("contextGroups", "group")] {
        for entry in context
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(agent) = entry.get_mut(key) {
                visit(Part::Agent(agent));
            }
        }
    }
    if let Some(activities) = context
        .get_mut("contextActivities")
        .and_then(Value::as_object_mut)
    {
        for value in activities.values_mut() {
            match value {
                Value::Array(list) => list.iter_mut().for_each(|a| visit(Part::Activity(a))),
                single => visit(Part::Activity(single)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "id": "6d7a4c36-2a7a-4f5a-8c8a-6f7c2d1b0a11",
            "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@x.org"},
            "verb": {"id": "https://v/passed", "display": {"en-US": "passed", "de": "bestanden"}},
            "object": {"id": "https://act/1", "definition": {"name": {"en-US": "Gowning", "de": "Umkleiden"}}},
            "context": {"team": {"objectType": "Group", "name": "Line 3", "member": [{"name": "B", "mbox": "mailto:b@x.org"}]}}
        })
    }

    #[test]
    fn ids_format_keeps_only_identifiers_c_2_1_3() {
        let s = ids(&sample());
        assert_eq!(
            s["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ann@x.org"})
        );
        assert_eq!(s["verb"], json!({"id": "https://v/passed"}));
        assert_eq!(s["object"], json!({"id": "https://act/1"}));
        assert_eq!(
            s["context"]["team"],
            json!({"objectType": "Group", "member": [{"mbox": "mailto:b@x.org"}]})
        );
    }

    #[test]
    fn canonical_format_keeps_one_language_per_map_c_2_1_3() {
        let definition = json!({"name": {"en-US": "Gowning v2", "de": "Umkleiden v2"}, "type": "https://t/course"});
        let lookup = |id: &str| (id == "https://act/1").then(|| definition.clone());
        let none = |_: &str| None;
        let parts = CanonicalParts {
            definition_of: &lookup,
            display_of: &none,
        };
        let s = canonical(&sample(), &parts, &accept_language("de;q=0.9, fr"));
        assert_eq!(s["verb"]["display"], json!({"de": "bestanden"}));
        assert_eq!(
            s["object"]["definition"],
            json!({"name": {"de": "Umkleiden v2"}, "type": "https://t/course"})
        );
        assert_eq!(s["actor"], sample()["actor"], "agents as in exact");
        let parts = CanonicalParts {
            definition_of: &none,
            display_of: &none,
        };
        let s = canonical(&sample(), &parts, &accept_language("en"));
        assert_eq!(
            s["verb"]["display"],
            json!({"en-US": "passed"}),
            "en matches en-US"
        );
    }

    #[test]
    fn canonical_format_gives_each_verb_its_canonical_display_d_2_4_3() {
        let display = json!({"en-US": "passed", "fr": "réussi"});
        let lookup = |id: &str| (id == "https://v/passed").then(|| display.clone());
        let none = |_: &str| None;
        let parts = CanonicalParts {
            definition_of: &none,
            display_of: &lookup,
        };
        let mut statement = sample();
        statement["verb"]["display"] = json!({"en-US": "old"});
        statement["object"] = json!({"objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@x.org"}, "verb": {"id": "https://v/passed"},
            "object": {"id": "https://act/2"}});
        let s = canonical(&statement, &parts, &accept_language("fr"));
        assert_eq!(s["verb"]["display"], json!({"fr": "réussi"}));
        assert_eq!(
            s["object"]["verb"]["display"],
            json!({"fr": "réussi"}),
            "a SubStatement's Verb too, even without a display of its own"
        );
        let mut older = statement.clone();
        older["verb"]["display"] = json!({"en-US": "old", "de": "bestanden"});
        let o = canonical(&older, &parts, &accept_language("de"));
        assert_eq!(
            o["verb"]["display"],
            json!({"de": "bestanden"}),
            "a language only the statement names stays"
        );
        let o = canonical(&older, &parts, &accept_language("en-US"));
        assert_eq!(o["verb"]["display"], json!({"en-US": "passed"}));
    }

    #[test]
    fn verb_displays_merge_language_by_language_d_2_4_3() {
        assert_eq!(
            merge_display(
                &json!({"en": "passed", "de": "bestanden"}),
                &json!({"en": "succeeded", "fr": "réussi"})
            ),
            json!({"en": "succeeded", "de": "bestanden", "fr": "réussi"})
        );
        let mut statement = sample();
        statement["object"] = json!({"objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@x.org"}, "verb": {"id": "https://v/failed", "display": {"en": "failed"}},
            "object": {"id": "https://act/2"}});
        assert_eq!(
            verb_displays(&statement),
            vec![
                ("https://v/passed", &sample()["verb"]["display"]),
                ("https://v/failed", &json!({"en": "failed"}))
            ]
        );
        assert_eq!(
            verb_ids(&statement),
            vec!["https://v/failed", "https://v/passed"]
        );
    }

    #[test]
    fn accept_language_orders_by_weight() {
        assert_eq!(
            accept_language("fr;q=0.5, de, en;q=0.8, xx;q=0"),
            vec!["de", "en", "fr"]
        );
        assert!(accept_language("").is_empty());
    }

    #[test]
    fn merge_definition_merges_language_maps_d_2_4_4_1() {
        let old = json!({"name": {"en": "Gowning"}, "type": "https://t/a"});
        let new = json!({"name": {"de": "Umkleiden"}, "type": "https://t/b"});
        assert_eq!(
            merge_definition(&old, &new),
            json!({"name": {"en": "Gowning", "de": "Umkleiden"}, "type": "https://t/b"})
        );
    }
}
