//! The document resources' values: which document, what is in it, and the conditions of a write.
use jiff::Timestamp;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    State,
    ActivityProfile,
    AgentProfile,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::State => "state",
            DocumentKind::ActivityProfile => "activity_profile",
            DocumentKind::AgentProfile => "agent_profile",
        }
    }
}

/// A set of documents: a kind and the parts of its key other than the document id. Parts a
/// kind does not use are empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentScope {
    pub kind: DocumentKind,
    pub activity: String,
    /// The agent's IFI key (`xapi::agent::Ifi::key`).
    pub agent: String,
    /// A State document's registration. Without one, a document is the one stored without a
    /// registration, while the set (its ids, a delete of all) covers every registration: "all
    /// state data for this context (Activity + Agent [+ registration if specified])" (C 2.3).
    pub registration: Option<String>,
}

impl DocumentScope {
    /// The registration part of a document's key: empty when none was given.
    pub fn key_registration(&self) -> &str {
        self.registration.as_deref().unwrap_or("")
    }
}

/// One document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentKey {
    pub scope: DocumentScope,
    pub id: String,
}

impl DocumentKey {
    /// The record id the ledger uses for this document: a JSON array of its key parts.
    pub fn ledger_resource(&self) -> String {
        let s = &self.scope;
        json!([
            s.kind.as_str(),
            s.activity,
            s.agent,
            s.key_registration(),
            self.id
        ])
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: String,
    pub content: Vec<u8>,
    pub etag: String,
    pub updated: Timestamp,
}

/// The HTTP preconditions of a write (Communication 3.1): `If-Match` with ETags or `*`,
/// `If-None-Match: *`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// `Some(list)`: the stored ETag must be one of these (`*` matches any existing document).
    pub if_match: Option<Vec<String>>,
    /// `Some(list)`: the stored ETag must be none of these (`*`: no document may exist).
    pub if_none_match: Option<Vec<String>>,
    /// When true, writing over an existing document without either header is a conflict (the
    /// profile resources' PUT rule).
    pub required_to_overwrite: bool,
}

impl Preconditions {
    /// Checks the preconditions against the stored ETag (`None`: no document).
    pub(crate) fn check(&self, stored: Option<&str>) -> Result<(), crate::StoreError> {
        use crate::StoreError::{PreconditionFailed, PreconditionRequired};
        if let Some(list) = &self.if_match {
            let matches = stored.is_some_and(|etag| list.iter().any(|m| m == "*" || m == etag));
            if !matches {
                return Err(PreconditionFailed(match stored {
                    Some(_) => "If-Match does not match the document's current ETag".into(),
                    None => "If-Match was given but the document does not exist".into(),
                }));
            }
        }
        if let Some(list) = &self.if_none_match
            && let Some(etag) = stored
            && list.iter().any(|m| m == "*" || m == etag)
        {
            return Err(PreconditionFailed(
                "If-None-Match: the document already exists".into(),
            ));
        }
        if self.required_to_overwrite
            && stored.is_some()
            && self.if_match.is_none()
            && self.if_none_match.is_none()
        {
            return Err(PreconditionRequired);
        }
        Ok(())
    }
}

/// A PUT or POST of one document.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    pub key: DocumentKey,
    pub content_type: String,
    pub content: Vec<u8>,
    /// POST: merge JSON objects into an existing document instead of replacing it.
    pub merge: bool,
    pub preconditions: Preconditions,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn preconditions_follow_communication_3_1() {
        let none = Preconditions::default();
        assert!(none.check(None).is_ok() && none.check(Some("e1")).is_ok());
        let if_match = Preconditions {
            if_match: list(&["e1", "e2"]),
            ..Default::default()
        };
        assert!(if_match.check(Some("e2")).is_ok());
        assert!(if_match.check(Some("e3")).is_err());
        assert!(if_match.check(None).is_err());
        let any = Preconditions {
            if_match: list(&["*"]),
            ..Default::default()
        };
        assert!(any.check(Some("e9")).is_ok() && any.check(None).is_err());
        let create_only = Preconditions {
            if_none_match: list(&["*"]),
            ..Default::default()
        };
        assert!(create_only.check(None).is_ok() && create_only.check(Some("e1")).is_err());
        let profile_put = Preconditions {
            required_to_overwrite: true,
            ..Default::default()
        };
        assert!(profile_put.check(None).is_ok());
        assert!(matches!(
            profile_put.check(Some("e1")),
            Err(crate::StoreError::PreconditionRequired)
        ));
    }
}
