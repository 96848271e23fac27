//! The context of a statement (Data 2.4.6; 2.0 section 4.2.2.5), with the context agents and
//! groups that 2.0 added.
use serde_json::Value;

use super::actor;
use super::object::{ObjectKind, activity, statement_ref};
use super::value::{
    Members, Result, array, extensions, iri, item, language_tag, one_of, string, uuid, wrong_type,
};
use crate::{ValidationError, Version};

const CONTEXT_PROPERTIES_1_0: [&str; 9] = [
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
];

/// New in 2.0 (section 4.2.2.5). Under 1.0.3 they are properties the spec does not allow.
const CONTEXT_PROPERTIES_NEW_IN_2_0: [&str; 2] = ["contextAgents", "contextGroups"];

const CONTEXT_ACTIVITY_KINDS: [&str; 4] = ["parent", "grouping", "category", "other"];

/// A Context. `object` is what the statement's object is: `revision` and `platform` describe an
/// Activity and are allowed only when the object is one (Data 2.4.6).
pub(super) fn context(value: &Value, path: &str, version: Version, object: ObjectKind) -> Result {
    let members = Members::of(value, path, "a Context")?;
    if version == Version::V1_0_3 {
        if let Some(key) = CONTEXT_PROPERTIES_NEW_IN_2_0
            .iter()
            .find(|key| members.has(key))
        {
            return Err(ValidationError::new(
                members.at(key),
                "is not a property of a Context in xAPI 1.0.3: context agents and groups are new in 2.0 (send X-Experience-API-Version: 2.0.0 to use them)",
            ));
        }
        members.allow(&CONTEXT_PROPERTIES_1_0)?;
    } else {
        let all: Vec<&str> = CONTEXT_PROPERTIES_1_0
            .into_iter()
            .chain(CONTEXT_PROPERTIES_NEW_IN_2_0)
            .collect();
        members.allow(&all)?;
    }
    members.optional("registration", uuid)?;
    members.optional("instructor", actor::actor)?;
    members.optional("team", actor::group_only)?;
    members.optional("contextActivities", context_activities)?;
    members.optional("contextAgents", context_agents)?;
    members.optional("contextGroups", context_groups)?;
    for key in ["revision", "platform"] {
        members.optional(key, string)?;
        if members.has(key) && object != ObjectKind::Activity {
            return Err(ValidationError::new(
                members.at(key),
                "is allowed only when the statement's object is an Activity (Data 2.4.6)",
            ));
        }
    }
    members.optional("language", language_tag)?;
    members.optional("statement", statement_ref)?;
    members.optional("extensions", extensions)?;
    Ok(())
}

/// `contextActivities` (Data 2.4.6.2): keys parent, grouping, category, other; each value an
/// Activity or an array of Activities. An empty object is a map with no entries, which the spec
/// does not forbid and which tools send (`"contextActivities": {}` in xAPI recipes and loggers).
fn context_activities(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "a contextActivities object")?;
    members.allow(&CONTEXT_ACTIVITY_KINDS)?;
    for kind in CONTEXT_ACTIVITY_KINDS {
        members.optional(kind, activity_or_activities)?;
    }
    Ok(())
}

fn activity_or_activities(value: &Value, path: &str) -> Result {
    match value {
        Value::Object(_) => activity(value, path),
        Value::Array(list) => {
            for (index, one) in list.iter().enumerate() {
                activity(one, &item(path, index))?;
            }
            Ok(())
        }
        other => Err(wrong_type(
            path,
            "an Activity or an array of Activities",
            other,
        )),
    }
}

/// `contextAgents` (2.0 section 4.2.2.5): `{objectType: "contextAgent", agent, relevantTypes?}`.
fn context_agents(value: &Value, path: &str) -> Result {
    for (index, entry) in array(value, path)?.iter().enumerate() {
        let members = Members::of(entry, &item(path, index), "a contextAgent object")?;
        members.allow(&["objectType", "agent", "relevantTypes"])?;
        members.required("objectType", |v, p| one_of(v, p, &["contextAgent"]))?;
        members.required("agent", actor::agent_only)?;
        members.optional("relevantTypes", relevant_types)?;
    }
    Ok(())
}

/// `contextGroups` (2.0 section 4.2.2.5): `{objectType: "contextGroup", group, relevantTypes?}`.
fn context_groups(value: &Value, path: &str) -> Result {
    for (index, entry) in array(value, path)?.iter().enumerate() {
        let members = Members::of(entry, &item(path, index), "a contextGroup object")?;
        members.allow(&["objectType", "group", "relevantTypes"])?;
        members.required("objectType", |v, p| one_of(v, p, &["contextGroup"]))?;
        members.required("group", actor::group_only)?;
        members.optional("relevantTypes", relevant_types)?;
    }
    Ok(())
}

/// `relevantTypes`: when present, one or more IRIs (2.0 section 4.2.2.5).
fn relevant_types(value: &Value, path: &str) -> Result {
    let list = array(value, path)?;
    if list.is_empty() {
        return Err(ValidationError::new(
            path,
            "is empty: relevantTypes lists one or more IRIs, or is left out",
        ));
    }
    for (index, relevant_type) in list.iter().enumerate() {
        iri(relevant_type, &item(path, index))?;
    }
    Ok(())
}
