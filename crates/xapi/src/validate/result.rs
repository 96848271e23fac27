//! The result of a statement (Data 2.4.5; 2.0 section 4.2.2.4).
use serde_json::Value;

use super::value::{Members, Result, boolean, extensions, number, quoted, string};
use crate::{ValidationError, rules};

/// A Result: score, success, completion, response, duration, extensions.
pub(super) fn result(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "a Result")?;
    members.allow(&[
        "score",
        "success",
        "completion",
        "response",
        "duration",
        "extensions",
    ])?;
    members.optional("score", score)?;
    members.optional("success", boolean)?;
    members.optional("completion", boolean)?;
    members.optional("response", string)?;
    members.optional("duration", duration)?;
    members.optional("extensions", extensions)?;
    Ok(())
}

/// A Score (Data 2.4.5.1): numbers, `scaled` within [-1, 1], `min` below `max`, `raw` within
/// [`min`, `max`] where they are given.
fn score(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "a Score")?;
    members.allow(&["scaled", "raw", "min", "max"])?;
    let scaled = members.optional("scaled", number)?;
    let raw = members.optional("raw", number)?;
    let min = members.optional("min", number)?;
    let max = members.optional("max", number)?;
    // Numbers are quoted as they were sent, not as they were read into an f64.
    let shown = |key: &str| members.get(key).map(Value::to_string).unwrap_or_default();
    let error = |key: &str, rule: &str| {
        let message = format!("must be {rule}; found {}", shown(key));
        Err(ValidationError::new(members.at(key), message))
    };
    if scaled.is_some_and(|scaled| !(-1.0..=1.0).contains(&scaled)) {
        return error("scaled", "between -1 and 1 inclusive");
    }
    if min.zip(max).is_some_and(|(min, max)| min >= max) {
        return error("min", &format!("less than max ({})", shown("max")));
    }
    if raw.zip(min).is_some_and(|(raw, min)| raw < min) {
        return error("raw", &format!("at least min ({})", shown("min")));
    }
    if raw.zip(max).is_some_and(|(raw, max)| raw > max) {
        return error("raw", &format!("at most max ({})", shown("max")));
    }
    Ok(())
}

/// An ISO 8601 duration (Data 4.6; see [`rules::is_duration`]).
fn duration(value: &Value, path: &str) -> Result {
    let text = string(value, path)?;
    if rules::is_duration(text) {
        Ok(())
    } else {
        Err(ValidationError::new(
            path,
            format!(
                "{} is not an ISO 8601 duration such as \"PT1H30M5.25S\" or \"P4W\" (ISO 8601:2004 4.4.3.2)",
                quoted(text)
            ),
        ))
    }
}
