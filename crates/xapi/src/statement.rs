//! What the LRS does to a statement it accepts: validate it, then fill in the properties it owns
//! (`id`, `authority`, `version`, and at commit time `stored` and a missing `timestamp`).
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{VOIDED_VERB, ValidationError, Version, index, rules};

/// A validated statement, completed with everything but the values fixed at commit time.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The statement id, given or generated.
    pub id: Uuid,
    /// The statement as it will be stored (`stored` is added by [`Accepted::stamp`]).
    pub statement: Value,
    /// The statement this one targets when its object is a StatementRef.
    pub target: Option<Uuid>,
    /// True when this statement voids its target (Data 2.3.2).
    pub voiding: bool,
    /// The index terms this statement is found by (see [`index::terms`]).
    pub terms: Vec<String>,
}

/// Validates a statement received under `version` and completes it: a generated id where none was
/// given, the `authority` of the credential that sent it (always overwritten: a GxP record's
/// authority must come from the credential, Data 2.4.9), and the default `version` (Data 2.4.10).
/// Under 2.0 a timestamp in another zone is converted to UTC (2.0 section 4.2.7).
pub fn accept(
    mut statement: Value,
    version: Version,
    authority: &Value,
) -> Result<Accepted, ValidationError> {
    if version == Version::V2_0_0 {
        drop_null_timestamp(&mut statement);
    }
    crate::validate_statement(&statement, version)?;
    context_activities_as_arrays(&mut statement);
    let object = statement
        .as_object_mut()
        .ok_or_else(|| ValidationError::new("", "a statement must be a JSON object"))?;
    let id = match object.get("id").and_then(Value::as_str) {
        Some(id) => {
            rules::parse_uuid(id).ok_or_else(|| ValidationError::new("id", "not a UUID"))?
        }
        None => {
            let id = Uuid::new_v4();
            object.insert("id".into(), json!(id.to_string()));
            id
        }
    };
    object.insert("authority".into(), authority.clone());
    if !object.contains_key("version") {
        let default = match version {
            Version::V1_0_3 => "1.0.0",
            Version::V2_0_0 => "2.0.0",
        };
        object.insert("version".into(), json!(default));
    }
    if version == Version::V2_0_0 {
        timestamp_to_utc(object, "timestamp")?;
        if let Some(Value::Object(sub)) = object.get_mut("object")
            && sub.get("objectType").and_then(Value::as_str) == Some("SubStatement")
        {
            timestamp_to_utc(sub, "object.timestamp")?;
        }
    }
    let target = statement_ref_target(&statement);
    let voiding = statement.pointer("/verb/id").and_then(Value::as_str) == Some(VOIDED_VERB);
    let terms = index::terms(&statement);
    Ok(Accepted {
        id,
        statement,
        target,
        voiding,
        terms,
    })
}

impl Accepted {
    /// Sets `stored`, and `timestamp` where the client left it out (Data 2.4.7; 2.0 shall).
    pub fn stamp(&mut self, stored: Timestamp) {
        if let Some(object) = self.statement.as_object_mut() {
            let stored = format_stored(stored);
            object
                .entry("timestamp")
                .or_insert_with(|| json!(stored.clone()));
            object.insert("stored".into(), json!(stored));
        }
    }
}

/// `stored` in the form this LRS writes it: UTC, microsecond precision (Data 2.4.8 and 4.5 ask
/// for at least milliseconds). The statements of one write share a `stored` later than that of
/// every write before, so `since`/`until` and the compliance layer's "known at" place each write
/// on one side of a time, never in a millisecond shared with later writes.
pub fn format_stored(stored: Timestamp) -> String {
    stored.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// 2.0 converts timestamps in other zones to UTC (4.2.7), a SubStatement's too; a timestamp
/// already in UTC is kept as written, so a statement exported and imported again stays byte for
/// byte the same.
fn timestamp_to_utc(object: &mut Map<String, Value>, path: &str) -> Result<(), ValidationError> {
    if let Some(Value::String(timestamp)) = object.get_mut("timestamp")
        && !timestamp.ends_with('Z')
    {
        let instant = rules::parse_timestamp(timestamp)
            .ok_or_else(|| ValidationError::new(path, "not an ISO 8601 timestamp"))?;
        *timestamp = instant.to_string();
    }
    Ok(())
}

/// Under 2.0 a `"timestamp": null` means "not provided": the LRS then sets it to `stored`
/// (2.0 section 4.2.4.2). The 2.0 ADL suite sends exactly that and expects the statement accepted
/// (4.1.6.1, "shall set the timestamp property to the value of the stored property"). Every other
/// null is still refused.
fn drop_null_timestamp(statement: &mut Value) {
    if let Some(object) = statement.as_object_mut()
        && object.get("timestamp").is_some_and(Value::is_null)
    {
        object.remove("timestamp");
    }
}

/// A single Activity under a contextActivities key becomes an array of one: "The LRS MUST return
/// single Activity Objects as an array of length one containing the same Activity" (Data 2.4.6.2).
/// Done once, on the way in, so every format and every comparison sees the same shape. The
/// context of a SubStatement object is a context too.
fn context_activities_as_arrays(statement: &mut Value) {
    let Some(object) = statement.as_object_mut() else {
        return;
    };
    if let Some(sub) = object.get_mut("object")
        && sub.get("objectType").and_then(Value::as_str) == Some("SubStatement")
    {
        context_activities_as_arrays(sub);
    }
    let Some(Value::Object(activities)) = object
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
    else {
        return;
    };
    for value in activities.values_mut() {
        if value.is_object() {
            let single = value.take();
            *value = Value::Array(vec![single]);
        }
    }
}

/// The id of the statement a StatementRef object points at.
fn statement_ref_target(statement: &Value) -> Option<Uuid> {
    let object = statement.get("object")?;
    if object.get("objectType").and_then(Value::as_str) != Some("StatementRef") {
        return None;
    }
    rules::parse_uuid(object.get("id")?.as_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> Value {
        json!({"objectType": "Agent", "name": "lms", "account": {"homePage": "https://attest.example", "name": "lms"}})
    }

    fn minimal() -> Value {
        json!({
            "actor": {"mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://example.com/sop/42/v3"}
        })
    }

    #[test]
    fn fills_id_authority_and_version_d_2_4_1_d_2_4_9_d_2_4_10() {
        let accepted = accept(minimal(), Version::V1_0_3, &authority()).expect("valid");
        let s = &accepted.statement;
        assert_eq!(s["id"], json!(accepted.id.to_string()));
        assert_eq!(s["authority"], authority());
        assert_eq!(s["version"], json!("1.0.0"));
        let accepted = accept(minimal(), Version::V2_0_0, &authority()).expect("valid");
        assert_eq!(accepted.statement["version"], json!("2.0.0"));
    }

    #[test]
    fn overwrites_a_forged_authority_d_2_4_9() {
        let mut s = minimal();
        s["authority"] = json!({"mbox": "mailto:forger@example.com"});
        let accepted = accept(s, Version::V1_0_3, &authority()).expect("valid");
        assert_eq!(accepted.statement["authority"], authority());
    }

    #[test]
    fn stamp_sets_stored_and_a_missing_timestamp_d_2_4_7() {
        let mut accepted = accept(minimal(), Version::V2_0_0, &authority()).expect("valid");
        let stored: Timestamp = "2026-01-02T03:04:05.678901Z".parse().expect("ts");
        accepted.stamp(stored);
        assert_eq!(
            accepted.statement["stored"],
            json!("2026-01-02T03:04:05.678901Z"),
            "microseconds (at least milliseconds: D 4.5)"
        );
        assert_eq!(
            accepted.statement["timestamp"],
            json!("2026-01-02T03:04:05.678901Z")
        );

        let mut s = minimal();
        s["timestamp"] = json!("2025-05-05T10:00:00+02:00");
        let mut accepted = accept(s, Version::V2_0_0, &authority()).expect("valid");
        accepted.stamp(stored);
        assert_eq!(
            accepted.statement["timestamp"],
            json!("2025-05-05T08:00:00Z"),
            "2.0 converts to UTC"
        );
    }

    #[test]
    fn v2_converts_a_substatement_timestamp_to_utc_2_0_4_2_7() {
        let mut s = minimal();
        s["timestamp"] = json!("2020-01-01T05:00:00+05:00");
        s["object"] = json!({"objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@example.com"}, "verb": {"id": "http://example.com/v"},
            "object": {"id": "http://example.com/a"}, "timestamp": "2020-01-01T05:00:00+05:00"});
        let accepted = accept(s.clone(), Version::V2_0_0, &authority()).expect("valid");
        assert_eq!(
            accepted.statement["timestamp"],
            json!("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            accepted.statement["object"]["timestamp"],
            json!("2020-01-01T00:00:00Z")
        );
        let accepted = accept(s, Version::V1_0_3, &authority()).expect("valid");
        assert_eq!(
            accepted.statement["object"]["timestamp"],
            json!("2020-01-01T05:00:00+05:00"),
            "1.0.3 keeps what was sent"
        );
    }

    #[test]
    fn v2_keeps_a_utc_timestamp_as_written_2_0_4_2_7() {
        for written in [
            "2026-01-02T03:04:05.240Z",
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.123456Z",
        ] {
            let mut s = minimal();
            s["timestamp"] = json!(written);
            let accepted = accept(s, Version::V2_0_0, &authority()).expect("valid");
            assert_eq!(accepted.statement["timestamp"], json!(written));
        }
    }

    #[test]
    fn recognises_voiding_statements_d_2_3_2() {
        let mut s = minimal();
        s["verb"] = json!({"id": VOIDED_VERB});
        s["object"] =
            json!({"objectType": "StatementRef", "id": "9e1a4c36-2a7a-4f5a-8c8a-6f7c2d1b0a11"});
        let accepted = accept(s, Version::V1_0_3, &authority()).expect("valid");
        assert!(accepted.voiding);
        assert_eq!(
            accepted.target.map(|t| t.to_string()),
            Some("9e1a4c36-2a7a-4f5a-8c8a-6f7c2d1b0a11".to_string())
        );
    }
}
