//! The GxP profile's rules on statements about GxP activities (regulated.md A4, A6, S4, S6): xAPI
//! lets anyone with write access void any statement without saying why, and accepts evidence
//! recorded long after the fact; a regulated plant needs the reason on record for both, and a
//! learner must not be able to withdraw their own training evidence.
use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::model::{CompletionRule, Interval, MasterData, Role};

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

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// GxP evidence from a Group, or from an Agent no person is known by (400; regulated.md A7).
    #[error(
        "the actor of GxP evidence must be an Agent whose identifier names a known person (regulated.md A7)"
    )]
    UnknownActor,
    /// GxP evidence about an activity that is no registered procedure version or check (400;
    /// regulated.md A10).
    #[error(
        "{0} is under the GxP profile but is no procedure version's or effectiveness check's activity (regulated.md A10)"
    )]
    Unregistered(String),
    /// `context.revision` that is not the version of the activity (400; A10).
    #[error(
        "context.revision '{given}' does not match the version '{version}' of this activity (regulated.md A10)"
    )]
    WrongRevision { given: String, version: String },
    /// `result.success` that contradicts the score against the mastery in force (400; A10).
    #[error(
        "result.success is {success} but result.score.scaled {scaled} is {} the mastery score {mastery} in force at the attempt (regulated.md A10)",
        if *success { "below" } else { "at or above" }
    )]
    SuccessContradictsScore {
        success: bool,
        scaled: f64,
        mastery: f64,
    },
    /// GxP evidence dated in the future (400; A6).
    #[error(
        "the timestamp of GxP evidence is more than {minutes} minutes ahead of the LRS clock (regulated.md A6)"
    )]
    Future { minutes: i64 },
    /// GxP evidence of another person sent with a person's own credential (403; regulated.md
    /// A7).
    #[error("this credential is {0}'s own: it writes only {0}'s GxP evidence (regulated.md A7)")]
    NotOwn(String),
    /// A void of GxP evidence sent with a credential that belongs to no person (403; regulated.md
    /// B2, A7): who voids must be known from the credential, not from what the void says.
    #[error(
        "a void of GxP evidence is sent with the own credential of the QA person who voids it (one whose authority is recorded as their person_identifier; regulated.md B2, A7)"
    )]
    NotPersonal,
    /// A void of GxP evidence by someone who does not hold the QA role (403; regulated.md B2).
    #[error(
        "only QA voids GxP evidence: the void is sent with the own credential of a person holding the QA role (regulated.md B2)"
    )]
    NotQa,
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

/// How far ahead of the LRS clock GxP evidence may be dated (clock drift of devices).
pub const FUTURE_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

/// The GxP profile with what its checks on arriving evidence need from the master data as known
/// when it was read: who is who, which activities are registered, and the rules.
#[derive(Debug, Clone)]
pub struct GxpRules {
    pub profile: GxpProfile,
    /// IFI key → person.
    people: HashMap<String, String>,
    /// Activity IRI → (version label, rule id) for procedure versions; (None, None) for
    /// effectiveness checks.
    activities: HashMap<String, (Option<String>, Option<String>)>,
    rules: HashMap<String, Vec<CompletionRule>>,
    /// person → the roles they hold (valid when).
    roles: HashMap<String, Vec<(Role, Interval)>>,
}

impl GxpRules {
    /// The profile known at `now` and the master data its checks need; `None` without a profile.
    pub fn new(master: &MasterData, now: Timestamp) -> Option<GxpRules> {
        let profile = master
            .gxp_profiles
            .iter()
            .find(|(_, recorded)| recorded.contains(now))?
            .0
            .clone();
        let people = master
            .identifiers
            .iter()
            .filter(|id| id.recorded.contains(now))
            .map(|id| (id.ifi.clone(), id.person.clone()))
            .collect();
        let mut activities: HashMap<String, (Option<String>, Option<String>)> = master
            .requirements
            .iter()
            .filter(|r| r.recorded.contains(now))
            .filter_map(|r| r.effectiveness.as_ref())
            .map(|e| (e.activity_iri.clone(), (None, None)))
            .collect();
        for p in &master.procedures {
            for v in p.versions.iter().filter(|v| v.recorded.contains(now)) {
                activities.insert(
                    v.activity_iri.clone(),
                    (Some(v.version.clone()), Some(v.rule.clone())),
                );
            }
        }
        let mut rules: HashMap<String, Vec<CompletionRule>> = HashMap::new();
        for r in master.rules.iter().filter(|r| r.recorded.contains(now)) {
            rules.entry(r.id.clone()).or_default().push(r.clone());
        }
        for list in rules.values_mut() {
            list.sort_by_key(|r| (r.effective_from, r.version));
        }
        let mut roles: HashMap<String, Vec<(Role, Interval)>> = HashMap::new();
        for g in master.roles.iter().filter(|g| g.recorded.contains(now)) {
            roles
                .entry(g.person.clone())
                .or_default()
                .push((g.role, g.valid));
        }
        Some(GxpRules {
            profile,
            people,
            activities,
            rules,
            roles,
        })
    }

    /// The person a credential belongs to: the person with a `person_identifier` that is the
    /// credential's authority (an account on this LRS named by the credential's key).
    fn owner(&self, sender: Option<&str>) -> Option<&String> {
        self.people.get(sender?)
    }

    /// The profile's checks on a void arriving at `now` of `target` (regulated.md A4, B2, S4): a
    /// reason, not the learner, and sent with the own credential of a person holding the QA role.
    pub fn check_void(
        &self,
        void: &Value,
        target: &Value,
        sender: Option<&str>,
        now: Timestamp,
    ) -> Result<(), GxpRefusal> {
        self.profile.check(void, target, sender)?;
        if !self.profile.covers(target) {
            return Ok(());
        }
        let person_of = |statement: &Value| {
            statement
                .get("actor")
                .filter(|a| !xapi::agent::is_group(a))
                .and_then(xapi::agent::Ifi::of)
                .and_then(|ifi| self.people.get(&ifi.key()))
        };
        // The learner under any of their identifiers, or with their own credential.
        let learner = person_of(target);
        if learner.is_some() && (learner == self.owner(sender) || learner == person_of(void)) {
            return Err(GxpRefusal::OwnRecord);
        }
        let Some(voider) = self.owner(sender) else {
            return Err(GxpRefusal::NotPersonal);
        };
        let qa = Some(voider)
            .and_then(|person| self.roles.get(person))
            .is_some_and(|roles| {
                roles
                    .iter()
                    .any(|(role, valid)| *role == Role::Qa && valid.contains(now))
            });
        if qa { Ok(()) } else { Err(GxpRefusal::NotQa) }
    }

    /// The profile's checks on a statement (not a void) arriving at `now` (regulated.md A6, A7,
    /// A10): late entries need a reason; GxP evidence comes from a known person, is about a
    /// registered activity, names that activity's version if it names one, is not dated ahead
    /// of the LRS clock, and its `success` agrees with its score under the rule in force.
    /// `sender` is the IFI key of the sending credential's authority: a credential that belongs
    /// to a person writes only that person's evidence (A7).
    pub fn check_statement(
        &self,
        statement: &Value,
        now: Timestamp,
        sender: Option<&str>,
    ) -> Result<(), GxpRefusal> {
        self.profile.check_late(statement, now)?;
        if !self.profile.covers(statement) {
            return Ok(());
        }
        let actor = statement.get("actor");
        let person = actor
            .filter(|a| !xapi::agent::is_group(a))
            .and_then(xapi::agent::Ifi::of)
            .and_then(|ifi| self.people.get(&ifi.key()));
        let Some(person) = person else {
            return Err(GxpRefusal::UnknownActor);
        };
        if let Some(owner) = self.owner(sender)
            && owner != person
        {
            return Err(GxpRefusal::NotOwn(owner.clone()));
        }
        let iri = statement
            .pointer("/object/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some((version, rule)) = self.activities.get(iri) else {
            return Err(GxpRefusal::Unregistered(iri.to_string()));
        };
        let timestamp = statement
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(xapi::rules::parse_timestamp)
            .unwrap_or(now);
        if now
            .checked_add(FUTURE_TOLERANCE)
            .is_ok_and(|limit| timestamp > limit)
        {
            return Err(GxpRefusal::Future {
                minutes: FUTURE_TOLERANCE.as_mins(),
            });
        }
        if let (Some(given), Some(version)) = (
            statement
                .pointer("/context/revision")
                .and_then(Value::as_str),
            version,
        ) && given != version
        {
            return Err(GxpRefusal::WrongRevision {
                given: given.to_string(),
                version: version.clone(),
            });
        }
        let mastery = rule
            .as_ref()
            .and_then(|id| self.rules.get(id))
            .and_then(|list| list.iter().rfind(|r| r.effective_from <= timestamp))
            .and_then(|r| r.mastery);
        if let (Some(mastery), Some(success), Some(scaled)) = (
            mastery,
            statement
                .pointer("/result/success")
                .and_then(Value::as_bool),
            statement
                .pointer("/result/score/scaled")
                .and_then(Value::as_f64),
        ) && success != (scaled >= mastery)
        {
            return Err(GxpRefusal::SuccessContradictsScore {
                success,
                scaled,
                mastery,
            });
        }
        Ok(())
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

    fn rules() -> GxpRules {
        rules_with(Vec::new())
    }

    fn rules_with(extra: Vec<Value>) -> GxpRules {
        let facts: Vec<(crate::Fact, Timestamp)> = [
            json!({"kind": "gxp_profile", "activity_prefixes": ["https://qms.example/"],
                   "reason_extension": "https://qms.example/gxp/ext/reason"}),
            json!({"kind": "person_identifier", "person": "ann", "agent": {"mbox": "mailto:ann@plant.example"}}),
            json!({"kind": "rule", "id": "quiz", "version": 1, "move_on": "PASSED", "mastery": 0.8,
                   "effective_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7",
                   "activity_iri": "https://qms.example/doc/SOP-123/v7", "effective_from": "2026-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "quiz"}),
            json!({"kind": "requirement", "id": "R", "person": "ann", "procedure": "SOP-123",
                   "effectiveness": {"activity_iri": "https://qms.example/check/SOP-123", "after_days": 30, "mastery": 0.8},
                   "valid_from": "2020-01-01T00:00:00Z"}),
        ]
        .into_iter()
        .chain(extra)
        .map(|f| {
            (
                crate::Fact::parse(&f).expect("fact"),
                "2025-01-01T00:00:00Z".parse().expect("time"),
            )
        })
        .collect();
        GxpRules::new(&crate::master(&facts), now()).expect("a profile")
    }

    fn now() -> Timestamp {
        "2026-03-10T09:00:00Z".parse().expect("time")
    }

    fn passed(scaled: f64, success: bool) -> Value {
        let mut s = target();
        s["timestamp"] = json!("2026-03-10T08:00:00Z");
        s["result"] = json!({"score": {"scaled": scaled}, "success": success});
        s
    }

    #[test]
    fn a7_a10_gxp_evidence_is_from_a_known_person_about_a_registered_version() {
        let r = rules();
        assert_eq!(r.check_statement(&passed(0.9, true), now(), None), Ok(()));
        assert_eq!(r.check_statement(&passed(0.7, false), now(), None), Ok(()));
        let mut unknown = passed(0.9, true);
        unknown["actor"] = json!({"mbox": "mailto:eve@plant.example"});
        assert_eq!(
            r.check_statement(&unknown, now(), None),
            Err(GxpRefusal::UnknownActor)
        );
        let mut group = passed(0.9, true);
        group["actor"] = json!({"objectType": "Group", "mbox": "mailto:ann@plant.example"});
        assert_eq!(
            r.check_statement(&group, now(), None),
            Err(GxpRefusal::UnknownActor)
        );
        let mut unregistered = passed(0.9, true);
        unregistered["object"]["id"] = json!("https://qms.example/doc/SOP-999/v1");
        assert!(matches!(
            r.check_statement(&unregistered, now(), None),
            Err(GxpRefusal::Unregistered(_))
        ));
        let mut check = passed(0.9, true);
        check["object"]["id"] = json!("https://qms.example/check/SOP-123");
        assert_eq!(
            r.check_statement(&check, now(), None),
            Ok(()),
            "an effectiveness check's activity is registered"
        );
        let mut revision = passed(0.9, true);
        revision["context"] = json!({"revision": "6"});
        assert!(matches!(
            r.check_statement(&revision, now(), None),
            Err(GxpRefusal::WrongRevision { .. })
        ));
        revision["context"] = json!({"revision": "7"});
        assert_eq!(r.check_statement(&revision, now(), None), Ok(()));
        assert!(matches!(
            r.check_statement(&passed(0.75, true), now(), None),
            Err(GxpRefusal::SuccessContradictsScore { success: true, .. })
        ));
        assert!(matches!(
            r.check_statement(&passed(0.85, false), now(), None),
            Err(GxpRefusal::SuccessContradictsScore { success: false, .. })
        ));
        let mut future = passed(0.9, true);
        future["timestamp"] = json!("2026-03-10T10:00:00Z");
        assert!(matches!(
            r.check_statement(&future, now(), None),
            Err(GxpRefusal::Future { .. })
        ));
        let mut outside = unknown.clone();
        outside["object"]["id"] = json!("https://lms.example/game/1");
        assert_eq!(
            r.check_statement(&outside, now(), None),
            Ok(()),
            "outside the profile"
        );
    }

    /// regulated.md A7: a credential whose authority is a person's identifier is that person's
    /// own: it writes only their GxP evidence, and its voids are theirs (QA or not).
    #[test]
    fn a7_a_persons_own_credential_writes_only_their_evidence() {
        let r = rules_with(vec![
            json!({"kind": "person_identifier", "person": "ann",
                   "agent": {"account": {"homePage": "https://lrs.example", "name": "ann-key"}}}),
            json!({"kind": "person_identifier", "person": "quinn", "agent": {"mbox": "mailto:quinn@plant.example"}}),
            json!({"kind": "person_identifier", "person": "quinn",
                   "agent": {"account": {"homePage": "https://lrs.example", "name": "quinn-key"}}}),
            json!({"kind": "role", "person": "quinn", "role": "QA", "valid_from": "2020-01-01T00:00:00Z"}),
        ]);
        let ann_key = "account:https://lrs.example\nann-key";
        let quinn_key = "account:https://lrs.example\nquinn-key";
        assert_eq!(
            r.check_statement(&passed(0.9, true), now(), Some(ann_key)),
            Ok(()),
            "her own"
        );
        let mut bobs = passed(0.9, true);
        bobs["actor"] = json!({"mbox": "mailto:quinn@plant.example"});
        assert_eq!(
            r.check_statement(&bobs, now(), Some(ann_key)),
            Err(GxpRefusal::NotOwn("ann".into()))
        );
        assert_eq!(
            r.check_statement(&bobs, now(), Some("account:https://lrs.example\nlms")),
            Ok(()),
            "a system client's credential writes anyone's"
        );
        let reason = Some(json!("wrong learner"));
        // Ann's credential naming Quinn as the void's actor is still Ann voiding.
        assert_eq!(
            r.check_void(
                &void("quinn", reason.clone()),
                &target(),
                Some(ann_key),
                now()
            ),
            Err(GxpRefusal::OwnRecord)
        );
        let mut not_qa = target();
        not_qa["actor"] = json!({"mbox": "mailto:bob@plant.example"});
        assert_eq!(
            r.check_void(
                &void("quinn", reason.clone()),
                &not_qa,
                Some(ann_key),
                now()
            ),
            Err(GxpRefusal::NotQa),
            "Ann's credential voids as Ann, whoever the actor says"
        );
        assert_eq!(
            r.check_void(
                &void("quinn", reason.clone()),
                &not_qa,
                Some("account:https://lrs.example\nqa-tool"),
                now()
            ),
            Err(GxpRefusal::NotPersonal),
            "a credential of no person: whatever the void's actor says"
        );
        assert_eq!(
            r.check_void(&void("quinn", reason), &not_qa, Some(quinn_key), now()),
            Ok(()),
            "Quinn's own credential"
        );
    }
}
