//! Statement validation. PLACEHOLDER: being written.
use serde_json::Value;

use crate::{ValidationError, Version};

/// Checks a statement (as received, before the LRS fills anything in) against every rule of the
/// version it is sent under.
pub fn validate_statement(statement: &Value, version: Version) -> Result<(), ValidationError> {
    let _ = version;
    if !statement.is_object() {
        return Err(ValidationError::new("", "a statement must be a JSON object"));
    }
    Ok(())
}

/// Checks an Agent or Group object (Data 2.4.2) given as a parameter (for example `agent=`).
pub fn validate_agent(agent: &Value, version: Version) -> Result<(), ValidationError> {
    let _ = version;
    if !agent.is_object() {
        return Err(ValidationError::new("", "an agent must be a JSON object"));
    }
    Ok(())
}
