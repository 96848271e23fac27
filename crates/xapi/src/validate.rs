//! Strict statement validation for xAPI 1.0.3 (Data 2.2–2.6, 4.x) and 2.0 (IEEE 9274.1.1
//! section 4.2).
//!
//! Everything the specification does not allow is refused, in both versions: unknown properties at
//! every level (1.0.3 SHOULD*, 2.0 shall), property names and enumerated values in the wrong case,
//! nulls outside extension values, wrong JSON types, and malformed IRIs, UUIDs, timestamps,
//! durations, language tags and mailto IRIs (see [`crate::rules`]). The one difference between the
//! versions is the 2.0 context agents and groups, and the `version` values accepted.
//!
//! The first error found is returned, with the JSON path of the offending value. The checks go
//! through an object in a fixed order: its `objectType` where that decides what the object is, then
//! unknown properties, then the properties in the order of the spec's tables.
//!
//! A property used twice in one object cannot be seen in a parsed `Value`: the request body is
//! parsed with [`crate::json::parse_strict`], which refuses it.
use serde_json::Value;

use crate::{ValidationError, Version};

mod actor;
mod context;
mod object;
mod result;
mod statement;
#[cfg(test)]
mod tests;
mod value;

/// Checks a statement (as received, before the LRS fills anything in) against every rule of the
/// version it is sent under. The LRS-owned properties `id`, `stored`, `authority` and `version`
/// may be present and are then checked too.
pub fn validate_statement(statement: &Value, version: Version) -> Result<(), ValidationError> {
    statement::statement(statement, version)
}

/// Checks an Agent or Group object (Data 2.4.2) given as a parameter (for example `agent=`), where
/// a missing `objectType` means Agent. The rules are the same in 1.0.3 and 2.0.
pub fn validate_agent(agent: &Value, version: Version) -> Result<(), ValidationError> {
    let _same_in_both_versions = version;
    actor::actor(agent, "")
}
