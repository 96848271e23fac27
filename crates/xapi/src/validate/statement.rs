//! The statement itself (Data 2.4; 2.0 section 4.2.2): its own properties, the verb, the
//! SubStatement that is validated like it (Data 2.4.4.3), and the attachments (Data 2.4.11).
use serde_json::Value;

use super::object::{ObjectKind, statement_object};
use super::value::{
    Members, Result, array, child, iri, item, language_map, one_of, quoted, string, timestamp,
    uuid, wrong_type,
};
use super::{actor, context, result};
use crate::{VOIDED_VERB, ValidationError, Version, rules};

const STATEMENT_PROPERTIES: [&str; 11] = [
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
];

const SUBSTATEMENT_PROPERTIES: [&str; 8] = [
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
];

/// The properties the LRS owns, which a SubStatement must not have (Data 2.4.4.3).
const NOT_IN_SUBSTATEMENT: [&str; 4] = ["id", "stored", "version", "authority"];

const ATTACHMENT_PROPERTIES: [&str; 7] = [
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
];

/// A statement as received (Data 2.4). `id`, `stored`, `authority` and `version` are the LRS's to
/// set, but a client may send them, and then they must be valid.
pub(super) fn statement(value: &Value, version: Version) -> Result {
    let members = Members::of(value, "", "a Statement")?;
    members.allow(&STATEMENT_PROPERTIES)?;
    members.optional("id", uuid)?;
    members.required("actor", actor::actor)?;
    let verb_id = members.required("verb", verb)?;
    let object = members.required("object", |v, p| statement_object(v, p, version, false))?;
    voiding(&members, verb_id, object)?;
    members.optional("result", result::result)?;
    members.optional("context", |v, p| context::context(v, p, version, object))?;
    members.optional("timestamp", timestamp)?;
    members.optional("stored", timestamp)?;
    members.optional("authority", actor::authority)?;
    members.optional("version", |v, p| statement_version(v, p, version))?;
    members.optional("attachments", attachments)?;
    Ok(())
}

/// A SubStatement (Data 2.4.4.3): validated as a statement, without the properties the LRS owns.
pub(super) fn substatement(value: &Value, path: &str, version: Version) -> Result {
    let members = Members::of(value, path, "a SubStatement")?;
    if let Some(owned) = NOT_IN_SUBSTATEMENT.iter().find(|key| members.has(key)) {
        return Err(ValidationError::new(
            members.at(owned),
            "is not allowed in a SubStatement, which must not have id, stored, version or authority (Data 2.4.4.3)",
        ));
    }
    members.allow(&SUBSTATEMENT_PROPERTIES)?;
    members.required("objectType", |v, p| one_of(v, p, &["SubStatement"]))?;
    members.required("actor", actor::actor)?;
    members.required("verb", verb)?;
    let object = members.required("object", |v, p| statement_object(v, p, version, true))?;
    members.optional("result", result::result)?;
    members.optional("context", |v, p| context::context(v, p, version, object))?;
    // A SubStatement may have a timestamp in the future (Data 2.4.7): only the format is checked,
    // as for any timestamp.
    members.optional("timestamp", timestamp)?;
    members.optional("attachments", attachments)?;
    Ok(())
}

/// A Verb (Data 2.4.3): an `id` IRI and an optional `display` language map. Returns the id.
fn verb<'v>(value: &'v Value, path: &str) -> Result<&'v str> {
    let members = Members::of(value, path, "a Verb")?;
    members.allow(&["id", "display"])?;
    let id = members.required("id", iri)?;
    members.optional("display", language_map)?;
    Ok(id)
}

/// A statement with the voiding verb must have a StatementRef object (Data 2.3.2; 2.0 4.2.5).
/// It is a rule about statements that void: a SubStatement voids nothing, so it does not apply there.
fn voiding(members: &Members, verb_id: &str, object: ObjectKind) -> Result {
    if verb_id != VOIDED_VERB || object == ObjectKind::StatementRef {
        return Ok(());
    }
    let object_path = members.at("object");
    let path = match members.get("object").and_then(|o| o.get("objectType")) {
        Some(_) => child(&object_path, "objectType"),
        None => object_path,
    };
    Err(ValidationError::new(
        path,
        format!(
            "must be \"StatementRef\": a statement with the verb {VOIDED_VERB} voids the statement its object refers to (Data 2.3.2)"
        ),
    ))
}

/// The `version` property (Data 2.4.10): under 1.0.3 any 1.0.x; under 2.0 also any 2.0.x, as a
/// 2.0 LRS keeps the version a statement was accepted with (2.0 section 4.2.4.3).
fn statement_version(value: &Value, path: &str, version: Version) -> Result {
    let text = string(value, path)?;
    let accepted = match version {
        Version::V1_0_3 => Version::parse(text) == Some(Version::V1_0_3),
        Version::V2_0_0 => Version::parse(text).is_some(),
    };
    if accepted {
        return Ok(());
    }
    let expected = match version {
        Version::V1_0_3 => "1.0 or 1.0.x under xAPI 1.0.3",
        Version::V2_0_0 => "1.0, 1.0.x, 2.0 or 2.0.x under xAPI 2.0",
    };
    Err(ValidationError::new(
        path,
        format!(
            "{} is not an accepted statement version: expected {expected} (Data 2.4.10)",
            quoted(text)
        ),
    ))
}

/// The attachments (Data 2.4.11): an array of Attachment objects.
fn attachments(value: &Value, path: &str) -> Result {
    for (index, attachment_value) in array(value, path)?.iter().enumerate() {
        attachment(attachment_value, &item(path, index))?;
    }
    Ok(())
}

/// An Attachment (Data 2.4.11; 2.0 section 4.2.2.6).
fn attachment(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Attachment")?;
    members.allow(&ATTACHMENT_PROPERTIES)?;
    members.required("usageType", iri)?;
    members.required("display", language_map)?;
    members.optional("description", language_map)?;
    members.required("contentType", |value, path| {
        let text = string(value, path)?;
        if rules::is_media_type(text) {
            Ok(())
        } else {
            Err(ValidationError::new(
                path,
                format!(
                    "{} is not an Internet Media Type such as \"text/plain\" (RFC 2046)",
                    quoted(text)
                ),
            ))
        }
    })?;
    members.required("length", octets)?;
    members.required("sha2", |value, path| {
        let text = string(value, path)?;
        if rules::is_sha2_hex(text) {
            Ok(())
        } else {
            Err(ValidationError::new(
                path,
                format!(
                    "{} is not a hex SHA-2 digest (64 hex digits for SHA-256)",
                    quoted(text)
                ),
            ))
        }
    })?;
    members.optional("fileUrl", iri)?;
    Ok(())
}

/// An attachment `length`: a whole, non-negative number of octets.
fn octets(value: &Value, path: &str) -> Result {
    let whole = value.as_u64().is_some()
        || value
            .as_f64()
            .is_some_and(|n| n >= 0.0 && n.fract() == 0.0 && value.is_f64());
    if whole {
        return Ok(());
    }
    match value {
        Value::Number(n) => Err(ValidationError::new(
            path,
            format!("must be a whole number of octets, 0 or more; found {n}"),
        )),
        other => Err(wrong_type(path, "an integer", other)),
    }
}
