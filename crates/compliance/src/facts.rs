//! Master data as it arrives from HR and QMS feeds: facts, each recorded at a server time. A later
//! fact with the same key corrects an earlier one from its own recording time on, so what was
//! known before the correction stays answerable (bitemporal: regulated.md 2.1).
use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{
    CompletionRule, Evidence, GracePolicy, Interval, Membership, MoveOn, PersonIdentifier,
    Procedure, ProcedureVersion, Recurrence, Requirement, TrainingImpact, Verb,
};
use crate::{Engine, VOIDED};

/// One fact of master data, as the API takes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fact {
    /// An xAPI identity (an Agent object) of a person; one identity names one person forever.
    PersonIdentifier { person: String, agent: Value },
    /// A person's time in a job function.
    Membership {
        person: String,
        function: String,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
    /// A version of a controlled procedure and the activity IRI its training statements use.
    ProcedureVersion {
        procedure: String,
        version: String,
        activity_iri: String,
        effective_from: Timestamp,
        impact: Impact,
        rule: String,
    },
    /// A version of a completion rule.
    Rule {
        id: String,
        version: u32,
        move_on: MoveOnName,
        mastery: Option<f64>,
        effective_from: Timestamp,
    },
    /// A job function's requirement on a procedure.
    Requirement {
        id: String,
        function: String,
        procedure: String,
        /// Days the previous version still counts after a new one takes effect; none: train
        /// before the effective date.
        grace_days: Option<i64>,
        /// Days a completion lasts; none: it does not expire.
        recurrence_days: Option<i64>,
        #[serde(default)]
        early_window_days: i64,
        #[serde(default = "yes")]
        blocking: bool,
        valid_from: Timestamp,
        valid_to: Option<Timestamp>,
    },
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
        if let Fact::Requirement {
            grace_days,
            recurrence_days,
            early_window_days,
            ..
        } = &fact
        {
            let days = [*grace_days, *recurrence_days, Some(*early_window_days)];
            if days
                .into_iter()
                .flatten()
                .any(|d| !(0..=36_500).contains(&d))
            {
                return Err(FactError::Malformed(
                    "day counts are between 0 and 36500".into(),
                ));
            }
        }
        if let Fact::Rule {
            mastery: Some(m), ..
        } = &fact
            && !(0.0..=1.0).contains(m)
        {
            return Err(FactError::Malformed(
                "mastery is a scaled score between 0 and 1".into(),
            ));
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
    fn key(&self) -> String {
        match self {
            Fact::PersonIdentifier { agent, .. } => format!("id|{}", ifi_key(agent)),
            Fact::Membership {
                person,
                function,
                valid_from,
                ..
            } => format!("member|{person}|{function}|{valid_from}"),
            Fact::ProcedureVersion {
                procedure, version, ..
            } => format!("version|{procedure}|{version}"),
            Fact::Rule { id, version, .. } => format!("rule|{id}|{version}"),
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
    // A fact is known from its recording until a later fact with the same key corrects it.
    let mut recorded: Vec<Interval> = facts.iter().map(|(_, at)| Interval::since(*at)).collect();
    let mut last_of_key: HashMap<String, usize> = HashMap::new();
    for (i, (fact, at)) in facts.iter().enumerate() {
        if let Some(previous) = last_of_key.insert(fact.key(), i) {
            recorded[previous].to = Some(*at);
        }
    }
    let (mut ids, mut members, mut rules, mut requirements) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut procedures: HashMap<String, Vec<ProcedureVersion>> = HashMap::new();
    let days = |n: i64| SignedDuration::from_hours(24 * n);
    for ((fact, _), recorded) in facts.iter().zip(recorded) {
        match fact.clone() {
            Fact::PersonIdentifier { person, agent } => ids.push(PersonIdentifier {
                person,
                ifi: ifi_key(&agent),
                recorded,
            }),
            Fact::Membership {
                person,
                function,
                valid_from,
                valid_to,
            } => members.push(Membership {
                person,
                function,
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
                impact,
                rule,
            } => procedures
                .entry(procedure)
                .or_default()
                .push(ProcedureVersion {
                    version,
                    activity_iri,
                    effective_from,
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
                effective_from,
            } => rules.push(CompletionRule {
                id,
                version,
                move_on: match move_on {
                    MoveOnName::Completed => MoveOn::Completed,
                    MoveOnName::Passed => MoveOn::Passed,
                    MoveOnName::CompletedAndPassed => MoveOn::CompletedAndPassed,
                    MoveOnName::CompletedOrPassed => MoveOn::CompletedOrPassed,
                },
                mastery,
                effective_from,
                recorded,
            }),
            Fact::Requirement {
                id,
                function,
                procedure,
                grace_days,
                recurrence_days,
                early_window_days,
                blocking,
                valid_from,
                valid_to,
            } => requirements.push(Requirement {
                id,
                function,
                procedure,
                grace: grace_days.map_or(GracePolicy::TrainBeforeEffective, GracePolicy::GraceDays),
                recurrence: recurrence_days.map_or(Recurrence::None, |n| Recurrence::Relative {
                    every: days(n),
                    early_window: days(early_window_days),
                }),
                blocking,
                valid: Interval {
                    from: valid_from,
                    to: valid_to,
                },
                recorded,
            }),
        }
    }
    let procedures = procedures
        .into_iter()
        .map(|(id, versions)| Procedure { id, versions })
        .collect();
    Engine::new(ids, members, procedures, rules, requirements, evidence)
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
            statement_id: statement.get("id")?.as_str()?.to_string(),
            ifi: xapi::agent::Ifi::of(statement.get("actor")?)?.key(),
            verb: Verb::from_iri(verb),
            activity_iri: object.get("id")?.as_str()?.to_string(),
            score_scaled: statement
                .pointer("/result/score/scaled")
                .and_then(Value::as_f64),
            timestamp,
            stored,
            voided,
        })
    }
}
