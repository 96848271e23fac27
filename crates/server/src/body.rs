//! JSON bodies of Attest's own APIs (compliance, admin): strict JSON (a property given twice is a
//! 400, as in xAPI, Data 2.2) in which no string holds U+0000.
use serde_json::Value;

use crate::error::ApiError;

/// Parses a request body as strict JSON, refusing U+0000 anywhere in it: no text column keeps
/// it (PostgreSQL refuses it, which was a 500) and no identifier, name or reason needs it.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    let value = xapi::json::parse_strict(body)
        .map_err(|e| ApiError::bad_request(xapi::json::refusal(&e)))?;
    if let Some(at) = nul_at(&value, "") {
        return Err(ApiError::bad_request(format!(
            "{at} contains the character U+0000, which no value may hold"
        )));
    }
    Ok(value)
}

/// Parses a body as [`json_body`] into `T`.
pub fn json_body_as<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_value(json_body(body)?)
        .map_err(|e| ApiError::bad_request(format!("the body is not the JSON this needs: {e}")))
}

/// Where in `value` (a JSON pointer below `at`) a string or a property name holds U+0000.
fn nul_at(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(pointer(at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, &format!("{at}/{i}"))),
        Value::Object(map) => map.iter().find_map(|(name, item)| {
            let here = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
            if name.contains('\0') {
                Some(format!("a property name at {}", pointer(at)))
            } else {
                nul_at(item, &here)
            }
        }),
        _ => None,
    }
}

fn pointer(at: &str) -> String {
    if at.is_empty() {
        "the body".into()
    } else {
        format!("the body at {at}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_u0000_in_any_string_and_says_where() {
        let refused = |body: &str| json_body(body.as_bytes()).err().map(|e| e.message);
        assert!(json_body(br#"{"reason": "a\\u0000 is text", "list": ["x", {"y": 1}]}"#).is_ok());
        for (body, at) in [
            (r#""\u0000""#, "the body contains"),
            (r#"{"reason": "a\u0000b"}"#, "the body at /reason contains"),
            (
                r#"{"facts": [{"id": "x"}, {"id": "a\u0000"}]}"#,
                "the body at /facts/1/id contains",
            ),
            (
                r#"{"a/b": {"c\u0000": 1}}"#,
                "a property name at the body at /a~1b contains",
            ),
        ] {
            let message = refused(body).unwrap_or_else(|| panic!("{body} was accepted"));
            assert!(message.contains(at), "{body}: {message}");
        }
        assert!(refused(r#"{"a": 1, "a": 2}"#).is_some_and(|m| m.contains("not valid JSON")));
    }
}
