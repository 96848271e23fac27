//! The object of a statement (Data 2.4.4; 2.0 section 4.2.2.3): an Activity, an Agent or Group,
//! a Statement Reference or a SubStatement. Activities also appear in `contextActivities`.
use std::collections::HashMap;

use serde_json::Value;

use super::value::{
    Members, Result, array, extensions, iri, item, language_map, one_of, string, uuid,
};
use super::{actor, statement};
use crate::{ValidationError, Version};

/// What a statement's object turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectKind {
    Activity,
    Agent,
    Group,
    StatementRef,
    SubStatement,
}

const OBJECT_TYPES: [&str; 5] = ["Activity", "Agent", "Group", "StatementRef", "SubStatement"];

const INTERACTION_TYPES: [&str; 10] = [
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];

/// The interaction component lists (Data 2.4.4.1, "Interaction Components").
const COMPONENT_LISTS: [&str; 5] = ["choices", "scale", "source", "target", "steps"];

const DEFINITION_PROPERTIES: [&str; 12] = [
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
];

/// The object of a statement, or of a SubStatement when `in_substatement` (which then cannot be
/// another SubStatement, Data 2.4.4.3). A missing `objectType` means Activity (Data 2.4.4).
pub(super) fn statement_object(
    value: &Value,
    path: &str,
    version: Version,
    in_substatement: bool,
) -> Result<ObjectKind> {
    let members = Members::of(
        value,
        path,
        "an Activity, Agent, Group, StatementRef or SubStatement",
    )?;
    let object_type = members
        .optional("objectType", |v, p| one_of(v, p, &OBJECT_TYPES))?
        .unwrap_or("Activity");
    // An Agent or Group as the object always has an objectType (Data 2.4.4.2): it is how the
    // object is told apart from an Activity, so nothing more is needed to enforce that rule.
    match object_type {
        "Agent" => actor::actor(value, path).map(|()| ObjectKind::Agent),
        "Group" => actor::actor(value, path).map(|()| ObjectKind::Group),
        "StatementRef" => statement_ref(value, path).map(|()| ObjectKind::StatementRef),
        "SubStatement" if in_substatement => Err(ValidationError::new(
            members.at("objectType"),
            "a SubStatement cannot have a SubStatement as its object (Data 2.4.4.3)",
        )),
        "SubStatement" => {
            statement::substatement(value, path, version).map(|()| ObjectKind::SubStatement)
        }
        _ => activity(value, path).map(|()| ObjectKind::Activity),
    }
}

/// An Activity (Data 2.4.4.1): an `id` IRI and an optional definition.
pub(super) fn activity(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Activity")?;
    // First, as it says what the object is meant to be (an Agent among contextActivities).
    members.optional("objectType", |v, p| one_of(v, p, &["Activity"]))?;
    members.allow(&["objectType", "id", "definition"])?;
    members.required("id", iri)?;
    members.optional("definition", definition)?;
    Ok(())
}

/// A Statement Reference (Data 2.4.4.3): `objectType` "StatementRef" and a statement `id`.
pub(super) fn statement_ref(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "a Statement Reference")?;
    members.allow(&["objectType", "id"])?;
    members.required("objectType", |v, p| one_of(v, p, &["StatementRef"]))?;
    members.required("id", uuid)?;
    Ok(())
}

/// An Activity Definition (Data 2.4.4.1), interaction properties included.
fn definition(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Activity Definition")?;
    members.allow(&DEFINITION_PROPERTIES)?;
    members.optional("name", language_map)?;
    members.optional("description", language_map)?;
    members.optional("type", iri)?;
    members.optional("moreInfo", iri)?;
    interaction(&members)?;
    members.optional("extensions", extensions)?;
    Ok(())
}

/// The interaction properties of a definition (Data 2.4.4.1, "Interaction Activities"): an
/// `interactionType` from the list, required as soon as any other interaction property is used;
/// `correctResponsesPattern` an array of strings; a component list only with the interaction types
/// it belongs to.
fn interaction(members: &Members) -> Result {
    let interaction_type =
        members.optional("interactionType", |v, p| one_of(v, p, &INTERACTION_TYPES))?;
    let Some(interaction_type) = interaction_type else {
        let used = ["correctResponsesPattern"]
            .into_iter()
            .chain(COMPONENT_LISTS)
            .find(|key| members.has(key));
        return match used {
            Some(key) => Err(ValidationError::new(
                members.at(key),
                "is an interaction property: the definition must also have an interactionType (Data 2.4.4.1)",
            )),
            None => Ok(()),
        };
    };
    members.optional("correctResponsesPattern", response_patterns)?;
    let allowed = component_lists_of(interaction_type);
    for list in COMPONENT_LISTS {
        if members.has(list) && !allowed.contains(&list) {
            return Err(ValidationError::new(
                members.at(list),
                format!(
                    "is not allowed with interactionType \"{interaction_type}\" (choices go with choice and sequencing, scale with likert, source and target with matching, steps with performance; Data 2.4.4.1)"
                ),
            ));
        }
        members.optional(list, components)?;
    }
    Ok(())
}

fn component_lists_of(interaction_type: &str) -> &'static [&'static str] {
    match interaction_type {
        "choice" | "sequencing" => &["choices"],
        "likert" => &["scale"],
        "matching" => &["source", "target"],
        "performance" => &["steps"],
        _ => &[],
    }
}

/// `correctResponsesPattern`: an array of strings, possibly empty ("no correct answer").
fn response_patterns(value: &Value, path: &str) -> Result {
    for (index, pattern) in array(value, path)?.iter().enumerate() {
        string(pattern, &item(path, index))?;
    }
    Ok(())
}

/// An interaction component list: `{id, description?}` objects with distinct ids (Data 2.4.4.1).
fn components(value: &Value, path: &str) -> Result {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, component) in array(value, path)?.iter().enumerate() {
        let members = Members::of(component, &item(path, index), "an interaction component")?;
        members.allow(&["id", "description"])?;
        let id = members.required("id", string)?;
        members.optional("description", language_map)?;
        if let Some(first) = seen.insert(id, index) {
            return Err(ValidationError::new(
                members.at("id"),
                format!(
                    "repeats the id of {}: ids within an interaction component list must be distinct (Data 2.4.4.1)",
                    item(path, first)
                ),
            ));
        }
    }
    Ok(())
}
