//! The facts the engine reasons over (regulated.md 2.1), each with its time axes.
use jiff::{SignedDuration, Timestamp};

/// A half-open interval `[from, to)`; `to = None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

impl Interval {
    pub fn since(from: Timestamp) -> Interval {
        Interval { from, to: None }
    }

    pub fn between(from: Timestamp, to: Timestamp) -> Interval {
        Interval { from, to: Some(to) }
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && self.to.is_none_or(|to| at < to)
    }

    /// Where two intervals overlap, if they do.
    pub fn overlap(self, other: Interval) -> Option<Interval> {
        let from = self.from.max(other.from);
        let to = match (self.to, other.to) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        to.is_none_or(|to| from < to)
            .then_some(Interval { from, to })
    }
}

/// An xAPI identifier (the IFI key, `xapi::agent::Ifi::key`) that names a person. One identifier
/// names one person forever (regulated.md 4.6); `recorded` says since when the system knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIdentifier {
    pub person: String,
    pub ifi: String,
    pub recorded: Interval,
}

/// A person as HR knows them (regulated.md 2.1 `Person`); the id never changes or gets reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: Option<String>,
    pub employee_no: Option<String>,
    pub recorded: Interval,
}

/// A plant or site, with the time zone its reports are read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub recorded: Interval,
}

/// A person's time in a job function, at a site or (no site) wherever the function is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub person: String,
    pub function: String,
    pub site: Option<String>,
    pub valid: Interval,
    pub recorded: Interval,
}

/// The kinds of quality event that demand training (regulated.md 2.1 `QualityEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityEventKind {
    Capa,
    ChangeControl,
    Deviation,
    AuditFinding,
}

impl QualityEventKind {
    pub fn name(self) -> &'static str {
        match self {
            QualityEventKind::Capa => "CAPA",
            QualityEventKind::ChangeControl => "CHANGE_CONTROL",
            QualityEventKind::Deviation => "DEVIATION",
            QualityEventKind::AuditFinding => "AUDIT_FINDING",
        }
    }
}

/// A CAPA, change control, deviation or audit finding. Its `activity_iri` is what training
/// statements put in `context.contextActivities.other` (regulated.md 2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityEvent {
    pub id: String,
    pub kind: QualityEventKind,
    pub title: Option<String>,
    pub activity_iri: Option<String>,
    pub opened: Timestamp,
    pub closed: Option<Timestamp>,
    pub recorded: Interval,
}

/// How much training a new procedure version needs (regulated.md 2.1 `training_impact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingImpact {
    /// Everyone retrains on the new version.
    Full,
    /// Retraining on the changes; counted like FULL here (the delta course is the version's item).
    Delta,
    /// Editorial: no training; qualification on the previous version carries over.
    None,
}

/// A controlled procedure (SOP) and its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub id: String,
    pub versions: Vec<ProcedureVersion>,
}

/// One version: its own activity IRI (regulated.md 2.2), effective from a date until the next
/// version takes over.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureVersion {
    pub version: String,
    pub activity_iri: String,
    pub effective_from: Timestamp,
    /// When it was approved: its training can be assigned from then (the implementation period
    /// before the effective date).
    pub approved_at: Option<Timestamp>,
    pub impact: TrainingImpact,
    /// The completion rule id that decides what counts as training on this version.
    pub rule: String,
    pub recorded: Interval,
}

/// What a learner must do (regulated.md 2.1 `move_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOn {
    Completed,
    Passed,
    CompletedAndPassed,
    CompletedOrPassed,
}

/// A version of a completion rule, in force from `effective_from` (the rule at an attempt's time
/// decides it, regulated.md S9).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRule {
    pub id: String,
    pub version: u32,
    pub move_on: MoveOn,
    /// Minimum `result.score.scaled` for a `passed` to count.
    pub mastery: Option<f64>,
    /// Evidence stored later than this after its `timestamp` is a late entry (regulated.md A6).
    pub late_entry: SignedDuration,
    /// Attempts count only with a `context.instructor` qualified, at the attempt, for this
    /// procedure (regulated.md B2: the trainer's own qualification).
    pub instructor_for: Option<String>,
    /// cmi5 `satisfied` counts as a completion (regulated.md 2.3).
    pub accept_satisfied: bool,
    /// The electronic signatures a completion needs besides its statements (regulated.md 2.1
    /// `required_signatures`): it is achieved when the last of them is signed.
    pub signatures: Vec<Meaning>,
    /// The cmi5 waiver reasons (`Tested Out`, `Equivalent AU`, `Equivalent Outside Activity`,
    /// `Administrative`) under which a `waived` statement replaces the training, once QA signed
    /// WAIVER_APPROVED on it (regulated.md 2.2, 2.3).
    pub waiver_reasons: Vec<String>,
    pub effective_from: Timestamp,
    pub recorded: Interval,
}

/// What happens to qualification on a new FULL/DELTA version (regulated.md 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracePolicy {
    /// Only training on the new version counts from its effective date.
    TrainBeforeEffective,
    /// The previous version still counts for this many days after the new one takes effect.
    GraceDays(i64),
}

/// How long a completion lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    None,
    /// Expires this long after it was achieved; a completion within `early_window` before expiry
    /// extends from the old expiry, not from its own date.
    Relative {
        every: Period,
        early_window: SignedDuration,
        /// After an expiry, how long the person stays QUALIFIED_IN_GRACE (regulated.md 2.4: "if
        /// recurrence due and T < due + grace"); zero: NOT_QUALIFIED (EXPIRED) at once.
        grace: SignedDuration,
    },
}

/// A recurrence period: a fixed duration (days), or calendar months (P12M: 2025-04-10 to
/// 2026-04-10 whatever the leap years; the 31st of a month to the last day of a shorter one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Fixed(SignedDuration),
    Months(i32),
    /// Absolute recurrence: every completion lasts until the next occurrence of this calendar
    /// date (month, day), 00:00 UTC (regulated.md 2.4: "the next calendar boundary").
    Annual {
        month: i8,
        day: i8,
    },
}

impl From<SignedDuration> for Period {
    fn from(d: SignedDuration) -> Period {
        Period::Fixed(d)
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;

    #[test]
    fn periods_near_the_end_of_time_give_none_not_a_panic() {
        let end: Timestamp = "9999-06-01T00:00:00Z".parse().expect("time");
        assert_eq!(Period::Annual { month: 1, day: 1 }.after(end), None);
        assert_eq!(Period::Months(12).after(end), None);
        assert_eq!(
            Period::Fixed(SignedDuration::from_hours(24 * 365)).after(end),
            None
        );
        assert_eq!(
            Period::Annual { month: 12, day: 1 }.after(end),
            Some("9999-12-01T00:00:00Z".parse().expect("time"))
        );
    }
}

impl Period {
    /// `at` plus the period (months counted in UTC); `None` past the largest time.
    pub fn after(self, at: Timestamp) -> Option<Timestamp> {
        match self {
            Period::Fixed(d) => at.checked_add(d).ok(),
            Period::Months(n) => at
                .to_zoned(jiff::tz::TimeZone::UTC)
                .checked_add(jiff::Span::new().months(n))
                .ok()
                .map(|z| z.timestamp()),
            Period::Annual { month, day } => {
                let year = at.to_zoned(jiff::tz::TimeZone::UTC).year();
                (year..=year.checked_add(1)?)
                    .filter_map(|y| {
                        // `Date::new`, not `date()`: past the largest year it is an error, not a
                        // panic.
                        jiff::civil::Date::new(y, month, day)
                            .ok()?
                            .to_zoned(jiff::tz::TimeZone::UTC)
                            .ok()
                    })
                    .map(|z| z.timestamp())
                    .find(|boundary| *boundary > at)
            }
        }
    }
}

/// Whom a requirement applies to (regulated.md 2.1 `Requirement.scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everyone in a job function while they hold it (at one site, or at every site).
    Function {
        function: String,
        site: Option<String>,
    },
    /// One named person.
    Person(String),
    /// The people a quality event names for retraining; only training after the requirement
    /// starts counts (it is retraining).
    QualityEvent { event: String, persons: Vec<String> },
}

/// A check that training worked (regulated.md 2.1 `effectiveness = DELAYED_QUIZ(days, mastery)`):
/// the first attempt on `activity_iri` at least `after` the completion must pass with a scaled
/// score of at least `mastery`.
#[derive(Debug, Clone, PartialEq)]
pub struct Effectiveness {
    pub activity_iri: String,
    pub after: SignedDuration,
    pub mastery: f64,
}

/// A training requirement on a procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub id: String,
    pub scope: Scope,
    pub procedure: String,
    pub grace: GracePolicy,
    pub recurrence: Recurrence,
    /// How long after an assignment starts its training is due (regulated.md `initial_due_days`).
    pub due: SignedDuration,
    pub effectiveness: Option<Effectiveness>,
    pub blocking: bool,
    pub valid: Interval,
    pub recorded: Interval,
    /// Procedures whose completion must come before this one's, or it does not count
    /// (PREREQ_MISSING; from a curriculum item).
    pub prerequisites: Vec<String>,
}

/// The roles that give authority in the compliance rules (regulated.md B2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Quality assurance: voids GxP evidence, approves training records and waivers.
    Qa,
    /// Approves procedure versions in change control (and decides that one needs no training).
    ChangeApprover,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Qa => "QA",
            Role::ChangeApprover => "CHANGE_APPROVER",
        }
    }
}

/// A person's time in a role (everywhere: roles have no site).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub person: String,
    pub role: Role,
    pub valid: Interval,
    pub recorded: Interval,
}

/// Every kind of master data the engine reasons over.
#[derive(Debug, Clone, Default)]
pub struct MasterData {
    pub identifiers: Vec<PersonIdentifier>,
    pub people: Vec<Person>,
    pub sites: Vec<Site>,
    pub memberships: Vec<Membership>,
    pub procedures: Vec<Procedure>,
    pub rules: Vec<CompletionRule>,
    pub requirements: Vec<Requirement>,
    pub quality_events: Vec<QualityEvent>,
    /// The GxP profile's void policy, with when it was known.
    pub gxp_profiles: Vec<(crate::GxpProfile, Interval)>,
    pub roles: Vec<RoleGrant>,
}

/// The verbs the engine understands (regulated.md 2.3); others never count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Completed,
    Passed,
    Failed,
    /// cmi5's `satisfied`: the LMS judged a course or block done; counts as a completion only
    /// where a rule accepts it.
    Satisfied,
    /// An electronic signature (written only by the signing service, never by a client).
    Signed,
    /// cmi5's `waived`: the training was waived for a reason; counts only under a rule that
    /// allows the reason, with QA's WAIVER_APPROVED signature.
    Waived,
    /// A document viewed: counts only under a rule that requires READ_AND_UNDERSTOOD (regulated.md
    /// 2.3: not by itself).
    Experienced,
    /// A session attended: counts only under a rule that requires TRAINER_VERIFIED_PERFORMANCE.
    Attended,
    Other,
}

/// The verb of a signature statement: the signing service's own; refused from xAPI clients.
pub const SIGNED: &str = "https://attest.dev/xapi/verbs/signed";

/// The result extension of a signature statement that holds the signature's manifestation.
pub const SIGNATURE_EXTENSION: &str = "https://attest.dev/xapi/extensions/signature";

/// What a signer means by signing (regulated.md C1: a controlled list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meaning {
    /// The learner read and understood the document trained on.
    ReadAndUnderstood,
    /// A trainer saw the learner perform the task (OJT sign-off).
    TrainerVerifiedPerformance,
    /// Quality assurance approved the training record.
    QaApproved,
    /// Quality assurance approved a waiver (a cmi5 `waived` statement) in place of training.
    WaiverApproved,
    /// A change-control approver approved a procedure version.
    Approved,
    /// A change-control approver decided that a version needs no training (regulated.md S3).
    NoTrainingRequired,
}

impl Meaning {
    pub const ALL: [Meaning; 6] = [
        Meaning::ReadAndUnderstood,
        Meaning::TrainerVerifiedPerformance,
        Meaning::QaApproved,
        Meaning::WaiverApproved,
        Meaning::Approved,
        Meaning::NoTrainingRequired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Meaning::ReadAndUnderstood => "READ_AND_UNDERSTOOD",
            Meaning::TrainerVerifiedPerformance => "TRAINER_VERIFIED_PERFORMANCE",
            Meaning::QaApproved => "QA_APPROVED",
            Meaning::WaiverApproved => "WAIVER_APPROVED",
            Meaning::Approved => "APPROVED",
            Meaning::NoTrainingRequired => "NO_TRAINING_REQUIRED",
        }
    }

    /// The meaning in words, as the manifestation shows it (Part 11 §11.50(a)(3)).
    pub fn text(self) -> &'static str {
        match self {
            Meaning::ReadAndUnderstood => "I have read and understood this document",
            Meaning::TrainerVerifiedPerformance => {
                "I verified that the trainee performed this task correctly"
            }
            Meaning::QaApproved => "Approved by quality assurance",
            Meaning::WaiverApproved => "Waiver approved by quality assurance",
            Meaning::Approved => "Approved",
            Meaning::NoTrainingRequired => "No training required for this revision",
        }
    }

    pub fn parse(name: &str) -> Option<Meaning> {
        Meaning::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The role a signer needs for this meaning (regulated.md B2: QA approves, change control
    /// approves versions), if any.
    pub fn role(self) -> Option<Role> {
        match self {
            Meaning::QaApproved | Meaning::WaiverApproved => Some(Role::Qa),
            Meaning::Approved | Meaning::NoTrainingRequired => Some(Role::ChangeApprover),
            Meaning::ReadAndUnderstood | Meaning::TrainerVerifiedPerformance => None,
        }
    }

    /// Whether the meaning signs a training statement (the others sign a procedure version).
    pub fn signs_training(self) -> bool {
        matches!(
            self,
            Meaning::ReadAndUnderstood
                | Meaning::TrainerVerifiedPerformance
                | Meaning::QaApproved
                | Meaning::WaiverApproved
        )
    }
}

/// An electronic signature as its statement records it: who (the person, and their printed name
/// at signing), what it means, and the training statement it signs (none for a procedure
/// version's signature). The time of signing is the statement's `timestamp` (= `stored`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub meaning: Meaning,
    pub person: String,
    pub printed_name: String,
    pub of: Option<String>,
    /// SHA-256 (hex) of the record as signed: what links the signature to it (regulated.md C2).
    pub record_sha256: String,
}

/// cmi5's `waived` verb, and the result extension that gives its reason.
pub const WAIVED: &str = "https://w3id.org/xapi/adl/verbs/waived";
pub const WAIVER_REASON: &str = "https://w3id.org/xapi/cmi5/result/extensions/reason";

/// cmi5's `satisfied` verb.
pub const SATISFIED: &str = "https://w3id.org/xapi/adl/verbs/satisfied";

impl Verb {
    pub fn from_iri(iri: &str) -> Verb {
        match iri {
            "http://adlnet.gov/expapi/verbs/completed" => Verb::Completed,
            "http://adlnet.gov/expapi/verbs/passed" => Verb::Passed,
            "http://adlnet.gov/expapi/verbs/failed" => Verb::Failed,
            SATISFIED => Verb::Satisfied,
            SIGNED => Verb::Signed,
            WAIVED => Verb::Waived,
            "http://adlnet.gov/expapi/verbs/experienced" => Verb::Experienced,
            "http://adlnet.gov/expapi/verbs/attended" => Verb::Attended,
            _ => Verb::Other,
        }
    }
}

/// What a statement tells the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub statement_id: String,
    /// The actor's IFI key.
    pub ifi: std::sync::Arc<str>,
    pub verb: Verb,
    pub activity_iri: std::sync::Arc<str>,
    pub score_scaled: Option<f64>,
    /// `timestamp`: when it happened (event time).
    pub timestamp: Timestamp,
    /// `stored`: when the system learned it.
    pub stored: Timestamp,
    /// `stored` of the statement that voided it, if any.
    pub voided: Option<Timestamp>,
    /// The IFI key of `context.instructor`, if any (the trainer of an OJT or classroom session).
    pub instructor: Option<String>,
    /// For a signature statement: the signature it records.
    pub signature: Option<Box<Signature>>,
    /// For a cmi5 `waived` statement: its reason.
    pub waiver: Option<std::sync::Arc<str>>,
}

impl Evidence {
    /// Known at `k` and not voided as of `k`.
    pub fn known_at(&self, k: Timestamp) -> bool {
        self.stored <= k && self.voided.is_none_or(|v| v > k)
    }
}
