//! Rules of the document resources (State, Activity Profile, Agent Profile; Communication 2.2,
//! 3.1): ETags and the JSON merge of POST.
use serde_json::Value;
use sha1::{Digest, Sha1};

/// The ETag of a document: the lowercase hex SHA-1 of its bytes (the 1.0.3 rule, Communication
/// 3.1; 2.0 allows any strong ETag, and this one is strong and stable for equal content).
pub fn etag(content: &[u8]) -> String {
    hex::encode(Sha1::digest(content))
}

/// True for a Content-Type that is JSON (`application/json`, with or without parameters).
pub fn is_json_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error(
        "the stored document is not a JSON object, so a POST cannot merge into it (send PUT to replace it)"
    )]
    StoredNotJsonObject,
    #[error(
        "a POST to an existing document must be a JSON object with Content-Type application/json"
    )]
    PostedNotJsonObject,
}

/// The POST merge (Communication 2.2 "JSON Procedure with Requirements"): both documents must be
/// JSON objects; the posted top-level properties replace the stored ones, the others stay.
pub fn merge(
    stored_type: &str,
    stored: &[u8],
    posted_type: &str,
    posted: &[u8],
) -> Result<Vec<u8>, MergeError> {
    let object = |content_type: &str, bytes: &[u8]| {
        if !is_json_type(content_type) {
            return None;
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    };
    let mut merged = object(stored_type, stored).ok_or(MergeError::StoredNotJsonObject)?;
    let posted = object(posted_type, posted).ok_or(MergeError::PostedNotJsonObject)?;
    for (key, value) in posted {
        merged.insert(key, value);
    }
    Ok(Value::Object(merged).to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_the_sha1_of_the_content_c_3_1() {
        assert_eq!(etag(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn merge_overwrites_top_level_keys_only_c_2_2() {
        let merged = merge(
            "application/json",
            br#"{"a": 1, "b": {"x": 1}}"#,
            "application/json; charset=utf-8",
            br#"{"b": {"y": 2}, "c": 3}"#,
        )
        .expect("merge");
        let merged: Value = serde_json::from_slice(&merged).expect("json");
        assert_eq!(merged, serde_json::json!({"a": 1, "b": {"y": 2}, "c": 3}));
    }

    #[test]
    fn merge_refuses_anything_but_two_json_objects_c_2_2() {
        let json = "application/json";
        assert_eq!(
            merge("text/plain", b"{}", json, b"{}"),
            Err(MergeError::StoredNotJsonObject)
        );
        assert_eq!(
            merge(json, b"[1]", json, b"{}"),
            Err(MergeError::StoredNotJsonObject)
        );
        assert_eq!(
            merge(json, b"{}", json, b"not json"),
            Err(MergeError::PostedNotJsonObject)
        );
        assert_eq!(
            merge(json, b"{}", "text/plain", b"{}"),
            Err(MergeError::PostedNotJsonObject)
        );
        assert_eq!(
            merge(json, b"{}", json, b"\"s\""),
            Err(MergeError::PostedNotJsonObject)
        );
    }
}
