//! The index terms a statement is found by in a query (Communication 2.1.3). A query is the
//! intersection of the terms of its filters, so every filter is an index lookup.
//!
//! A term is a short prefix, `:`, and a key: `a:` agent as actor or object, `A:` agent anywhere
//! (`related_agents`), `v:` verb, `o:` activity as object, `O:` activity anywhere
//! (`related_activities`), `r:` registration, `w:` authority (who stored it).
use serde_json::Value;

use crate::agent::{self, Ifi};

pub fn agent_term(ifi: &Ifi, related: bool) -> String {
    format!("{}:{}", if related { 'A' } else { 'a' }, ifi.key())
}

pub fn verb_term(iri: &str) -> String {
    format!("v:{iri}")
}

pub fn activity_term(iri: &str, related: bool) -> String {
    format!("{}:{iri}", if related { 'O' } else { 'o' })
}

pub fn registration_term(registration: &uuid::Uuid) -> String {
    format!("r:{registration}")
}

/// The statements whose `authority` is this agent (the `statements/read/mine` scope).
pub fn authority_term(ifi: &Ifi) -> String {
    format!("w:{}", ifi.key())
}

/// Whether a statement that targets another (StatementRef) inherits this term of its target. The
/// authority is not inherited: a statement is "mine" only when I stored it.
pub fn is_inherited(term: &str) -> bool {
    !term.starts_with("w:")
}

/// Every term of a complete statement, without duplicates.
pub fn terms(statement: &Value) -> Vec<String> {
    let mut terms = Terms::default();
    terms.actor_and_object(statement, true);
    if let Some(verb) = statement.pointer("/verb/id").and_then(Value::as_str) {
        terms.push(verb_term(verb));
    }
    if let Some(registration) = statement
        .pointer("/context/registration")
        .and_then(Value::as_str)
        .and_then(crate::rules::parse_uuid)
    {
        terms.push(registration_term(&registration));
    }
    if let Some(authority) = statement.get("authority") {
        terms.agent(authority, false);
        for one in std::iter::once(authority).chain(agent::members(authority)) {
            if let Some(ifi) = Ifi::of(one) {
                terms.push(authority_term(&ifi));
            }
        }
    }
    terms.0.sort();
    terms.0.dedup();
    terms.0
}

#[derive(Default)]
struct Terms(Vec<String>);

impl Terms {
    fn push(&mut self, term: String) {
        self.0.push(term);
    }

    /// The terms of the actor, object and context; `top` is false inside a SubStatement, whose
    /// parts count only for the related_* filters.
    fn actor_and_object(&mut self, statement: &Value, top: bool) {
        if let Some(actor) = statement.get("actor") {
            self.agent(actor, top);
        }
        if let Some(object) = statement.get("object") {
            match object.get("objectType").and_then(Value::as_str) {
                Some("Agent") | Some("Group") => self.agent(object, top),
                Some("SubStatement") => {
                    if top {
                        self.actor_and_object(object, false);
                    }
                }
                Some("StatementRef") => {}
                _ => {
                    if let Some(id) = object.get("id").and_then(Value::as_str) {
                        if top {
                            self.push(activity_term(id, false));
                        }
                        self.push(activity_term(id, true));
                    }
                }
            }
        }
        if let Some(context) = statement.get("context") {
            self.context(context);
        }
    }

    fn context(&mut self, context: &Value) {
        for key in ["instructor", "team"] {
            if let Some(agent) = context.get(key) {
                self.agent(agent, false);
            }
        }
        for (list, key) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            for entry in context
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(agent) = entry.get(key) {
                    self.agent(agent, false);
                }
            }
        }
        if let Some(activities) = context.get("contextActivities").and_then(Value::as_object) {
            for value in activities.values() {
                let list = match value {
                    Value::Array(list) => list.as_slice(),
                    single => std::slice::from_ref(single),
                };
                for activity in list {
                    if let Some(id) = activity.get("id").and_then(Value::as_str) {
                        self.push(activity_term(id, true));
                    }
                }
            }
        }
    }

    /// An Agent or Group, and the members of a Group: as `a:` (when `direct`) and always as `A:`.
    fn agent(&mut self, value: &Value, direct: bool) {
        for one in std::iter::once(value).chain(agent::members(value)) {
            if let Some(ifi) = Ifi::of(one) {
                if direct {
                    self.push(agent_term(&ifi, false));
                }
                self.push(agent_term(&ifi, true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actor_object_and_context_terms_c_2_1_3() {
        let s = json!({
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@x.org"}]},
            "verb": {"id": "https://v/passed"},
            "object": {"id": "https://act/1"},
            "context": {
                "registration": "6D7A4C36-2A7A-4F5A-8C8A-6F7C2D1B0A11",
                "instructor": {"mbox": "mailto:i@x.org"},
                "contextActivities": {"parent": {"id": "https://act/p"}, "grouping": [{"id": "https://act/g"}]}
            },
            "authority": {"mbox": "mailto:auth@x.org"}
        });
        let t = terms(&s);
        for expected in [
            "a:mbox:mailto:a@x.org",
            "A:mbox:mailto:a@x.org",
            "A:mbox:mailto:i@x.org",
            "A:mbox:mailto:auth@x.org",
            "v:https://v/passed",
            "o:https://act/1",
            "O:https://act/1",
            "O:https://act/p",
            "O:https://act/g",
            "r:6d7a4c36-2a7a-4f5a-8c8a-6f7c2d1b0a11",
        ] {
            assert!(
                t.contains(&expected.to_string()),
                "missing {expected} in {t:?}"
            );
        }
        assert!(
            !t.contains(&"a:mbox:mailto:i@x.org".to_string()),
            "instructor is related only"
        );
        assert!(
            !t.contains(&"o:https://act/p".to_string()),
            "parent is related only"
        );
    }

    #[test]
    fn sub_statement_parts_are_related_only_c_2_1_3() {
        let s = json!({
            "actor": {"mbox": "mailto:a@x.org"},
            "verb": {"id": "https://v/planned"},
            "object": {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:b@x.org"},
                "verb": {"id": "https://v/attend"},
                "object": {"id": "https://act/s"}
            }
        });
        let t = terms(&s);
        assert!(t.contains(&"A:mbox:mailto:b@x.org".to_string()));
        assert!(!t.contains(&"a:mbox:mailto:b@x.org".to_string()));
        assert!(t.contains(&"O:https://act/s".to_string()));
        assert!(!t.contains(&"o:https://act/s".to_string()));
        assert!(!t.contains(&"v:https://v/attend".to_string()));
    }
}
