//! The GxP profile's rules on voiding (regulated.md A4, S4): xAPI lets anyone with write access
//! void any statement without saying why; a regulated plant needs the reason on record, and a
//! learner must not be able to withdraw their own training evidence.
use serde_json::Value;

/// Which statements are GxP evidence, and where a void's reason goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidPolicy {
    /// Statements whose Activity id starts with one of these are GxP evidence.
    pub activity_prefixes: Vec<String>,
    /// The `context.extensions` key a void of GxP evidence must carry its reason under.
    pub reason_extension: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoidRefusal {
    /// No reason given (400).
    #[error(
        "a void of GxP evidence needs a reason: context.extensions[\"{0}\"] with a reason code and text (Annex 11 §9; regulated.md A4)"
    )]
    NoReason(String),
    /// The learner voiding their own evidence (403).
    #[error(
        "a learner cannot void their own training evidence; QA voids it, with a reason (regulated.md S4)"
    )]
    OwnRecord,
}

impl VoidPolicy {
    /// Whether `statement` is GxP evidence under this policy.
    pub fn covers(&self, statement: &Value) -> bool {
        statement
            .pointer("/object/id")
            .and_then(Value::as_str)
            .is_some_and(|id| self.activity_prefixes.iter().any(|p| id.starts_with(p)))
    }

    /// Checks a voiding statement against the statement it voids; `voider` is the IFI key of
    /// the credential's authority (who sent the void).
    pub fn check(
        &self,
        void: &Value,
        target: &Value,
        voider: Option<&str>,
    ) -> Result<(), VoidRefusal> {
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
            return Err(VoidRefusal::OwnRecord);
        }
        let reason = void
            .pointer("/context/extensions")
            .and_then(|e| e.get(&self.reason_extension));
        let given = match reason {
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(Value::Object(o)) => o.values().any(|v| match v {
                Value::String(t) => !t.trim().is_empty(),
                Value::Null => false,
                _ => true,
            }),
            _ => false,
        };
        if given {
            Ok(())
        } else {
            Err(VoidRefusal::NoReason(self.reason_extension.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> VoidPolicy {
        VoidPolicy {
            activity_prefixes: vec!["https://qms.example/".into()],
            reason_extension: "https://qms.example/gxp/ext/reason".into(),
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
            Err(VoidRefusal::NoReason(_))
        ));
        assert!(matches!(
            p.check(&void("qa", Some(json!(" "))), &target(), None),
            Err(VoidRefusal::NoReason(_))
        ));
        assert!(matches!(
            p.check(&void("qa", Some(json!({"code": null}))), &target(), None),
            Err(VoidRefusal::NoReason(_))
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
            Err(VoidRefusal::OwnRecord)
        );
        assert_eq!(
            p.check(
                &void("qa", reason),
                &target(),
                Some("mbox:mailto:ann@plant.example")
            ),
            Err(VoidRefusal::OwnRecord),
            "sent with the learner's own credential"
        );
    }

    #[test]
    fn statements_outside_the_profile_are_voided_as_xapi_allows() {
        let mut other = target();
        other["object"]["id"] = json!("https://lms.example/game/level-1");
        assert_eq!(policy().check(&void("ann", None), &other, None), Ok(()));
    }
}
