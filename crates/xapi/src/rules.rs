//! The formatted-string rules of xAPI (Data 4.x): IRIs, UUIDs, timestamps, durations, language tags,
//! mailto IRIs. PLACEHOLDER: being written (see validate.rs).

/// An absolute IRI: a scheme, a colon, and a non-empty rest, with no characters IRIs forbid.
pub fn is_iri(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
}

/// A UUID in the standard hyphenated string form (Data 4.4), any case.
pub fn parse_uuid(s: &str) -> Option<uuid::Uuid> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s).ok()
}

/// An xAPI timestamp (Data 4.5): ISO 8601 date and time with a zone.
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}
