//! The GxP profile's rules on statements about GxP activities (regulated.md A4, A6, S4, S6): xAPI
//! lets anyone with write access void any statement without saying why, and accepts evidence
//! recorded long after the fact; a regulated plant needs the reason on record for both, and a
//! learner must not be able to withdraw their own training evidence.
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// Which statements are GxP evidence, and where a void's reason goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GxpProfile {
    /// Statements whose Activity id starts with one of these are GxP evidence.
    pub activity_prefixes: Vec<String>,
    /// The `context.extensions` key a void of GxP evidence must carry its reason under.
    pub reason_extension: String,
    /// GxP evidence whose `timestamp` is older than this when it arrives is a late entry and
    /// must carry a reason under `reason_extension` (regulated.md A6); `None`: not enforced.
    pub late_entry: Option<SignedDuration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GxpRefusal {
    /// No reason given (400).
    #[error(
        "a void of GxP evidence needs a reason: context.extensions[\"{0}\"] with a reason code and text (Annex 11 §9; regulated.md A4)"
    )]
    NoReason(String),
    /// GxP evidence recorded late without a reason (400).
    #[error(
        "a late entry of GxP evidence (its timestamp is more than {hours} h before it reached the LRS) needs a reason: context.extensions[\"{extension}\"] (regulated.md A6)"
    )]
    LateWithoutReason { hours: i64, extension: String },
    /// The learner voiding their own evidence (403).
    #[error(
        "a learner cannot void their own training evidence; QA voids it, with a reason (regulated.md S4)"
    )]
    OwnRecord,
}

impl GxpProfile {
    /// Whether `statement` is GxP evidence under this policy.
    pub fn covers(&self, statement: &Value) -> bool {
        statement
            .pointer("/object/id")
            .and_then(Value::as_str)
            .is_some_and(|id| self.activity_prefixes.iter().any(|p| id.starts_with(p)))
    }

    /// Checks a statement arriving at `now`: GxP evidence with a `timestamp` older than the
    /// late-entry limit must give a reason.
    pub fn check_late(&self, statement: &Value, now: Timestamp) -> Result<(), GxpRefusal> {
        let Some(limit) = self.late_entry else {
            return Ok(());
        };
        if !self.covers(statement) {
            return Ok(());
        }
        let timestamp = statement
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(xapi::rules::parse_timestamp);
        let late =
            timestamp.is_some_and(|t| t.checked_add(limit).is_ok_and(|deadline| deadline < now));
        if !late || self.has_reason(statement) {
            return Ok(());
        }
        Err(GxpRefusal::LateWithoutReason {
            hours: limit.as_hours(),
            extension: self.reason_extension.clone(),
        })
    }

    /// Whether the statement carries a reason (a non-blank string, or an object with a
    /// non-empty member) under the reason extension.
    fn has_reason(&self, statement: &Value) -> bool {
        match statement
            .pointer("/context/extensions")
            .and_then(|e| e.get(&self.reason_extension))
        {
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(Value::Object(o)) => o.values().any(|v| match v {
                Value::String(t) => !t.trim().is_empty(),
                Value::Null => false,
                _ => true,
            }),
            _ => false,
        }
    }

    /// Checks a voiding statement against the statement it voids; `voider` is the IFI key of
    /// the credential's authority (who sent the void).
    pub fn check(
        &self,
        void: &Value,
        target: &Value,
        voider: Option<&str>,
    ) -> Result<(), GxpRefusal> {
        if !self.covers(target) {
            return Ok(());
        }
        let learner = target
            .get("actor")
            .and_then(xapi::agent::Ifi::of)
            .map(|i| i.key());
        let void_actor = void
            .get("actor")
            .and_then(xapi::agent::Ifi::of)
            .map(|i| i.key());
        if learner.is_some() && (learner == void_actor || learner.as_deref() == voider) {
            return Err(GxpRefusal::OwnRecord);
        }
        if self.has_reason(void) {
            Ok(())
        } else {
            Err(GxpRefusal::NoReason(self.reason_extension.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> GxpProfile {
        GxpProfile {
            activity_prefixes: vec!["https://qms.example/".into()],
            reason_extension: "https://qms.example/gxp/ext/reason".into(),
            late_entry: Some(SignedDuration::from_hours(72)),
        }
    }

    fn target() -> Value {
        json!({"actor": {"mbox": "mailto:ann@plant.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
               "object": {"id": "https://qms.example/doc/SOP-123/v7"}})
    }

    fn void(actor: &str, reason: Option<Value>) -> Value {
        let mut v = json!({"actor": {"mbox": format!("mailto:{actor}@plant.example")},
                           "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                           "object": {"objectType": "StatementRef", "id": "9f1f8e3c-0000-4000-8000-000000000000"}});
        if let Some(r) = reason {
            v["context"] = json!({"extensions": {"https://qms.example/gxp/ext/reason": r}});
        }
        v
    }

    #[test]
    fn a4_a_void_of_gxp_evidence_needs_a_reason() {
        let p = policy();
        assert!(matches!(
            p.check(&void("qa", None), &target(), None),
            Err(GxpRefusal::NoReason(_))
        ));
        assert!(matches!(
            p.check(&void("qa", Some(json!(" "))), &target(), None),
            Err(GxpRefusal::NoReason(_))
        ));
        assert!(matches!(
            p.check(&void("qa", Some(json!({"code": null}))), &target(), None),
            Err(GxpRefusal::NoReason(_))
        ));
        assert_eq!(
            p.check(
                &void(
                    "qa",
                    Some(json!({"code": "WRONG_LEARNER", "text": "entered for Bob"}))
                ),
                &target(),
                None
            ),
            Ok(())
        );
    }

    #[test]
    fn s4_the_learner_cannot_void_their_own_evidence() {
        let p = policy();
        let reason = Some(json!("mine"));
        assert_eq!(
            p.check(&void("ann", reason.clone()), &target(), None),
            Err(GxpRefusal::OwnRecord)
        );
        assert_eq!(
            p.check(
                &void("qa", reason),
                &target(),
                Some("mbox:mailto:ann@plant.example")
            ),
            Err(GxpRefusal::OwnRecord),
            "sent with the learner's own credential"
        );
    }

    #[test]
    fn a6_a_late_entry_of_gxp_evidence_needs_a_reason() {
        let p = policy();
        let now: Timestamp = "2026-03-10T09:00:00Z".parse().expect("time");
        let mut late = target();
        late["timestamp"] = json!("2026-03-01T09:00:00Z");
        assert!(matches!(
            p.check_late(&late, now),
            Err(GxpRefusal::LateWithoutReason { hours: 72, .. })
        ));
        late["context"] = json!({"extensions": {"https://qms.example/gxp/ext/reason": {"code": "PAPER_BACKLOG", "text": "entered from the paper record"}}});
        assert_eq!(p.check_late(&late, now), Ok(()));
        let mut recent = target();
        recent["timestamp"] = json!("2026-03-09T09:00:00Z");
        assert_eq!(p.check_late(&recent, now), Ok(()), "within 72 h");
        assert_eq!(
            p.check_late(&target(), now),
            Ok(()),
            "no timestamp: it is now"
        );
        let mut other = late.clone();
        other["object"]["id"] = json!("https://lms.example/game/1");
        other["context"] = json!({});
        assert_eq!(p.check_late(&other, now), Ok(()), "outside the profile");
        let off = GxpProfile {
            late_entry: None,
            ..policy()
        };
        late["context"] = json!({});
        assert_eq!(off.check_late(&late, now), Ok(()));
    }

    #[test]
    fn statements_outside_the_profile_are_voided_as_xapi_allows() {
        let mut other = target();
        other["object"]["id"] = json!("https://lms.example/game/level-1");
        assert_eq!(policy().check(&void("ann", None), &other, None), Ok(()));
    }
}
