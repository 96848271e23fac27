//! The auditor scenarios of regulated.md Part 3 that the engine itself decides (S2, S3, S4, S6,
//! S7, S9, S10), on facts built here.
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::model::Interval;

fn at(day: &str) -> Timestamp {
    format!("{day}T09:00:00Z").parse().expect("timestamp")
}

fn always() -> Interval {
    Interval::since(at("2000-01-01"))
}

const SOP: &str = "SOP-123";
const ANN: &str = "mbox:mailto:ann@plant.example";
const BOB: &str = "mbox:mailto:bob@plant.example";

fn iri(version: &str) -> String {
    format!("https://qms.example/doc/SOP-123/v{version}")
}

fn version(v: &str, effective: &str, impact: TrainingImpact) -> ProcedureVersion {
    ProcedureVersion {
        version: v.into(),
        activity_iri: iri(v),
        effective_from: at(effective),
        approved_at: None,
        impact,
        rule: "sop-read".into(),
        recorded: Interval::since(
            at(effective)
                .checked_sub(SignedDuration::from_hours(24 * 30))
                .expect("date"),
        ),
    }
}

fn rule(version: u32, mastery: Option<f64>, from: &str) -> CompletionRule {
    CompletionRule {
        id: "sop-read".into(),
        version,
        move_on: MoveOn::CompletedOrPassed,
        mastery,
        late_entry: SignedDuration::from_hours(24),
        instructor_for: None,
        accept_satisfied: false,
        signatures: Vec::new(),
        waiver_reasons: Vec::new(),
        effective_from: at(from),
        recorded: Interval::since(at(from)),
    }
}

fn evidence(
    id: &str,
    ifi: &str,
    verb: Verb,
    v: &str,
    score: Option<f64>,
    when: &str,
    stored: &str,
) -> Evidence {
    Evidence {
        statement_id: id.into(),
        ifi: ifi.into(),
        verb,
        activity_iri: iri(v).into(),
        score_scaled: score,
        timestamp: at(when),
        stored: at(stored),
        voided: None,
        instructor: None,
        signature: None,
        waiver: None,
    }
}

fn people() -> Vec<PersonIdentifier> {
    vec![
        PersonIdentifier {
            person: "ann".into(),
            ifi: ANN.into(),
            recorded: always(),
        },
        PersonIdentifier {
            person: "bob".into(),
            ifi: BOB.into(),
            recorded: always(),
        },
    ]
}

fn engine(
    versions: Vec<ProcedureVersion>,
    rules: Vec<CompletionRule>,
    evidence: Vec<Evidence>,
) -> Engine {
    Engine::new(
        MasterData {
            identifiers: people(),
            procedures: vec![Procedure {
                id: SOP.into(),
                versions,
            }],
            rules,
            // Bob is QA throughout.
            roles: vec![crate::model::RoleGrant {
                person: "bob".into(),
                role: crate::model::Role::Qa,
                valid: always(),
                recorded: always(),
            }],
            ..MasterData::default()
        },
        evidence,
    )
}

fn status(e: &Engine, person: &str, grace: GracePolicy, t: &str, k: &str) -> Qualification {
    e.procedure_status(person, SOP, grace, Recurrence::None, at(t), at(k))
}

#[test]
fn s2_a_full_revision_supersedes_after_its_grace_days() {
    let e = engine(
        vec![
            version("7", "2026-01-01", TrainingImpact::Full),
            version("8", "2026-05-01", TrainingImpact::Full),
        ],
        vec![rule(1, None, "2025-01-01")],
        vec![
            evidence(
                "a7",
                ANN,
                Verb::Completed,
                "7",
                None,
                "2026-03-01",
                "2026-03-01",
            ),
            evidence(
                "b7",
                BOB,
                Verb::Completed,
                "7",
                None,
                "2026-03-01",
                "2026-03-01",
            ),
            evidence(
                "b8",
                BOB,
                Verb::Completed,
                "8",
                None,
                "2026-05-03",
                "2026-05-03",
            ),
            // Training again on the old version after the new one is in force does not count.
            evidence(
                "a7-again",
                ANN,
                Verb::Completed,
                "7",
                None,
                "2026-05-03",
                "2026-05-03",
            ),
        ],
    );
    let grace = GracePolicy::GraceDays(14);
    let ann = status(&e, "ann", grace, "2026-05-10", "2026-05-10");
    assert_eq!(ann.status, Status::QualifiedInGrace);
    assert_eq!(ann.version.as_deref(), Some("8"));
    assert_eq!(
        status(&e, "bob", grace, "2026-05-10", "2026-05-10").status,
        Status::Qualified
    );
    let late = status(&e, "ann", grace, "2026-05-16", "2026-05-16");
    assert_eq!(
        (late.status, late.reason),
        (Status::NotQualified, Some(Reason::VersionSuperseded))
    );
    let strict = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-05-01",
        "2026-05-01",
    );
    assert_eq!(
        (strict.status, strict.reason),
        (Status::NotQualified, Some(Reason::VersionSuperseded))
    );
    assert_eq!(
        status(&e, "ann", grace, "2026-04-30", "2026-04-30").status,
        Status::Qualified,
        "v7 in force"
    );
}

#[test]
fn s3_an_editorial_revision_keeps_qualification() {
    let e = engine(
        vec![
            version("8", "2026-05-01", TrainingImpact::Full),
            version("9", "2026-06-01", TrainingImpact::None),
        ],
        vec![rule(1, None, "2025-01-01")],
        vec![evidence(
            "b8",
            BOB,
            Verb::Completed,
            "8",
            None,
            "2026-05-03",
            "2026-05-03",
        )],
    );
    let q = status(
        &e,
        "bob",
        GracePolicy::TrainBeforeEffective,
        "2026-07-01",
        "2026-07-01",
    );
    assert_eq!(q.status, Status::Qualified);
    assert_eq!(q.version.as_deref(), Some("9"));
    assert_eq!(
        q.evidence,
        vec!["b8".to_string()],
        "the v8 evidence carries over"
    );
}

#[test]
fn s4_a_void_changes_what_is_known_now_not_what_was_known_then() {
    let mut passed = evidence(
        "p1",
        ANN,
        Verb::Passed,
        "7",
        Some(0.9),
        "2026-02-01",
        "2026-02-01",
    );
    passed.voided = Some(at("2026-03-01"));
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![rule(1, Some(0.8), "2025-01-01")],
        vec![passed],
    );
    let then = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-02-15",
        "2026-02-15",
    );
    assert_eq!(then.status, Status::Qualified);
    let now = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-02-15",
        "2026-04-01",
    );
    assert_eq!(
        (now.status, now.reason),
        (Status::NotQualified, Some(Reason::EvidenceVoided))
    );
}

#[test]
fn s6_a_backdated_completion_does_not_qualify_as_known_then() {
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![rule(1, None, "2025-01-01")],
        vec![evidence(
            "late",
            ANN,
            Verb::Completed,
            "7",
            None,
            "2026-03-01",
            "2026-03-10",
        )],
    );
    let then = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-04",
        "2026-03-04",
    );
    assert_eq!(
        (then.status, then.reason),
        (Status::NotQualified, Some(Reason::NeverTrained))
    );
    let now = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-04",
        "2026-03-11",
    );
    assert_eq!(
        now.status,
        Status::Qualified,
        "as known now, the completion dates from before the step"
    );
}

#[test]
fn s7_relative_recurrence_expires_and_early_renewal_extends_from_the_old_expiry() {
    let year = SignedDuration::from_hours(24 * 365);
    let recurrence = Recurrence::Relative {
        every: year.into(),
        early_window: SignedDuration::from_hours(24 * 60),
        grace: SignedDuration::ZERO,
    };
    let e = engine(
        vec![version("1", "2024-01-01", TrainingImpact::Full)],
        vec![rule(1, None, "2024-01-01")],
        vec![
            evidence(
                "y1",
                ANN,
                Verb::Completed,
                "1",
                None,
                "2025-04-10",
                "2025-04-10",
            ),
            evidence(
                "y2",
                ANN,
                Verb::Completed,
                "1",
                None,
                "2026-03-01",
                "2026-03-01",
            ),
        ],
    );
    let ask = |t: &str| {
        e.procedure_status(
            "ann",
            SOP,
            GracePolicy::TrainBeforeEffective,
            recurrence,
            at(t),
            at("2030-01-01"),
        )
    };
    // Before the early renewal was made, the first completion expires after a year.
    let before_renewal = e.procedure_status(
        "ann",
        SOP,
        GracePolicy::TrainBeforeEffective,
        recurrence,
        at("2026-02-28"),
        at("2026-02-28"),
    );
    assert_eq!(
        before_renewal.expires_at,
        at("2025-04-10").checked_add(year).ok()
    );
    // The renewal inside the 60-day window extends from the old expiry (2026-04-10 + 1 year).
    let renewed = ask("2027-04-09");
    assert_eq!(renewed.status, Status::Qualified);
    assert_eq!(
        renewed.expires_at,
        at("2025-04-10")
            .checked_add(year)
            .and_then(|t| t.checked_add(year))
            .ok()
    );
    let expired = ask("2027-04-11");
    assert_eq!(
        (expired.status, expired.reason),
        (Status::NotQualified, Some(Reason::Expired))
    );
}

#[test]
fn s9_failed_attempts_are_kept_and_mastery_is_judged_by_the_rule_of_the_attempt() {
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![
            rule(1, Some(0.8), "2025-01-01"),
            rule(2, Some(0.9), "2026-03-01"),
        ],
        vec![
            evidence(
                "f1",
                ANN,
                Verb::Failed,
                "7",
                Some(0.5),
                "2026-02-01",
                "2026-02-01",
            ),
            evidence(
                "f2",
                ANN,
                Verb::Failed,
                "7",
                Some(0.7),
                "2026-02-02",
                "2026-02-02",
            ),
            evidence(
                "p",
                ANN,
                Verb::Passed,
                "7",
                Some(0.85),
                "2026-02-03",
                "2026-02-03",
            ),
            evidence(
                "low",
                BOB,
                Verb::Passed,
                "7",
                Some(0.75),
                "2026-02-03",
                "2026-02-03",
            ),
        ],
    );
    let q = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-04-01",
        "2026-04-01",
    );
    assert_eq!(q.status, Status::Qualified);
    assert_eq!(q.evidence, vec!["p".to_string()]);
    assert_eq!(
        q.rule,
        Some(("sop-read".to_string(), 1)),
        "judged by the rule in force at the attempt"
    );
    let bob = status(
        &e,
        "bob",
        GracePolicy::TrainBeforeEffective,
        "2026-04-01",
        "2026-04-01",
    );
    assert_eq!(
        (bob.status, bob.reason),
        (Status::NotQualified, Some(Reason::NeverTrained)),
        "0.75 < 0.8"
    );
}

#[test]
fn s10_a_job_change_brings_new_requirements_and_keeps_history() {
    let sop = |id: &str| Procedure {
        id: id.into(),
        versions: vec![ProcedureVersion {
            version: "1".into(),
            activity_iri: format!("https://qms.example/doc/{id}/v1"),
            effective_from: at("2025-01-01"),
            approved_at: None,
            impact: TrainingImpact::Full,
            rule: "sop-read".into(),
            recorded: always(),
        }],
    };
    let requirement = |id: &str, function: &str, procedure: &str| Requirement {
        id: id.into(),
        scope: Scope::Function {
            function: function.into(),
            site: None,
        },
        procedure: procedure.into(),
        grace: GracePolicy::TrainBeforeEffective,
        recurrence: Recurrence::None,
        due: SignedDuration::from_hours(24 * 30),
        effectiveness: None,
        blocking: true,
        valid: always(),
        recorded: always(),
        prerequisites: Vec::new(),
    };
    let membership = |function: &str, valid: Interval| Membership {
        person: "ann".into(),
        function: function.into(),
        site: None,
        valid,
        recorded: always(),
    };
    let e = Engine::new(
        MasterData {
            identifiers: people(),
            memberships: vec![
                membership(
                    "packaging",
                    Interval::between(at("2025-01-01"), at("2026-06-01")),
                ),
                membership("sterile-filling", Interval::since(at("2026-06-01"))),
            ],
            procedures: vec![sop("SOP-PACK"), sop("SOP-FILL")],
            rules: vec![rule(1, None, "2024-01-01")],
            requirements: vec![
                requirement("r1", "packaging", "SOP-PACK"),
                requirement("r2", "sterile-filling", "SOP-FILL"),
            ],
            ..MasterData::default()
        },
        vec![Evidence {
            statement_id: "pack".into(),
            ifi: ANN.into(),
            verb: Verb::Completed,
            activity_iri: "https://qms.example/doc/SOP-PACK/v1".into(),
            score_scaled: None,
            timestamp: at("2025-02-01"),
            stored: at("2025-02-01"),
            voided: None,
            instructor: None,
            signature: None,
            waiver: None,
        }],
    );
    let now = at("2026-07-01");
    assert_eq!(
        e.functions_of("ann", at("2026-06-02"), now),
        vec!["sterile-filling"]
    );
    assert_eq!(
        e.function_status("ann", "sterile-filling", at("2026-06-02"), now)
            .status,
        Status::NotQualified
    );
    assert_eq!(
        e.function_status("ann", "packaging", at("2026-05-31"), now)
            .status,
        Status::Qualified,
        "history stays answerable"
    );
    assert_eq!(
        e.function_status("ann", "packaging", at("2026-06-02"), now)
            .status,
        Status::NotQualified,
        "no longer in the function"
    );
}

#[test]
fn an_identifier_learned_later_does_not_attribute_evidence_earlier() {
    let late_id = PersonIdentifier {
        person: "ann".into(),
        ifi: "account:https://hr.example\nE7".into(),
        recorded: Interval::since(at("2026-03-01")),
    };
    let e = Engine::new(
        MasterData {
            identifiers: vec![late_id],
            procedures: vec![Procedure {
                id: SOP.into(),
                versions: vec![version("7", "2026-01-01", TrainingImpact::Full)],
            }],
            rules: vec![rule(1, None, "2025-01-01")],
            ..MasterData::default()
        },
        vec![evidence(
            "c",
            "account:https://hr.example\nE7",
            Verb::Completed,
            "7",
            None,
            "2026-02-01",
            "2026-02-01",
        )],
    );
    assert_eq!(
        e.person_of("account:https://hr.example\nE7", at("2026-02-15")),
        None
    );
    assert_eq!(
        status(
            &e,
            "ann",
            GracePolicy::TrainBeforeEffective,
            "2026-02-15",
            "2026-02-15"
        )
        .status,
        Status::NotQualified
    );
    assert_eq!(
        status(
            &e,
            "ann",
            GracePolicy::TrainBeforeEffective,
            "2026-02-15",
            "2026-03-02"
        )
        .status,
        Status::Qualified
    );
}

fn signature(
    id: &str,
    ifi: &str,
    person: &str,
    meaning: Meaning,
    of: &str,
    when: &str,
) -> Evidence {
    Evidence {
        verb: Verb::Signed,
        signature: Some(Box::new(crate::model::Signature {
            meaning,
            person: person.into(),
            printed_name: format!("{person} (printed)"),
            of: Some(of.into()),
            record_sha256: "00".into(),
        })),
        ..evidence(id, ifi, Verb::Signed, "7", None, when, when)
    }
}

/// regulated.md 2.3, C1, B2 (4): a document read needs the learner's READ_AND_UNDERSTOOD
/// signature, a trainer's verification is not the learner's own, and the completion is achieved
/// (and known) when its last signature is.
#[test]
fn s1_required_signatures_complete_a_completion_when_the_last_is_signed() {
    let mut read = rule(1, None, "2025-01-01");
    read.signatures = vec![
        Meaning::ReadAndUnderstood,
        Meaning::TrainerVerifiedPerformance,
    ];
    let training = evidence(
        "c1",
        ANN,
        Verb::Completed,
        "7",
        None,
        "2026-02-01",
        "2026-02-01",
    );
    let only_training = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![read.clone()],
        vec![training.clone()],
    );
    let q = status(
        &only_training,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(
        (q.status, q.reason),
        (Status::NotQualified, Some(Reason::SignatureMissing))
    );

    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![read],
        vec![
            training,
            // Bob "reads and understands" for Ann, Ann verifies herself: neither counts.
            signature(
                "s-bob-ru",
                BOB,
                "bob",
                Meaning::ReadAndUnderstood,
                "c1",
                "2026-02-02",
            ),
            signature(
                "s-ann-tv",
                ANN,
                "ann",
                Meaning::TrainerVerifiedPerformance,
                "c1",
                "2026-02-02",
            ),
            signature(
                "s-ann-ru",
                ANN,
                "ann",
                Meaning::ReadAndUnderstood,
                "c1",
                "2026-02-03",
            ),
            signature(
                "s-bob-tv",
                BOB,
                "bob",
                Meaning::TrainerVerifiedPerformance,
                "c1",
                "2026-02-05",
            ),
        ],
    );
    let before = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-02-04",
        "2026-03-01",
    );
    assert_eq!(
        (before.status, before.reason),
        (Status::NotQualified, Some(Reason::SignatureMissing))
    );
    let q = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(q.status, Status::Qualified);
    assert_eq!(q.achieved_at, Some(at("2026-02-05")));
    assert_eq!(q.evidence, vec!["c1", "s-ann-ru", "s-bob-tv"]);
    let signed: Vec<(&str, Meaning, &str)> = q
        .signatures
        .iter()
        .map(|s| (s.person.as_str(), s.meaning, s.printed_name.as_str()))
        .collect();
    assert_eq!(
        signed,
        vec![
            ("ann", Meaning::ReadAndUnderstood, "ann (printed)"),
            ("bob", Meaning::TrainerVerifiedPerformance, "bob (printed)"),
        ]
    );
    // As known before the trainer signed, the answer was "signature missing".
    let then = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-02-04",
    );
    assert_eq!(then.reason, Some(Reason::SignatureMissing));
    assert_eq!(e.signatures_on("c1", at("2026-03-01")).len(), 4);
    assert_eq!(
        e.evidence_count(),
        1,
        "signatures are not training attempts"
    );
}

/// regulated.md 2.2, 2.3: a cmi5 `waived` statement replaces the training only for a reason the
/// rule allows, and only once someone other than the learner signed WAIVER_APPROVED.
#[test]
fn a_waiver_counts_for_an_allowed_reason_with_qa_approval() {
    let mut read = rule(1, None, "2025-01-01");
    read.signatures = vec![Meaning::ReadAndUnderstood];
    read.waiver_reasons = vec!["Tested Out".into()];
    let waived = |id: &str, reason: &str| Evidence {
        waiver: Some(reason.into()),
        ..evidence(id, ANN, Verb::Waived, "7", None, "2026-02-01", "2026-02-01")
    };
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![read],
        vec![
            waived("w-admin", "Administrative"),
            waived("w-tested", "Tested Out"),
            signature(
                "s-admin",
                BOB,
                "bob",
                Meaning::WaiverApproved,
                "w-admin",
                "2026-02-02",
            ),
            signature(
                "s-own",
                ANN,
                "ann",
                Meaning::WaiverApproved,
                "w-tested",
                "2026-02-02",
            ),
        ],
    );
    let q = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(
        (q.status, q.reason),
        (Status::NotQualified, Some(Reason::SignatureMissing)),
        "a reason the rule does not allow never counts; Ann cannot approve her own waiver"
    );
    let mut evidence: Vec<Evidence> = vec![
        waived("w-tested", "Tested Out"),
        signature(
            "s-qa",
            BOB,
            "bob",
            Meaning::WaiverApproved,
            "w-tested",
            "2026-02-03",
        ),
    ];
    let mut read = rule(1, None, "2025-01-01");
    read.signatures = vec![Meaning::ReadAndUnderstood];
    read.waiver_reasons = vec!["Tested Out".into()];
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![read.clone()],
        evidence.clone(),
    );
    let q = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(q.status, Status::Qualified, "{q:?}");
    assert_eq!(q.evidence, vec!["w-tested", "s-qa"]);
    assert_eq!(q.achieved_at, Some(at("2026-02-03")));
    // B2: only a signer holding the QA role when signing approves a waiver.
    let not_yet_qa = Engine::new(
        MasterData {
            identifiers: people(),
            procedures: vec![Procedure {
                id: SOP.into(),
                versions: vec![version("7", "2026-01-01", TrainingImpact::Full)],
            }],
            rules: vec![read.clone()],
            roles: vec![crate::model::RoleGrant {
                person: "bob".into(),
                role: crate::model::Role::Qa,
                valid: Interval::since(at("2026-02-05")),
                recorded: always(),
            }],
            ..MasterData::default()
        },
        evidence.clone(),
    );
    let q = status(
        &not_yet_qa,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(q.reason, Some(Reason::SignatureMissing));
    // Without the reason among the rule's, the same evidence does not count.
    read.waiver_reasons.clear();
    evidence.truncate(2);
    let e = engine(
        vec![version("7", "2026-01-01", TrainingImpact::Full)],
        vec![read],
        evidence,
    );
    let q = status(
        &e,
        "ann",
        GracePolicy::TrainBeforeEffective,
        "2026-03-01",
        "2026-03-01",
    );
    assert_eq!(
        (q.status, q.reason),
        (Status::NotQualified, Some(Reason::NeverTrained))
    );
}

/// regulated.md 2.4: "if recurrence due and T < due + grace: QUALIFIED_IN_GRACE"; after the
/// grace, EXPIRED.
#[test]
fn s7_a_recurrence_grace_keeps_an_expired_completion_in_grace_for_its_days() {
    let year = SignedDuration::from_hours(24 * 365);
    let recurrence = Recurrence::Relative {
        every: year.into(),
        early_window: SignedDuration::ZERO,
        grace: SignedDuration::from_hours(24 * 14),
    };
    let e = engine(
        vec![version("1", "2024-01-01", TrainingImpact::Full)],
        vec![rule(1, None, "2024-01-01")],
        vec![evidence(
            "y1",
            ANN,
            Verb::Completed,
            "1",
            None,
            "2025-04-10",
            "2025-04-10",
        )],
    );
    let ask = |t: &str| {
        e.procedure_status(
            "ann",
            SOP,
            GracePolicy::TrainBeforeEffective,
            recurrence,
            at(t),
            at(t),
        )
    };
    assert_eq!(ask("2026-04-09").status, Status::Qualified);
    let in_grace = ask("2026-04-20");
    assert_eq!(in_grace.status, Status::QualifiedInGrace);
    assert_eq!(in_grace.evidence, vec!["y1"]);
    assert_eq!(
        in_grace.expires_at,
        at("2026-04-24").checked_sub(SignedDuration::ZERO).ok()
    );
    let after = ask("2026-04-25");
    assert_eq!(
        (after.status, after.reason),
        (Status::NotQualified, Some(Reason::Expired))
    );
}

/// regulated.md 2.3: `experienced` (a document viewed) counts only with the learner's
/// READ_AND_UNDERSTOOD, `attended` only with a trainer's verification; alone, never.
#[test]
fn a_view_or_an_attendance_counts_only_with_the_signature_that_makes_it_a_record() {
    let viewed = evidence(
        "v1",
        ANN,
        Verb::Experienced,
        "7",
        None,
        "2026-02-01",
        "2026-02-01",
    );
    let attended = evidence(
        "a1",
        ANN,
        Verb::Attended,
        "7",
        None,
        "2026-02-01",
        "2026-02-01",
    );
    let ask = |signatures: Vec<Meaning>, evidence: Vec<Evidence>| {
        let mut r = rule(1, None, "2025-01-01");
        r.signatures = signatures;
        let e = engine(
            vec![version("7", "2026-01-01", TrainingImpact::Full)],
            vec![r],
            evidence,
        );
        let q = status(
            &e,
            "ann",
            GracePolicy::TrainBeforeEffective,
            "2026-03-01",
            "2026-03-01",
        );
        (q.status, q.reason)
    };
    assert_eq!(
        ask(Vec::new(), vec![viewed.clone(), attended.clone()]),
        (Status::NotQualified, Some(Reason::NeverTrained)),
        "not by themselves"
    );
    assert_eq!(
        ask(vec![Meaning::ReadAndUnderstood], vec![viewed.clone()]),
        (Status::NotQualified, Some(Reason::SignatureMissing))
    );
    assert_eq!(
        ask(
            vec![Meaning::ReadAndUnderstood],
            vec![
                viewed.clone(),
                signature(
                    "s",
                    ANN,
                    "ann",
                    Meaning::ReadAndUnderstood,
                    "v1",
                    "2026-02-02"
                )
            ]
        ),
        (Status::Qualified, None)
    );
    assert_eq!(
        ask(
            vec![Meaning::TrainerVerifiedPerformance],
            vec![
                attended.clone(),
                signature(
                    "t",
                    BOB,
                    "bob",
                    Meaning::TrainerVerifiedPerformance,
                    "a1",
                    "2026-02-02"
                )
            ]
        ),
        (Status::Qualified, None)
    );
    assert_eq!(
        ask(
            vec![Meaning::ReadAndUnderstood],
            vec![
                attended,
                signature(
                    "s",
                    ANN,
                    "ann",
                    Meaning::ReadAndUnderstood,
                    "a1",
                    "2026-02-02"
                )
            ]
        ),
        (Status::NotQualified, Some(Reason::NeverTrained)),
        "an attendance is no reading"
    );
}

/// regulated.md 2.3, C2: a signature vouches for the record as it stood: an old signature on
/// an earlier attempt does not carry over to a later pair of attempts.
#[test]
fn an_old_signature_does_not_renew_a_later_completion() {
    let mut read = rule(1, None, "2024-01-01");
    read.move_on = MoveOn::CompletedAndPassed;
    read.signatures = vec![Meaning::ReadAndUnderstood];
    let year = SignedDuration::from_hours(24 * 365);
    let e = engine(
        vec![version("7", "2024-01-01", TrainingImpact::Full)],
        vec![read],
        vec![
            evidence(
                "p1",
                ANN,
                Verb::Passed,
                "7",
                Some(0.9),
                "2025-01-01",
                "2025-01-01",
            ),
            evidence(
                "c1",
                ANN,
                Verb::Completed,
                "7",
                None,
                "2025-01-01",
                "2025-01-01",
            ),
            signature(
                "s1",
                ANN,
                "ann",
                Meaning::ReadAndUnderstood,
                "p1",
                "2025-01-02",
            ),
            evidence(
                "c2",
                ANN,
                Verb::Completed,
                "7",
                None,
                "2026-01-10",
                "2026-01-10",
            ),
        ],
    );
    let q = e.procedure_status(
        "ann",
        SOP,
        GracePolicy::TrainBeforeEffective,
        Recurrence::Relative {
            every: year.into(),
            early_window: SignedDuration::ZERO,
            grace: SignedDuration::ZERO,
        },
        at("2026-03-01"),
        at("2026-03-01"),
    );
    assert_eq!(
        (q.status, q.reason),
        (Status::NotQualified, Some(Reason::Expired)),
        "{q:?}"
    );
}
