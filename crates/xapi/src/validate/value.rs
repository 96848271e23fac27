//! Typed access to the JSON being validated. Every check knows the JSON path of the value it
//! looks at, so that an error can say where the problem is (`context.contextActivities.parent[0].id`).
//!
//! A `null` is just another wrong type here: no property of a statement may be null, except the
//! values inside `extensions`, which are never looked at (Data 2.2, 4.1).
use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ValidationError, rules};

pub(super) type Result<T = ()> = std::result::Result<T, ValidationError>;

/// The path of the member `key` of the object at `path`.
pub(super) fn child(path: &str, key: &str) -> String {
    let mut path = path.to_string();
    rules::push_key(&mut path, key);
    path
}

/// The path of the item `index` of the array at `path`.
pub(super) fn item(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// A JSON value's type, in words.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn wrong_type(path: &str, expected: &str, found: &Value) -> ValidationError {
    let hint = if found.is_null() {
        " (null is allowed only inside extensions)"
    } else {
        ""
    };
    ValidationError::new(
        path,
        format!("must be {expected}, not {}{hint}", kind(found)),
    )
}

/// A string as it is quoted in an error message: JSON-escaped, and cut short when long.
pub(super) fn quoted(s: &str) -> String {
    const LIMIT: usize = 80;
    if s.chars().count() <= LIMIT {
        return Value::String(s.to_string()).to_string();
    }
    let start: String = s.chars().take(LIMIT).collect();
    format!("{}…", Value::String(start))
}

/// The members of a JSON object that must be one xAPI object kind (`what`, such as "an Agent").
pub(super) struct Members<'a> {
    map: &'a Map<String, Value>,
    path: String,
    what: &'static str,
}

impl<'a> Members<'a> {
    /// The members of `value`, which must be a JSON object.
    pub(super) fn of(value: &'a Value, path: &str, what: &'static str) -> Result<Members<'a>> {
        match value {
            Value::Object(map) => Ok(Members {
                map,
                path: path.to_string(),
                what,
            }),
            other => Err(wrong_type(path, &format!("{what} (a JSON object)"), other)),
        }
    }

    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// The path of the member `key`.
    pub(super) fn at(&self, key: &str) -> String {
        child(&self.path, key)
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Refuses the first member (in document order) that is not one of `allowed`. Names are
    /// case-sensitive (Data 2.2): `Actor` is not `actor`, and the message says so.
    pub(super) fn allow(&self, allowed: &[&str]) -> Result {
        let Some(unknown) = self.map.keys().find(|key| !allowed.contains(&key.as_str())) else {
            return Ok(());
        };
        let mut message = format!("is not a property of {}", self.what);
        if let Some(meant) = allowed
            .iter()
            .find(|name| name.eq_ignore_ascii_case(unknown))
        {
            message.push_str(&format!(
                " (property names are case-sensitive: did you mean \"{meant}\"?)"
            ));
        } else {
            message.push_str(&format!("; allowed: {}", allowed.join(", ")));
        }
        Err(ValidationError::new(self.at(unknown), message))
    }

    /// Checks the member `key` with `check` when it is present.
    pub(super) fn optional<T>(
        &self,
        key: &str,
        check: impl FnOnce(&'a Value, &str) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.map.get(key) {
            Some(value) => check(value, &self.at(key)).map(Some),
            None => Ok(None),
        }
    }

    /// Checks the member `key` with `check`; it must be present.
    pub(super) fn required<T>(
        &self,
        key: &str,
        check: impl FnOnce(&'a Value, &str) -> Result<T>,
    ) -> Result<T> {
        match self.map.get(key) {
            Some(value) => check(value, &self.at(key)),
            None => Err(ValidationError::new(
                self.at(key),
                format!("is missing: {} requires it", self.what),
            )),
        }
    }
}

pub(super) fn string<'v>(value: &'v Value, path: &str) -> Result<&'v str> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(path, "a string", value))
}

pub(super) fn boolean(value: &Value, path: &str) -> Result<bool> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(path, "true or false", value))
}

/// A JSON number. A string holding digits is not a number (Data 2.2).
pub(super) fn number(value: &Value, path: &str) -> Result<f64> {
    value
        .as_f64()
        .ok_or_else(|| wrong_type(path, "a number", value))
}

pub(super) fn array<'v>(value: &'v Value, path: &str) -> Result<&'v Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| wrong_type(path, "an array", value))
}

/// A string equal to one of `allowed`, in the same case (Data 2.2: enumerated values are
/// case-sensitive, so `agent` is not `Agent`).
pub(super) fn one_of<'v>(value: &'v Value, path: &str, allowed: &[&str]) -> Result<&'v str> {
    let text = string(value, path)?;
    if allowed.contains(&text) {
        return Ok(text);
    }
    let expected = match allowed {
        [only] => format!("\"{only}\""),
        _ => format!("one of \"{}\"", allowed.join("\", \"")),
    };
    let case = if allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) {
        " (values are case-sensitive)"
    } else {
        ""
    };
    Err(ValidationError::new(
        path,
        format!("must be {expected}{case}, not {}", quoted(text)),
    ))
}

/// An absolute IRI (Data 4.3). IRL-typed properties (`moreInfo`, `homePage`, `fileUrl`) are held to
/// the same syntax: whether an IRL resolves is not a syntax question.
pub(super) fn iri<'v>(value: &'v Value, path: &str) -> Result<&'v str> {
    let text = string(value, path)?;
    if rules::is_iri(text) {
        Ok(text)
    } else {
        Err(ValidationError::new(
            path,
            format!(
                "{} is not an absolute IRI (a scheme such as \"https:\", then no spaces or characters IRIs forbid)",
                quoted(text)
            ),
        ))
    }
}

/// A UUID in standard string form (Data 4.4).
pub(super) fn uuid(value: &Value, path: &str) -> Result<Uuid> {
    let text = string(value, path)?;
    rules::parse_uuid(text).ok_or_else(|| {
        ValidationError::new(
            path,
            format!(
                "{} is not a UUID in standard form (8-4-4-4-12 hex digits)",
                quoted(text)
            ),
        )
    })
}

/// An ISO 8601 timestamp (Data 4.5; see [`rules::parse_timestamp`]).
pub(super) fn timestamp(value: &Value, path: &str) -> Result<Timestamp> {
    let text = string(value, path)?;
    rules::parse_timestamp(text).ok_or_else(|| {
        ValidationError::new(
            path,
            format!(
                "{} is not an ISO 8601 timestamp such as \"2024-05-01T13:05:09.123Z\" (offsets -00, -0000 and -00:00 are not accepted)",
                quoted(text)
            ),
        )
    })
}

/// An RFC 5646 language tag (Data 2.4.6 `language`).
pub(super) fn language_tag<'v>(value: &'v Value, path: &str) -> Result<&'v str> {
    let text = string(value, path)?;
    if rules::is_language_tag(text) {
        Ok(text)
    } else {
        Err(not_a_language_tag(path, text))
    }
}

fn not_a_language_tag(path: &str, text: &str) -> ValidationError {
    ValidationError::new(
        path,
        format!(
            "{} is not a well-formed RFC 5646 language tag (such as \"en\", \"en-US\", \"zh-Hant\")",
            quoted(text)
        ),
    )
}

/// A language map (Data 4.2): at least one entry, each an RFC 5646 tag and a string. An empty map
/// says nothing and is refused, as the ADL conformance suite expects ("A Language Map ... has at
/// least 1 entry").
pub(super) fn language_map(value: &Value, path: &str) -> Result {
    let Value::Object(map) = value else {
        return Err(wrong_type(
            path,
            "a language map (an object from language tags to strings)",
            value,
        ));
    };
    if map.is_empty() {
        return Err(ValidationError::new(
            path,
            "is an empty language map: give at least one language tag and string, or leave the property out",
        ));
    }
    for (tag, text) in map {
        let at = child(path, tag);
        if !rules::is_language_tag(tag) {
            return Err(not_a_language_tag(&at, tag));
        }
        string(text, &at)?;
    }
    Ok(())
}

/// An extensions map (Data 4.1): keys are absolute IRIs; values are anything, null included, and
/// are never looked at ("An LRS MUST NOT reject a Statement based on the values of the extensions map").
pub(super) fn extensions(value: &Value, path: &str) -> Result {
    let Value::Object(map) = value else {
        return Err(wrong_type(
            path,
            "an extensions object (a map from IRIs to any values)",
            value,
        ));
    };
    match map.keys().find(|key| !rules::is_iri(key)) {
        Some(key) => Err(ValidationError::new(
            child(path, key),
            format!(
                "extension keys must be absolute IRIs; {} is not one",
                quoted(key)
            ),
        )),
        None => Ok(()),
    }
}
