//! Statement comparison (Data 2.3.1): two statements are the same when they differ only in what
//! the immutability rule excepts: properties the LRS assigns, Activity definitions, Verb display,
//! attachments, the serialisation of timestamps, the order of Group members, case where case
//! does not matter (e-mail domains, UUID and SHA-1 hex) and a duration's precision beyond 0.01 s
//! (Data 4.6; 2.0 section 4.2.7).
use serde_json::{Map, Value};

use crate::rules;

/// True when `received` (a statement as a client sent it) is the same statement as `stored`.
pub fn same_statement(received: &Value, stored: &Value) -> bool {
    let timestamps_agree = match (received.get("timestamp"), stored.get("timestamp")) {
        (Some(a), Some(b)) => same_instant(a, b),
        // A missing timestamp is one the LRS assigns: not part of the comparison.
        _ => true,
    };
    timestamps_agree && comparable(received, true) == comparable(stored, true)
}

fn same_instant(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| v.as_str().and_then(rules::parse_timestamp);
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The statement reduced to what the comparison looks at.
fn comparable(statement: &Value, top: bool) -> Value {
    let Some(object) = statement.as_object() else {
        return normalise(statement);
    };
    let mut out = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "id" | "authority" | "stored" | "version" | "attachments" | "timestamp" if top => {
                continue;
            }
            "timestamp" => value
                .as_str()
                .and_then(rules::parse_timestamp)
                .map_or_else(|| value.clone(), |t| Value::String(t.to_string())),
            "actor" => agent(value),
            "verb" => without(value, "display"),
            "object" => match value.get("objectType").and_then(Value::as_str) {
                Some("SubStatement") => comparable(value, false),
                Some("Agent") | Some("Group") => agent(value),
                Some("StatementRef") => lowercase_id(value),
                _ => without(value, "definition"),
            },
            "context" => context(value),
            "result" => result(value),
            _ => normalise(value),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn result(value: &Value) -> Value {
    let mut value = normalise(value);
    if let Some(Value::String(duration)) = value.get_mut("duration") {
        *duration = to_hundredths(duration);
    }
    value
}

/// A duration as compared: the fraction of its last component written with `.` and without
/// trailing zeros, and on seconds cut to 0.01 s: "any precision beyond 0.01 second precision
/// SHOULD* NOT be included in the comparison" (Data 4.6; "shall not" in 2.0, 4.2.7). Cut, not
/// rounded: `PT1.999S` and `PT2S` differ. A fraction of a larger unit is kept whole (`PT0.5H`
/// and `PT0.50H` agree; `PT0.5H` and `PT1800S` do not, as `PT1M` and `PT60S` do not). Text that
/// is not such a duration (a signed statement's payload is not validated first) is compared as
/// it is.
fn to_hundredths(duration: &str) -> String {
    let Some(designator) = duration.chars().last() else {
        return String::new();
    };
    let number = &duration[..duration.len() - designator.len_utf8()];
    let Some(point) = number.rfind(['.', ',']) else {
        return duration.to_string();
    };
    let (whole, fraction) = (&number[..point], &number[point + 1..]);
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return duration.to_string();
    }
    let fraction = if designator == 'S' {
        &fraction[..fraction.len().min(2)]
    } else {
        fraction
    };
    let kept = fraction.trim_end_matches('0');
    if kept.is_empty() {
        format!("{whole}{designator}")
    } else {
        format!("{whole}.{kept}{designator}")
    }
}

fn context(value: &Value) -> Value {
    let Some(object) = value.as_object() else {
        return normalise(value);
    };
    let mut out = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "registration" => lowercase(value),
            "statement" => lowercase_id(value),
            "instructor" | "team" => agent(value),
            "contextActivities" => match value.as_object() {
                Some(kinds) => Value::Object(
                    kinds
                        .iter()
                        .map(|(kind, list)| {
                            let list = match list {
                                Value::Array(list) => list.clone(),
                                single => vec![single.clone()],
                            };
                            let ids = list.iter().map(|a| without(a, "definition")).collect();
                            (kind.clone(), Value::Array(ids))
                        })
                        .collect(),
                ),
                None => normalise(value),
            },
            "contextAgents" | "contextGroups" => match value.as_array() {
                Some(list) => Value::Array(
                    list.iter()
                        .map(|entry| {
                            let mut entry = normalise(entry);
                            for key in ["agent", "group"] {
                                if let Some(a) = entry.get(key).map(agent) {
                                    entry[key] = a;
                                }
                            }
                            entry
                        })
                        .collect(),
                ),
                None => normalise(value),
            },
            _ => normalise(value),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// An Agent or Group: case-insensitive parts lowered, members in a fixed order.
fn agent(value: &Value) -> Value {
    let mut value = normalise(value);
    if let Some(object) = value.as_object_mut() {
        if let Some(Value::String(mbox)) = object.get_mut("mbox")
            && let Some((local, domain)) = mbox.rsplit_once('@')
        {
            *mbox = format!("{local}@{}", domain.to_ascii_lowercase());
        }
        if let Some(Value::String(sum)) = object.get_mut("mbox_sha1sum") {
            *sum = sum.to_ascii_lowercase();
        }
        if let Some(Value::Array(members)) = object.get_mut("member") {
            let mut sorted: Vec<Value> = members.iter().map(agent).collect();
            sorted.sort_by_key(|m| m.to_string());
            *members = sorted;
        }
    }
    value
}

fn without(value: &Value, key: &str) -> Value {
    let mut value = normalise(value);
    if let Some(object) = value.as_object_mut() {
        object.remove(key);
    }
    value
}

fn lowercase_id(value: &Value) -> Value {
    let mut value = normalise(value);
    if let Some(id) = value.get("id").map(lowercase) {
        value["id"] = id;
    }
    value
}

fn lowercase(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.to_ascii_lowercase()),
        other => other.clone(),
    }
}

/// Numbers compared by value (`1` equals `1.0`), everything else as is.
fn normalise(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        Value::Array(list) => Value::Array(list.iter().map(normalise).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "id": "6d7a4c36-2a7a-4f5a-8c8a-6f7c2d1b0a11",
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@X.org"}, {"mbox": "mailto:b@x.org"}]},
            "verb": {"id": "https://v/passed", "display": {"en": "passed"}},
            "object": {"id": "https://act/1", "definition": {"name": {"en": "One"}}},
            "result": {"score": {"scaled": 1}},
            "timestamp": "2026-01-01T10:00:00+01:00"
        })
    }

    #[test]
    fn ignores_what_immutability_excepts_d_2_3_1() {
        let stored = json!({
            "id": "6D7A4C36-2A7A-4F5A-8C8A-6F7C2D1B0A11",
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:b@x.org"}, {"mbox": "mailto:a@x.org"}]},
            "verb": {"id": "https://v/passed", "display": {"de": "bestanden"}},
            "object": {"id": "https://act/1"},
            "result": {"score": {"scaled": 1.0}},
            "timestamp": "2026-01-01T09:00:00Z",
            "stored": "2026-01-02T00:00:00.000Z",
            "authority": {"mbox": "mailto:lrs@x.org"},
            "version": "1.0.0"
        });
        assert!(same_statement(&base(), &stored));
    }

    #[test]
    fn sees_real_differences_d_2_3_1() {
        let mut other = base();
        other["result"]["score"]["scaled"] = json!(0.5);
        assert!(!same_statement(&base(), &other));
        let mut other = base();
        other["timestamp"] = json!("2026-01-01T10:00:00Z");
        assert!(!same_statement(&base(), &other));
        let mut other = base();
        other["actor"]["member"][0]["mbox"] = json!("mailto:A@x.org");
        assert!(
            !same_statement(&base(), &other),
            "the local part of an e-mail keeps its case"
        );
        let mut other = base();
        other["result"]["duration"] = json!("PT1M");
        assert!(!same_statement(&base(), &other));
        let mut one = base();
        one["result"]["duration"] = json!("PT1.01S");
        let mut other = base();
        other["result"]["duration"] = json!("PT1.02S");
        assert!(!same_statement(&one, &other), "0.01 s is compared");
    }

    #[test]
    fn durations_agree_to_the_hundredth_of_a_second_d_4_6() {
        let with = |duration: &str| {
            let mut statement = base();
            statement["result"]["duration"] = json!(duration);
            statement["object"] = json!({"objectType": "SubStatement",
                "actor": {"mbox": "mailto:a@x.org"}, "verb": {"id": "https://v/x"},
                "object": {"id": "https://act/2"}, "result": {"duration": duration}});
            statement
        };
        for (a, b) in [
            ("PT1S", "PT1.001S"),
            ("PT1S", "PT1.00S"),
            ("PT1.5S", "PT1,509S"),
            ("P1DT2H3M4.129S", "P1DT2H3M4.12S"),
            ("PT0.5S", "PT0.50000001S"),
        ] {
            assert!(same_statement(&with(a), &with(b)), "{a} and {b}");
        }
        for (a, b) in [("PT0.5H", "PT0,50H"), ("P1.5D", "P1,5D"), ("P2W", "P2W")] {
            assert!(same_statement(&with(a), &with(b)), "{a} and {b}");
        }
        for (a, b) in [
            ("PT1S", "PT1.01S"),
            ("PT1.5S", "PT1.49S"),
            ("PT1S", "PT2S"),
            ("PT1.999S", "PT2S"),
            ("PT0.5H", "PT0.51H"),
        ] {
            assert!(!same_statement(&with(a), &with(b)), "{a} and {b}");
        }
        // Not durations (a signed statement's payload is compared before any validation): as
        // text, and never a panic.
        for text in ["PT1.€S", "PT1.1€S", "€", "", ".", "PT.S", "PT1.S"] {
            assert!(same_statement(&with(text), &with(text)), "{text:?}");
            assert!(!same_statement(&with(text), &with("PT1S")), "{text:?}");
        }
    }
}
