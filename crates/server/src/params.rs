//! Query parameters, strictly: a name the resource does not know, a known name in another case,
//! or a name given twice is a 400 (Communication 3.2).
use std::collections::HashMap;

use crate::error::ApiError;

pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses a query string, allowing only `allowed` names.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        let mut params = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if !allowed.contains(&name.as_str()) {
                let hint = allowed
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(&name))
                    .map(|known| {
                        format!(" (parameter names are case-sensitive: did you mean '{known}'?)")
                    })
                    .unwrap_or_default();
                return Err(ApiError::bad_request(format!(
                    "unknown parameter '{name}' for this request{hint}; allowed: {}",
                    allowed.join(", ")
                )));
            }
            // No text column keeps U+0000 (PostgreSQL refuses it), and no id needs it.
            if value.contains('\0') {
                return Err(ApiError::bad_request(format!(
                    "parameter '{name}' contains the character U+0000, which no value may hold"
                )));
            }
            if params.insert(name.clone(), value).is_some() {
                return Err(ApiError::bad_request(format!(
                    "parameter '{name}' is given more than once"
                )));
            }
        }
        Ok(Params(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// A `true`/`false` parameter (Data 2.2: booleans are the JSON words, nothing else).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid_parameter(
                name,
                format!("'{other}' is not true or false"),
            )),
        }
    }
}
