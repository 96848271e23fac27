//! Master data as it arrives from HR and QMS feeds: facts, each recorded at a server time. A later
//! fact with the same key corrects an earlier one from its own recording time on, so what was
//! known before the correction stays answerable (bitemporal: regulated.md 2.1).
use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{
    CompletionRule, Effectiveness, Evidence, GracePolicy, Interval, MasterData, Meaning,
    Membership, MoveOn, Period, Person, PersonIdentifier, Procedure, ProcedureVersion,
    QualityEvent, QualityEventKind, Recurrence, Requirement, SIGNATURE_EXTENSION, Scope, Signature,
    Site, TrainingImpact, Verb,
};
use crate::{Engine, VOIDED};

/// One fact of master data, as the API takes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
// A fact is parsed, checked and turned into master data once; boxing a requirement's fields to
// make the enum smaller would only complicate its (de)serialization.
#[allow(clippy::large_enum_variant)]
pub enum Fact {
    /// A person as HR knows them.
    Person {
        id: String,
        name: Option<String>,
        employee_no: Option<String>,
    },
    /// An xAPI identity (an Agent object) of a person; one identity names one person forever.
    PersonIdentifier { person: String, agent: Value },
    /// A site (plant), with the IANA time zone its people read reports in.
    Site {
        id: String,
        name: String,
        time_zone: Option<String>,
    },
    /// A person's time in a job function (at a site, if given).
    Membership {
        person: String,
        function: String,
        site: Option<String>,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
    /// A version of a controlled procedure and the activity IRI its training statements use.
    ProcedureVersion {
        procedure: String,
        version: String,
        activity_iri: String,
        effective_from: Timestamp,
        /// When it was approved: revision training is assigned from then (default: the
        /// effective date).
        approved_at: Option<Timestamp>,
        impact: Impact,
        rule: String,
    },
    /// A version of a completion rule.
    Rule {
        id: String,
        version: u32,
        move_on: MoveOnName,
        mastery: Option<f64>,
        /// Evidence stored more than this many hours after its `timestamp` is flagged a late
        /// entry (default 24).
        late_entry_hours: Option<i64>,
        /// Attempts count only when their `context.instructor` is qualified for this procedure
        /// at the attempt (a trainer qualification).
        instructor_qualified_for: Option<String>,
        /// cmi5 `satisfied` counts as a completion (for cmi5 courses whose LMS emits it).
        #[serde(default)]
        accept_satisfied: bool,
        /// Electronic signatures a completion needs (READ_AND_UNDERSTOOD,
        /// TRAINER_VERIFIED_PERFORMANCE, QA_APPROVED), besides its statements.
        #[serde(default)]
        required_signatures: Vec<String>,
        /// cmi5 waiver reasons under which a `waived` statement with QA's WAIVER_APPROVED
        /// signature replaces the training.
        #[serde(default)]
        waiver_reasons: Vec<String>,
        effective_from: Timestamp,
    },
    /// A requirement on a procedure, for a job function (optionally at one site), one person, or
    /// the people a quality event names.
    Requirement {
        id: String,
        function: Option<String>,
        site: Option<String>,
        person: Option<String>,
        quality_event: Option<String>,
        #[serde(default)]
        persons: Vec<String>,
        /// What is required: one procedure, or every item of a curriculum (one of the two).
        procedure: Option<String>,
        curriculum: Option<String>,
        /// Days the previous version still counts after a new one takes effect; none: train
        /// before the effective date.
        grace_days: Option<i64>,
        /// Days a completion lasts; none: it does not expire.
        recurrence_days: Option<i64>,
        /// Calendar months a completion lasts (P12M: an annual refresher falls due on the same
        /// date each year); instead of `recurrence_days`.
        recurrence_months: Option<i64>,
        /// Absolute recurrence: every completion lasts until the next `MM-DD` (00:00 UTC), e.g.
        /// `01-01` for a calendar-year refresher; instead of days or months.
        recurrence_date: Option<String>,
        #[serde(default)]
        early_window_days: i64,
        /// Days after a recurrence falls due during which the person is still
        /// QUALIFIED_IN_GRACE (default 0).
        #[serde(default)]
        recurrence_grace_days: i64,
        /// Days from an assignment to its due date (default 30).
        #[serde(default = "thirty")]
        due_days: i64,
        /// A check that the training worked, after it.
        effectiveness: Option<EffectivenessCheck>,
        #[serde(default = "yes")]
        blocking: bool,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
    /// The GxP profile: statements about these activities are GxP evidence, whose voids need a
    /// reason under `reason_extension` and may not come from the learner (regulated.md A4, S4).
    GxpProfile {
        activity_prefixes: Vec<String>,
        reason_extension: String,
        /// GxP evidence older than this many hours when it arrives needs a reason (A6).
        late_entry_hours: Option<i64>,
    },
    /// A version of a curriculum (regulated.md 2.1 `Curriculum`): the procedures a requirement
    /// on it asks for while the version is valid, each with the procedures that must be
    /// completed before it (prerequisites). Versions say their own validity, like memberships.
    Curriculum {
        id: String,
        version: u32,
        items: Vec<CurriculumItem>,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
    /// A person's time in a role that gives authority (QA, CHANGE_APPROVER).
    Role {
        person: String,
        role: RoleName,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
    /// A person enrolled to sign electronically, and how their identity was verified (regulated.md
    /// C4); recorded by `POST /signers` with the signing credential, never alone.
    Signer {
        person: String,
        verified_by: String,
        identity_evidence: String,
    },
    /// A CAPA, change control, deviation or audit finding.
    QualityEvent {
        id: String,
        #[serde(rename = "type")]
        kind: QualityEventType,
        title: Option<String>,
        /// The IRI training statements put in `context.contextActivities.other`.
        activity_iri: Option<String>,
        opened_at: Timestamp,
        closed_at: Option<Timestamp>,
    },
}

/// The reasons cmi5 gives for a waiver (the `reason` result extension of a `waived` statement).
pub const CMI5_WAIVER_REASONS: [&str; 4] = [
    "Tested Out",
    "Equivalent AU",
    "Equivalent Outside Activity",
    "Administrative",
];

/// The `relevantTypes` IRI of a trainer or assessor in an xAPI 2.0 `contextAgents` entry.
pub const TRAINER_ROLE: &str = "https://attest.dev/xapi/roles/trainer";

/// One item of a curriculum version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurriculumItem {
    pub procedure: String,
    /// Procedures completed before this one's completion, or it does not count
    /// (PREREQ_MISSING).
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

/// A delayed quiz: the first attempt on `activity_iri` at least `after_days` after the
/// completion must pass with a scaled score of at least `mastery`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectivenessCheck {
    pub activity_iri: String,
    pub after_days: i64,
    pub mastery: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleName {
    Qa,
    ChangeApprover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QualityEventType {
    Capa,
    ChangeControl,
    Deviation,
    AuditFinding,
}

fn thirty() -> i64 {
    30
}

/// `MM-DD` as an annual recurrence date every year has.
fn annual(text: &str) -> Option<Period> {
    let (month, day) = text.split_once('-')?;
    if month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (month, day): (i8, i8) = (month.parse().ok()?, day.parse().ok()?);
    // 2023 is not a leap year: a date valid in it is valid every year.
    jiff::civil::Date::new(2023, month, day).ok()?;
    Some(Period::Annual { month, day })
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Impact {
    Full,
    Delta,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MoveOnName {
    Completed,
    Passed,
    CompletedAndPassed,
    CompletedOrPassed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    #[error("the fact is not valid: {0}")]
    Malformed(String),
    #[error("agent: {0}")]
    Agent(String),
}

impl Fact {
    /// Parses and checks a fact given as JSON.
    pub fn parse(json: &Value) -> Result<Fact, FactError> {
        let fact: Fact = serde_json::from_value(json.clone())
            .map_err(|e| FactError::Malformed(e.to_string()))?;
        let malformed = |m: &str| Err(FactError::Malformed(m.into()));
        if let Fact::Requirement {
            function,
            site,
            person,
            quality_event,
            persons,
            grace_days,
            recurrence_days,
            recurrence_months,
            recurrence_date,
            early_window_days,
            recurrence_grace_days,
            due_days,
            effectiveness,
            valid_from,
            valid_to,
            ..
        } = &fact
        {
            let days = [
                *grace_days,
                *recurrence_days,
                Some(*early_window_days),
                Some(*recurrence_grace_days),
                Some(*due_days),
                effectiveness.as_ref().map(|e| e.after_days),
            ];
            if days
                .into_iter()
                .flatten()
                .any(|d| !(0..=36_500).contains(&d))
            {
                return malformed("day counts are between 0 and 36500");
            }
            if recurrence_days.is_some_and(|r| r < 1 || r <= *early_window_days) {
                return malformed(
                    "recurrence_days is at least 1 and longer than early_window_days",
                );
            }
            if recurrence_months
                .is_some_and(|m| !(1..=1200).contains(&m) || m * 28 <= *early_window_days)
            {
                return malformed(
                    "recurrence_months is 1 to 1200 and longer than early_window_days",
                );
            }
            let recurrences = [
                recurrence_days.is_some(),
                recurrence_months.is_some(),
                recurrence_date.is_some(),
            ];
            if recurrences.iter().filter(|r| **r).count() > 1 {
                return malformed(
                    "give one of recurrence_days, recurrence_months and recurrence_date",
                );
            }
            if let Some(date) = recurrence_date
                && annual(date).is_none()
            {
                return malformed(
                    "recurrence_date is a month and day, MM-DD, that every year has (not 02-29)",
                );
            }
            if *recurrence_grace_days > 0 && recurrences.iter().all(|r| !r) {
                return malformed(
                    "recurrence_grace_days needs a recurrence (recurrence_days, recurrence_months or recurrence_date)",
                );
            }
            if recurrence_date.is_some() && *early_window_days > 300 {
                return malformed("early_window_days is at most 300 with recurrence_date");
            }
            let scopes = [
                function.is_some(),
                person.is_some(),
                quality_event.is_some(),
            ];
            if scopes.iter().filter(|s| **s).count() != 1 {
                return malformed(
                    "a requirement has exactly one scope: function, person or quality_event",
                );
            }
            if site.is_some() && function.is_none() {
                return malformed("site narrows a function's requirement: give function too");
            }
            if quality_event.is_some() == persons.is_empty() {
                return malformed(
                    "persons names the people a quality_event requirement applies to (and only then)",
                );
            }
            if effectiveness
                .as_ref()
                .is_some_and(|e| !(0.0..=1.0).contains(&e.mastery))
            {
                return malformed("effectiveness.mastery is a scaled score between 0 and 1");
            }
            if valid_to.is_some_and(|to| to <= *valid_from) {
                return malformed("valid_to is after valid_from");
            }
        }
        if let Fact::Membership {
            valid_from,
            valid_to: Some(to),
            ..
        }
        | Fact::Role {
            valid_from,
            valid_to: Some(to),
            ..
        } = &fact
            && to <= valid_from
        {
            return malformed("valid_to is after valid_from");
        }
        if let Fact::Rule {
            mastery,
            late_entry_hours,
            required_signatures,
            waiver_reasons,
            ..
        } = &fact
        {
            if let Some(bad) = waiver_reasons
                .iter()
                .find(|r| !CMI5_WAIVER_REASONS.contains(&r.as_str()))
            {
                return Err(FactError::Malformed(format!(
                    "waiver_reasons: '{bad}' is not a cmi5 reason ({})",
                    CMI5_WAIVER_REASONS.join(", ")
                )));
            }
            if let Some(bad) = required_signatures.iter().find(|name| {
                !Meaning::parse(name)
                    .is_some_and(|m| m.signs_training() && m != Meaning::WaiverApproved)
            }) {
                return Err(FactError::Malformed(format!(
                    "required_signatures: '{bad}' is not READ_AND_UNDERSTOOD, TRAINER_VERIFIED_PERFORMANCE or QA_APPROVED"
                )));
            }
            if mastery.is_some_and(|m| !(0.0..=1.0).contains(&m)) {
                return malformed("mastery is a scaled score between 0 and 1");
            }
            if late_entry_hours.is_some_and(|h| !(0..=876_000).contains(&h)) {
                return malformed("late_entry_hours is between 0 and 876000");
            }
        }
        if let Fact::QualityEvent {
            opened_at,
            closed_at: Some(closed),
            ..
        } = &fact
            && closed < opened_at
        {
            return malformed("closed_at is not before opened_at");
        }
        if let Fact::Site {
            time_zone: Some(tz),
            ..
        } = &fact
            && jiff::tz::TimeZone::get(tz).is_err()
        {
            return malformed("time_zone is not an IANA time zone name");
        }
        let ids: Vec<&str> = match &fact {
            Fact::Person { id, .. } | Fact::Site { id, .. } | Fact::QualityEvent { id, .. } => {
                vec![id]
            }
            Fact::PersonIdentifier { person, .. } | Fact::Role { person, .. } => vec![person],
            Fact::Signer {
                person,
                verified_by,
                identity_evidence,
            } => {
                if person == verified_by {
                    return malformed("verified_by is another person than the signer (C4)");
                }
                vec![person, verified_by, identity_evidence]
            }
            Fact::Membership {
                person,
                function,
                site,
                ..
            } => {
                let mut ids = vec![person.as_str(), function.as_str()];
                ids.extend(site.as_deref());
                ids
            }
            Fact::ProcedureVersion {
                procedure, version, ..
            } => vec![procedure, version],
            Fact::Rule {
                id,
                instructor_qualified_for,
                ..
            } => {
                let mut ids = vec![id.as_str()];
                ids.extend(instructor_qualified_for.as_deref());
                ids
            }
            Fact::GxpProfile {
                activity_prefixes,
                reason_extension,
                late_entry_hours,
            } => {
                if late_entry_hours.is_some_and(|h| !(1..=876_000).contains(&h)) {
                    return malformed("late_entry_hours is between 1 and 876000");
                }
                if activity_prefixes.is_empty()
                    || activity_prefixes
                        .iter()
                        .chain([reason_extension])
                        .any(|iri| !xapi::rules::is_iri(iri))
                {
                    return malformed(
                        "activity_prefixes (at least one) and reason_extension are IRIs",
                    );
                }
                Vec::new()
            }
            Fact::Curriculum {
                id,
                items,
                valid_from,
                valid_to,
                ..
            } => {
                if valid_to.is_some_and(|to| to <= *valid_from) {
                    return malformed("valid_to is after valid_from");
                }
                if items.is_empty() {
                    return malformed("a curriculum has at least one item");
                }
                let mut ids = vec![id.as_str()];
                for (i, item) in items.iter().enumerate() {
                    if items[..i].iter().any(|x| x.procedure == item.procedure) {
                        return malformed("each procedure is an item of a curriculum once");
                    }
                    if item.prerequisites.contains(&item.procedure) {
                        return malformed("an item is not its own prerequisite");
                    }
                    ids.push(&item.procedure);
                    ids.extend(item.prerequisites.iter().map(String::as_str));
                }
                ids
            }
            Fact::Requirement {
                id,
                procedure,
                curriculum,
                persons,
                function,
                site,
                person,
                quality_event,
                effectiveness,
                ..
            } => {
                if procedure.is_some() == curriculum.is_some() {
                    return malformed("a requirement names either a procedure or a curriculum");
                }
                if curriculum.is_some() && effectiveness.is_some() {
                    return malformed(
                        "an effectiveness check goes on a procedure's requirement, not a curriculum's",
                    );
                }
                let mut ids = vec![id.as_str()];
                ids.extend(procedure.as_deref());
                ids.extend(curriculum.as_deref());
                ids.extend(persons.iter().map(String::as_str));
                ids.extend(
                    [function, site, person, quality_event]
                        .into_iter()
                        .flatten()
                        .map(String::as_str),
                );
                ids
            }
        };
        if ids.iter().any(|id| id.trim().is_empty() || id.len() > 200) {
            return malformed("identifiers are 1 to 200 characters, not blank");
        }
        if let Fact::PersonIdentifier { agent, .. } = &fact {
            xapi::validate_agent(agent, xapi::Version::V2_0_0)
                .map_err(|e| FactError::Agent(e.to_string()))?;
            if xapi::agent::Ifi::of(agent).is_none() || xapi::agent::is_group(agent) {
                return Err(FactError::Agent(
                    "must be an Agent with one identifier".into(),
                ));
            }
        }
        Ok(fact)
    }

    /// What a later fact must share to correct this one.
    pub fn key(&self) -> String {
        match self {
            Fact::Person { id, .. } => format!("person|{id}"),
            Fact::PersonIdentifier { agent, .. } => format!("id|{}", ifi_key(agent)),
            Fact::Site { id, .. } => format!("site|{id}"),
            Fact::Membership {
                person,
                function,
                valid_from,
                ..
            } => format!("member|{person}|{function}|{valid_from}"),
            Fact::QualityEvent { id, .. } => format!("qe|{id}"),
            Fact::Signer { person, .. } => format!("signer|{person}"),
            Fact::Role {
                person,
                role,
                valid_from,
                ..
            } => format!("role|{person}|{role:?}|{valid_from}"),
            Fact::GxpProfile { .. } => "gxp".to_string(),
            Fact::ProcedureVersion {
                procedure, version, ..
            } => format!("version|{procedure}|{version}"),
            Fact::Rule { id, version, .. } => format!("rule|{id}|{version}"),
            Fact::Curriculum { id, version, .. } => format!("curriculum|{id}|{version}"),
            Fact::Requirement { id, .. } => format!("req|{id}"),
        }
    }
}

fn ifi_key(agent: &Value) -> String {
    xapi::agent::Ifi::of(agent)
        .map(|i| i.key())
        .unwrap_or_default()
}

/// Builds the engine from recorded facts (in recording order) and evidence.
pub fn engine(facts: &[(Fact, Timestamp)], evidence: Vec<Evidence>) -> Engine {
    Engine::new(master(facts), evidence)
}

/// The master data recorded facts (in recording order) amount to, each known from its recording
/// until a later fact with the same key corrects it.
pub fn master(facts: &[(Fact, Timestamp)]) -> MasterData {
    // A fact is known from its recording until a later fact with the same key corrects it.
    let mut recorded: Vec<Interval> = facts.iter().map(|(_, at)| Interval::since(*at)).collect();
    let mut last_of_key: HashMap<String, usize> = HashMap::new();
    for (i, (fact, at)) in facts.iter().enumerate() {
        if let Some(previous) = last_of_key.insert(fact.key(), i) {
            recorded[previous].to = Some(*at);
        }
    }
    let mut master = MasterData::default();
    let mut procedures: HashMap<String, Vec<ProcedureVersion>> = HashMap::new();
    // Requirements (with the curriculum they name, if any) and curriculum versions.
    let mut requirements: Vec<(Option<String>, Requirement)> = Vec::new();
    let mut curricula: CurriculumVersions = HashMap::new();
    let days = |n: i64| SignedDuration::from_hours(24 * n);
    for ((fact, _), recorded) in facts.iter().zip(recorded) {
        match fact.clone() {
            Fact::Person {
                id,
                name,
                employee_no,
            } => master.people.push(Person {
                id,
                name,
                employee_no,
                recorded,
            }),
            Fact::PersonIdentifier { person, agent } => master.identifiers.push(PersonIdentifier {
                person,
                ifi: ifi_key(&agent),
                recorded,
            }),
            Fact::Site {
                id,
                name,
                time_zone,
            } => master.sites.push(Site {
                id,
                name,
                time_zone,
                recorded,
            }),
            Fact::Membership {
                person,
                function,
                site,
                valid_from,
                valid_to,
            } => master.memberships.push(Membership {
                person,
                function,
                site,
                valid: Interval {
                    from: valid_from,
                    to: valid_to,
                },
                recorded,
            }),
            Fact::ProcedureVersion {
                procedure,
                version,
                activity_iri,
                effective_from,
                approved_at,
                impact,
                rule,
            } => procedures
                .entry(procedure)
                .or_default()
                .push(ProcedureVersion {
                    version,
                    activity_iri,
                    effective_from,
                    approved_at,
                    impact: match impact {
                        Impact::Full => TrainingImpact::Full,
                        Impact::Delta => TrainingImpact::Delta,
                        Impact::None => TrainingImpact::None,
                    },
                    rule,
                    recorded,
                }),
            Fact::Rule {
                id,
                version,
                move_on,
                mastery,
                late_entry_hours,
                instructor_qualified_for,
                accept_satisfied,
                required_signatures,
                waiver_reasons,
                effective_from,
            } => master.rules.push(CompletionRule {
                id,
                version,
                move_on: match move_on {
                    MoveOnName::Completed => MoveOn::Completed,
                    MoveOnName::Passed => MoveOn::Passed,
                    MoveOnName::CompletedAndPassed => MoveOn::CompletedAndPassed,
                    MoveOnName::CompletedOrPassed => MoveOn::CompletedOrPassed,
                },
                mastery,
                late_entry: SignedDuration::from_hours(late_entry_hours.unwrap_or(24)),
                instructor_for: instructor_qualified_for,
                accept_satisfied,
                signatures: required_signatures
                    .iter()
                    .filter_map(|name| Meaning::parse(name))
                    .collect(),
                waiver_reasons,
                effective_from,
                recorded,
            }),
            // Enrolment is checked where signatures are made; the rules need none of it.
            Fact::Signer { .. } => {}
            Fact::Role {
                person,
                role,
                valid_from,
                valid_to,
            } => master.roles.push(crate::model::RoleGrant {
                person,
                role: match role {
                    RoleName::Qa => crate::model::Role::Qa,
                    RoleName::ChangeApprover => crate::model::Role::ChangeApprover,
                },
                valid: Interval {
                    from: valid_from,
                    to: valid_to,
                },
                recorded,
            }),
            Fact::Curriculum {
                id,
                items,
                valid_from,
                valid_to,
                ..
            } => curricula.entry(id).or_default().push((
                items,
                Interval {
                    from: valid_from,
                    to: valid_to,
                },
                recorded,
            )),
            Fact::Requirement {
                id,
                function,
                site,
                person,
                quality_event,
                persons,
                procedure,
                curriculum,
                grace_days,
                recurrence_days,
                recurrence_months,
                recurrence_date,
                early_window_days,
                recurrence_grace_days,
                due_days,
                effectiveness,
                blocking,
                valid_from,
                valid_to,
            } => requirements.push((
                curriculum,
                Requirement {
                    id,
                    scope: match (function, person, quality_event) {
                        (Some(function), _, _) => Scope::Function { function, site },
                        (None, Some(person), _) => Scope::Person(person),
                        (None, None, event) => Scope::QualityEvent {
                            event: event.unwrap_or_default(),
                            persons,
                        },
                    },
                    procedure: procedure.unwrap_or_default(),
                    grace: grace_days
                        .map_or(GracePolicy::TrainBeforeEffective, GracePolicy::GraceDays),
                    recurrence: match (
                        recurrence_days,
                        recurrence_months,
                        recurrence_date.as_deref().and_then(annual),
                    ) {
                        (Some(n), _, _) => Recurrence::Relative {
                            every: Period::Fixed(days(n)),
                            early_window: days(early_window_days),
                            grace: days(recurrence_grace_days),
                        },
                        (None, Some(m), _) => Recurrence::Relative {
                            every: Period::Months(i32::try_from(m).unwrap_or(1200)),
                            early_window: days(early_window_days),
                            grace: days(recurrence_grace_days),
                        },
                        (None, None, Some(every)) => Recurrence::Relative {
                            every,
                            early_window: days(early_window_days),
                            grace: days(recurrence_grace_days),
                        },
                        (None, None, None) => Recurrence::None,
                    },
                    due: days(due_days),
                    effectiveness: effectiveness.map(|e| Effectiveness {
                        activity_iri: e.activity_iri,
                        after: days(e.after_days),
                        mastery: e.mastery,
                    }),
                    blocking,
                    valid: Interval {
                        from: valid_from,
                        to: valid_to,
                    },
                    recorded,
                    prerequisites: Vec::new(),
                },
            )),
            Fact::GxpProfile {
                activity_prefixes,
                reason_extension,
                late_entry_hours,
            } => master.gxp_profiles.push((
                crate::GxpProfile {
                    activity_prefixes,
                    reason_extension,
                    late_entry: late_entry_hours.map(SignedDuration::from_hours),
                },
                recorded,
            )),
            Fact::QualityEvent {
                id,
                kind,
                title,
                activity_iri,
                opened_at,
                closed_at,
            } => master.quality_events.push(QualityEvent {
                id,
                kind: match kind {
                    QualityEventType::Capa => QualityEventKind::Capa,
                    QualityEventType::ChangeControl => QualityEventKind::ChangeControl,
                    QualityEventType::Deviation => QualityEventKind::Deviation,
                    QualityEventType::AuditFinding => QualityEventKind::AuditFinding,
                },
                title,
                activity_iri,
                opened: opened_at,
                closed: closed_at,
                recorded,
            }),
        }
    }
    master.requirements = expand(requirements, &curricula);
    master.procedures = procedures
        .into_iter()
        .map(|(id, versions)| Procedure { id, versions })
        .collect();
    master
}

/// Each curriculum's versions: items, validity, and when the version was known.
type CurriculumVersions = HashMap<String, Vec<(Vec<CurriculumItem>, Interval, Interval)>>;

/// A requirement on a curriculum becomes one requirement per item of each version, valid while
/// both are valid and known while both are known (so corrections of either stay bitemporal);
/// its id is the requirement's and the item's procedure, `R/SOP-1`.
fn expand(
    requirements: Vec<(Option<String>, Requirement)>,
    curricula: &CurriculumVersions,
) -> Vec<Requirement> {
    let mut out = Vec::with_capacity(requirements.len());
    for (curriculum, r) in requirements {
        let Some(curriculum) = curriculum else {
            out.push(r);
            continue;
        };
        for (items, valid, recorded) in curricula.get(&curriculum).into_iter().flatten() {
            let (Some(valid), Some(recorded)) =
                (r.valid.overlap(*valid), r.recorded.overlap(*recorded))
            else {
                continue;
            };
            for item in items {
                out.push(Requirement {
                    id: format!("{}/{}", r.id, item.procedure),
                    procedure: item.procedure.clone(),
                    prerequisites: item.prerequisites.clone(),
                    valid,
                    recorded,
                    ..r.clone()
                });
            }
        }
    }
    out
}

impl Evidence {
    /// What a stored statement tells the engine; `None` for statements that can never count
    /// (no Activity object, a voiding statement).
    pub fn from_statement(
        statement: &Value,
        stored: Timestamp,
        voided: Option<Timestamp>,
    ) -> Option<Evidence> {
        let verb = statement.pointer("/verb/id")?.as_str()?;
        if verb == VOIDED {
            return None;
        }
        let object = statement.get("object")?;
        if object
            .get("objectType")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "Activity")
        {
            return None;
        }
        let timestamp = statement
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(xapi::rules::parse_timestamp)
            .unwrap_or(stored);
        Some(Evidence {
            // One form for every id (lowercase, hyphenated), whatever case the client sent: a
            // signature names the statement it signs in that form.
            statement_id: uuid::Uuid::parse_str(statement.get("id")?.as_str()?)
                .ok()?
                .to_string(),
            ifi: xapi::agent::Ifi::of(statement.get("actor")?)?.key().into(),
            verb: Verb::from_iri(verb),
            activity_iri: object.get("id")?.as_str()?.into(),
            score_scaled: statement
                .pointer("/result/score/scaled")
                .and_then(Value::as_f64),
            timestamp,
            stored,
            voided,
            instructor: statement
                .pointer("/context/instructor")
                .filter(|i| !xapi::agent::is_group(i))
                .or_else(|| trainer_in_context_agents(statement))
                .and_then(xapi::agent::Ifi::of)
                .map(|i| i.key()),
            waiver: (verb == crate::model::WAIVED)
                .then(|| {
                    statement
                        .pointer("/result/extensions")?
                        .get(crate::model::WAIVER_REASON)?
                        .as_str()
                        .map(std::sync::Arc::from)
                })
                .flatten(),
            signature: (verb == crate::model::SIGNED)
                .then(|| signature_of(statement))
                .flatten()
                .map(Box::new),
        })
    }
}

/// The signature a signature statement records (its result extension, and the statement it
/// signs in `context.statement`).
fn signature_of(statement: &Value) -> Option<Signature> {
    let manifest = statement
        .pointer("/result/extensions")?
        .get(SIGNATURE_EXTENSION)?;
    let text = |name: &str| manifest.get(name)?.as_str().map(str::to_string);
    Some(Signature {
        meaning: Meaning::parse(manifest.get("meaning")?.as_str()?)?,
        person: text("person")?,
        printed_name: text("printedName")?,
        record_sha256: text("recordSha256")?,
        of: statement
            .pointer("/context/statement/id")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// xAPI 2.0: the trainer named in `context.contextAgents` by the trainer role (regulated.md 2.2),
/// where `context.instructor` names none.
fn trainer_in_context_agents(statement: &Value) -> Option<&Value> {
    statement
        .pointer("/context/contextAgents")?
        .as_array()?
        .iter()
        .find(|a| {
            a.get("relevantTypes")
                .and_then(Value::as_array)
                .is_some_and(|types| types.iter().any(|t| t.as_str() == Some(TRAINER_ROLE)))
        })?
        .get("agent")
        .filter(|agent| !xapi::agent::is_group(agent))
}

/// The ids facts define, to tell which ids a fact names that none defines (a membership of a
/// person HR never sent, a requirement on a procedure with no version): accepted, since feeds
/// arrive in any order, but worth a warning.
#[derive(Debug, Default)]
pub struct Known {
    people: std::collections::HashSet<String>,
    sites: std::collections::HashSet<String>,
    procedures: std::collections::HashSet<String>,
    rules: std::collections::HashSet<String>,
    curricula: std::collections::HashSet<String>,
    quality_events: std::collections::HashSet<String>,
}

impl Known {
    pub fn new<'a>(facts: impl IntoIterator<Item = &'a Fact>) -> Known {
        let mut known = Known::default();
        for fact in facts {
            let _ = match fact {
                Fact::Person { id, .. } => known.people.insert(id.clone()),
                Fact::PersonIdentifier { person, .. } => known.people.insert(person.clone()),
                Fact::Site { id, .. } => known.sites.insert(id.clone()),
                Fact::ProcedureVersion { procedure, .. } => {
                    known.procedures.insert(procedure.clone())
                }
                Fact::Rule { id, .. } => known.rules.insert(id.clone()),
                Fact::Curriculum { id, .. } => known.curricula.insert(id.clone()),
                Fact::QualityEvent { id, .. } => known.quality_events.insert(id.clone()),
                _ => false,
            };
        }
        known
    }

    /// What `fact` names that no fact defines, in words.
    pub fn unknown_in(&self, fact: &Fact) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |set: &std::collections::HashSet<String>, what: &str, id: &str| {
            if !set.contains(id) {
                out.push(format!("{what} '{id}' is not known (yet)"));
            }
        };
        match fact {
            Fact::Role { person, .. } => check(&self.people, "person", person),
            Fact::Membership { person, site, .. } => {
                check(&self.people, "person", person);
                if let Some(site) = site {
                    check(&self.sites, "site", site);
                }
            }
            Fact::ProcedureVersion { rule, .. } => check(&self.rules, "rule", rule),
            Fact::Rule {
                instructor_qualified_for: Some(procedure),
                ..
            } => check(&self.procedures, "procedure", procedure),
            Fact::Curriculum { items, .. } => {
                for item in items {
                    check(&self.procedures, "procedure", &item.procedure);
                    for p in &item.prerequisites {
                        check(&self.procedures, "procedure", p);
                    }
                }
            }
            Fact::Signer { .. } => {}
            Fact::Requirement {
                site,
                person,
                quality_event,
                persons,
                procedure,
                curriculum,
                ..
            } => {
                if let Some(site) = site {
                    check(&self.sites, "site", site);
                }
                for p in person.iter().chain(persons) {
                    check(&self.people, "person", p);
                }
                if let Some(qe) = quality_event {
                    check(&self.quality_events, "quality event", qe);
                }
                if let Some(p) = procedure {
                    check(&self.procedures, "procedure", p);
                }
                if let Some(c) = curriculum {
                    check(&self.curricula, "curriculum", c);
                }
            }
            _ => {}
        }
        out
    }
}
