//! Assignments and reports (regulated.md S2, S3, S7, S8, S10 and the gap/overdue/expiry reports),
//! on facts given as the API takes them.
use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::Fact;

fn at(day: &str) -> Timestamp {
    format!("{day}T09:00:00Z").parse().expect("timestamp")
}

fn ts(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn facts(list: Vec<Value>) -> Vec<(Fact, Timestamp)> {
    list.into_iter()
        .map(|f| {
            let recorded = at("2024-01-01");
            (Fact::parse(&f).expect("fact"), recorded)
        })
        .collect()
}

const SOP: &str = "https://qms.example/doc/SOP-123";

fn completed(id: &str, who: &str, version: &str, when: &str) -> Evidence {
    Evidence {
        statement_id: id.into(),
        ifi: format!("mbox:mailto:{who}@plant.example").into(),
        verb: Verb::Completed,
        activity_iri: format!("{SOP}/v{version}").into(),
        score_scaled: None,
        timestamp: at(when),
        stored: at(when),
        voided: None,
        instructor: None,
        signature: None,
        waiver: None,
    }
}

fn quiz(id: &str, who: &str, verb: Verb, score: f64, when: &str) -> Evidence {
    Evidence {
        statement_id: id.into(),
        ifi: format!("mbox:mailto:{who}@plant.example").into(),
        verb,
        activity_iri: "https://lms.example/quiz/SOP-123".into(),
        score_scaled: Some(score),
        timestamp: at(when),
        stored: at(when),
        voided: None,
        instructor: None,
        signature: None,
        waiver: None,
    }
}

/// Ann and Bob in Packaging at site A, Cid in Packaging at site B; SOP-123 v7 (FULL), v8 (FULL,
/// approved 2026-04-20, effective 2026-05-01), v9 (editorial, 2026-07-01).
fn plant(extra: Vec<Value>, evidence: Vec<Evidence>) -> Engine {
    let mut list = vec![
        json!({"kind": "site", "id": "A", "name": "Plant A", "time_zone": "Europe/Dublin"}),
        json!({"kind": "site", "id": "B", "name": "Plant B"}),
        json!({"kind": "rule", "id": "read", "version": 1, "move_on": "COMPLETED", "effective_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": format!("{SOP}/v7"),
               "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "8", "activity_iri": format!("{SOP}/v8"),
               "effective_from": "2026-05-01T00:00:00Z", "approved_at": "2026-04-20T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "9", "activity_iri": format!("{SOP}/v9"),
               "effective_from": "2026-07-01T00:00:00Z", "impact": "NONE", "rule": "read"}),
        json!({"kind": "requirement", "id": "PACK-SOP-123", "function": "packaging", "procedure": "SOP-123",
               "grace_days": 14, "due_days": 30, "valid_from": "2020-01-01T00:00:00Z"}),
    ];
    for (person, site) in [("ann", "A"), ("bob", "A"), ("cid", "B")] {
        list.push(json!({"kind": "person", "id": person, "name": person.to_uppercase()}));
        list.push(json!({"kind": "person_identifier", "person": person,
                          "agent": {"mbox": format!("mailto:{person}@plant.example")}}));
        list.push(
            json!({"kind": "membership", "person": person, "function": "packaging", "site": site,
                          "valid_from": "2025-06-01T00:00:00Z"}),
        );
    }
    list.extend(extra);
    crate::engine(&facts(list), evidence)
}

fn statuses(
    e: &Engine,
    person: &str,
    t: &str,
) -> Vec<(AssignmentReason, String, AssignmentStatus)> {
    e.assignments(person, at(t), at("2030-01-01"))
        .into_iter()
        .map(|a| (a.reason, a.version, a.status))
        .collect()
}

#[test]
fn s2_a_full_revision_assigns_everyone_in_the_function_due_after_the_grace_days() {
    let e = plant(
        vec![],
        vec![
            completed("ann7", "ann", "7", "2026-01-10"),
            completed("bob7", "bob", "7", "2026-01-12"),
            completed("cid7", "cid", "7", "2026-01-12"),
            completed("ann8", "ann", "8", "2026-04-25"),
            // A v7 completion after v8 exists does not satisfy v8.
            completed("bob7again", "bob", "7", "2026-05-03"),
        ],
    );
    let revision = |person: &str, t: &str| {
        e.assignments(person, at(t), at("2030-01-01"))
            .into_iter()
            .find(|a| a.reason == AssignmentReason::DocRevision)
            .expect("a revision assignment")
    };
    let bob = revision("bob", "2026-05-10");
    assert_eq!(bob.version, "8");
    assert_eq!(bob.assigned_at, ts("2026-04-20T00:00:00Z"));
    assert_eq!(bob.due_at, ts("2026-05-15T00:00:00Z"));
    assert_eq!(bob.status, AssignmentStatus::Open);
    assert_eq!(
        revision("ann", "2026-05-10").status,
        AssignmentStatus::Complete
    );
    assert_eq!(revision("ann", "2026-05-10").evidence, vec!["ann8"]);
    assert_eq!(
        revision("bob", "2026-05-16").status,
        AssignmentStatus::Overdue
    );
    // Bob joined before v7 took effect: its training was due by v7's effective date + grace.
    let joined = &e.assignments("bob", at("2026-05-16"), at("2030-01-01"))[0];
    assert_eq!(joined.assigned_at, ts("2026-01-01T00:00:00Z"));
    assert_eq!(joined.due_at, ts("2026-01-15T00:00:00Z"));
    // The v7 assignment of joining the function was completed, and stays so.
    assert_eq!(
        statuses(&e, "bob", "2026-05-16")[0],
        (
            AssignmentReason::NewFunction,
            "7".into(),
            AssignmentStatus::Complete
        )
    );
    // Before approval, no revision assignment exists.
    assert!(
        e.assignments("bob", at("2026-04-19"), at("2030-01-01"))
            .iter()
            .all(|a| a.reason != AssignmentReason::DocRevision)
    );

    let overdue = e.overdue(&Filter::default(), at("2026-05-16"), at("2030-01-01"));
    let late: Vec<&str> = overdue.iter().map(|a| a.person.as_str()).collect();
    assert_eq!(late, vec!["bob", "cid"]);
    let site_a = Filter {
        site: Some("A".into()),
        function: None,
    };
    let late_a: Vec<String> = e
        .overdue(&site_a, at("2026-05-16"), at("2030-01-01"))
        .into_iter()
        .map(|a| a.person)
        .collect();
    assert_eq!(late_a, vec!["bob"]);

    // The gap report: in grace on 05-10, not qualified on 05-16.
    let gaps = |t: &str| -> Vec<(String, Status, Option<Reason>)> {
        e.gaps(&site_a, at(t), at("2030-01-01"))
            .into_iter()
            .map(|g| {
                (
                    g.person,
                    g.requirement.qualification.status,
                    g.requirement.qualification.reason,
                )
            })
            .collect()
    };
    assert_eq!(
        gaps("2026-05-10"),
        vec![("bob".into(), Status::QualifiedInGrace, None)]
    );
    assert_eq!(
        gaps("2026-05-16"),
        vec![(
            "bob".into(),
            Status::NotQualified,
            Some(Reason::VersionSuperseded)
        )]
    );
}

#[test]
fn s2_a_revision_supersedes_an_open_assignment_on_the_old_version() {
    // Dan joins in April and does not train before v8 takes effect.
    let e = plant(
        vec![
            json!({"kind": "membership", "person": "dan", "function": "packaging", "site": "A",
                     "valid_from": "2026-04-01T00:00:00Z"}),
        ],
        vec![],
    );
    assert_eq!(
        statuses(&e, "dan", "2026-05-02"),
        vec![
            (
                AssignmentReason::NewFunction,
                "7".into(),
                AssignmentStatus::Superseded
            ),
            (
                AssignmentReason::DocRevision,
                "8".into(),
                AssignmentStatus::Open
            ),
        ]
    );
}

#[test]
fn s3_an_editorial_revision_creates_no_assignment() {
    let e = plant(
        vec![],
        vec![
            completed("ann7", "ann", "7", "2026-01-10"),
            completed("ann8", "ann", "8", "2026-04-25"),
        ],
    );
    let all = statuses(&e, "ann", "2026-08-01");
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|(_, _, s)| *s == AssignmentStatus::Complete));
    assert_eq!(
        e.person_status("ann", at("2026-08-01"), at("2030-01-01"))
            .status,
        Status::Qualified
    );
}

#[test]
fn s7_an_expiring_completion_is_reassigned_in_its_early_window_and_reported() {
    let e = plant(
        vec![
            json!({"kind": "requirement", "id": "GMP-ANNUAL", "function": "packaging", "procedure": "GMP",
                     "recurrence_days": 365, "early_window_days": 60, "valid_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "GMP", "version": "1",
                    "activity_iri": "https://lms.example/gmp", "effective_from": "2020-01-01T00:00:00Z",
                    "impact": "FULL", "rule": "read"}),
        ],
        vec![
            Evidence {
                activity_iri: "https://lms.example/gmp".into(),
                ..completed("gmp1", "ann", "-", "2025-06-10")
            },
            Evidence {
                activity_iri: "https://lms.example/gmp".into(),
                ..completed("gmp2", "ann", "-", "2026-05-01")
            },
        ],
    );
    let gmp = |t: &str| -> Vec<(AssignmentReason, AssignmentStatus, Timestamp)> {
        e.assignments("ann", at(t), at("2030-01-01"))
            .into_iter()
            .filter(|a| a.requirement == "GMP-ANNUAL")
            .map(|a| (a.reason, a.status, a.due_at))
            .collect()
    };
    // Expiry 2026-06-10; the reminder assignment opens 60 days before.
    assert_eq!(gmp("2026-04-10").len(), 1);
    let renewed = gmp("2026-05-02");
    assert_eq!(renewed[1].0, AssignmentReason::Recurrence);
    assert_eq!(renewed[1].1, AssignmentStatus::Complete);
    assert_eq!(renewed[1].2, at("2026-06-10"));
    // The early renewal extends from the old expiry: next due 2027-06-10.
    let later = gmp("2027-05-01");
    assert_eq!(later[2].1, AssignmentStatus::Open);
    assert_eq!(later[2].2, at("2027-06-10"));
    let soon = e.expiring(
        &Filter::default(),
        at("2027-05-01"),
        at("2027-07-01"),
        at("2030-01-01"),
    );
    assert_eq!(soon.len(), 1);
    assert_eq!(soon[0].person, "ann");
    assert_eq!(soon[0].expires_at, at("2027-06-10"));
}

#[test]
fn s8_a_capa_assigns_named_people_and_checks_effectiveness() {
    let capa = vec![
        json!({"kind": "quality_event", "id": "CAPA-14", "type": "CAPA", "title": "Retrain on line clearance",
               "activity_iri": "https://qms.example/capa/CAPA-14", "opened_at": "2026-06-01T00:00:00Z"}),
        json!({"kind": "requirement", "id": "CAPA-14-SOP-123", "quality_event": "CAPA-14", "persons": ["ann", "bob", "cid"],
               "procedure": "SOP-123", "due_days": 10, "valid_from": "2026-06-01T00:00:00Z",
               "effectiveness": {"activity_iri": "https://lms.example/quiz/SOP-123", "after_days": 30, "mastery": 0.8}}),
    ];
    let e = plant(
        capa,
        vec![
            completed("ann8", "ann", "8", "2026-04-25"),
            completed("ann8again", "ann", "8", "2026-06-05"),
            completed("bob8", "bob", "8", "2026-06-06"),
            quiz("annquiz", "ann", Verb::Passed, 0.9, "2026-07-10"),
            quiz("bobquiz-early", "bob", Verb::Failed, 0.5, "2026-06-20"),
            quiz("bobquiz", "bob", Verb::Failed, 0.6, "2026-07-10"),
        ],
    );
    let k = at("2030-01-01");
    let capa_of = |person: &str, t: &str| -> Vec<Assignment> {
        e.assignments(person, at(t), k)
            .into_iter()
            .filter(|a| a.quality_event.as_deref() == Some("CAPA-14"))
            .collect()
    };
    // Retraining: Ann's April completion does not close the CAPA assignment; June's does.
    let ann = capa_of("ann", "2026-06-20");
    assert_eq!(ann[0].reason, AssignmentReason::QualityEvent);
    assert_eq!(ann[0].due_at, ts("2026-06-11T00:00:00Z"));
    assert_eq!(ann[0].evidence, vec!["ann8again"]);
    assert_eq!(
        ann[0].effectiveness,
        Some(Check {
            state: EffectivenessState::Pending,
            statement: None,
            score: None
        })
    );
    let requirement = |person: &str, t: &str| {
        e.person_status(person, at(t), k)
            .requirements
            .into_iter()
            .find(|r| r.quality_event.is_some())
            .expect("the CAPA requirement")
            .qualification
    };
    assert_eq!(
        requirement("ann", "2026-06-20").status,
        Status::TrainedEffectivenessPending
    );
    assert_eq!(requirement("ann", "2026-07-11").status, Status::Qualified);
    // Bob's quiz before the 30 days does not count; the one after fails: the assignment reopens.
    let bob = capa_of("bob", "2026-07-11");
    assert_eq!(
        bob[0].effectiveness,
        Some(Check {
            state: EffectivenessState::Failed,
            statement: Some("bobquiz".into()),
            score: Some(0.6)
        })
    );
    assert_eq!(bob[1].reason, AssignmentReason::EffectivenessFailed);
    assert_eq!(bob[1].status, AssignmentStatus::Open);
    assert_eq!(
        requirement("bob", "2026-07-11").reason,
        Some(Reason::EffectivenessFailed)
    );
    // Cid never retrained: overdue after 10 days, and not qualified on the blocking requirement.
    assert_eq!(
        capa_of("cid", "2026-06-12")[0].status,
        AssignmentStatus::Overdue
    );
    assert_eq!(
        e.person_status("cid", at("2026-06-12"), k).status,
        Status::NotQualified
    );
    assert_eq!(e.requirements_of_event("CAPA-14", k).len(), 1);
    // Registrations are stable and distinct.
    assert_ne!(ann[0].registration, bob[0].registration);
    assert_eq!(
        capa_of("ann", "2026-06-20")[0].registration,
        ann[0].registration
    );
}

#[test]
fn s10_a_job_change_cancels_open_assignments_and_assigns_the_new_function() {
    let e = plant(
        vec![
            json!({"kind": "membership", "person": "eve", "function": "packaging", "site": "A",
                   "valid_from": "2026-05-20T00:00:00Z", "valid_to": "2026-06-01T00:00:00Z"}),
            json!({"kind": "membership", "person": "eve", "function": "filling", "site": "A",
                   "valid_from": "2026-06-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "SOP-FILL", "version": "1",
                   "activity_iri": "https://qms.example/doc/SOP-FILL/v1", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "read"}),
            json!({"kind": "requirement", "id": "FILL", "function": "filling", "procedure": "SOP-FILL",
                   "due_days": 7, "valid_from": "2020-01-01T00:00:00Z"}),
        ],
        vec![],
    );
    let eve = e.assignments("eve", at("2026-06-02"), at("2030-01-01"));
    let summary: Vec<(&str, AssignmentStatus)> = eve
        .iter()
        .map(|a| (a.requirement.as_str(), a.status))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("PACK-SOP-123", AssignmentStatus::Cancelled),
            ("FILL", AssignmentStatus::Open)
        ]
    );
    assert_eq!(eve[0].closed_at, Some(ts("2026-06-01T00:00:00Z")));
    assert_eq!(
        e.function_status("eve", "packaging", at("2026-06-02"), at("2030-01-01"))
            .reason,
        Some(Reason::NotInFunction)
    );
    // The gap report by function shows Eve under filling only.
    let filling = Filter {
        site: None,
        function: Some("filling".into()),
    };
    let gaps = e.gaps(&filling, at("2026-06-02"), at("2030-01-01"));
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].requirement.requirement, "FILL");
    assert_eq!(gaps[0].sites, vec!["A"]);
}

#[test]
fn an_unknown_person_is_not_qualified_and_non_blocking_gaps_do_not_decide() {
    let e = plant(
        vec![
            json!({"kind": "procedure_version", "procedure": "NEWS", "version": "1",
                   "activity_iri": "https://lms.example/news", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "read"}),
            json!({"kind": "requirement", "id": "NEWSLETTER", "function": "packaging", "procedure": "NEWS",
                   "blocking": false, "valid_from": "2020-01-01T00:00:00Z"}),
        ],
        vec![completed("ann7", "ann", "7", "2026-01-10")],
    );
    let k = at("2030-01-01");
    let nobody = e.person_status("nobody", at("2026-02-01"), k);
    assert_eq!(
        (nobody.status, nobody.reason),
        (Status::NotQualified, Some(Reason::UnknownPerson))
    );
    let ann = e.person_status("ann", at("2026-02-01"), k);
    assert_eq!(
        ann.status,
        Status::Qualified,
        "the newsletter does not block"
    );
    assert_eq!(
        e.function_status("ann", "packaging", at("2026-02-01"), k)
            .status,
        Status::Qualified
    );
    assert_eq!(
        e.function_summary("ann", "packaging", at("2026-02-01"), k),
        Status::Qualified
    );
    assert!(
        ann.requirements.iter().any(
            |r| r.requirement == "NEWSLETTER" && r.qualification.status == Status::NotQualified
        ),
        "but it is listed"
    );
}

#[test]
fn s7_calendar_month_recurrence_keeps_the_anniversary_across_a_leap_day() {
    let e = plant(
        vec![
            json!({"kind": "procedure_version", "procedure": "GMP", "version": "1",
                   "activity_iri": "https://lms.example/gmp", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "read"}),
            json!({"kind": "requirement", "id": "GMP-ANNUAL", "function": "packaging", "procedure": "GMP",
                   "recurrence_months": 12, "early_window_days": 60, "valid_from": "2020-01-01T00:00:00Z"}),
        ],
        vec![Evidence {
            activity_iri: "https://lms.example/gmp".into(),
            ..completed("gmp", "ann", "-", "2027-04-10")
        }],
    );
    let q = e
        .procedure_answer("ann", "GMP", at("2028-01-01"), at("2030-01-01"))
        .0;
    // 2028 is a leap year: 366 days later, on the same date.
    assert_eq!(q.expires_at, Some(at("2028-04-10")));
    assert_eq!(
        e.procedure_answer("ann", "GMP", at("2028-04-11"), at("2030-01-01"))
            .0
            .reason,
        Some(Reason::Expired)
    );
    let refused = Fact::parse(
        &json!({"kind": "requirement", "id": "R", "function": "F", "procedure": "P",
        "recurrence_days": 365, "recurrence_months": 12, "valid_from": "2020-01-01T00:00:00Z"}),
    );
    assert!(refused.is_err());
}

#[test]
fn b2_ojt_counts_only_with_a_trainer_qualified_at_the_time() {
    let trainer_iri = "https://qms.example/doc/TRAINER-SOP-123/v1";
    let e = plant(
        vec![
            json!({"kind": "rule", "id": "ojt", "version": 1, "move_on": "COMPLETED",
                   "instructor_qualified_for": "TRAINER-SOP-123", "effective_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "OJT-123", "version": "1",
                   "activity_iri": "https://qms.example/ojt/SOP-123", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "ojt"}),
            json!({"kind": "procedure_version", "procedure": "TRAINER-SOP-123", "version": "1",
                   "activity_iri": trainer_iri, "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "read"}),
            json!({"kind": "person_identifier", "person": "tom", "agent": {"mbox": "mailto:tom@plant.example"}}),
            json!({"kind": "person_identifier", "person": "ivy", "agent": {"mbox": "mailto:ivy@plant.example"}}),
        ],
        vec![
            Evidence {
                activity_iri: trainer_iri.into(),
                ..completed("tom-trainer", "tom", "-", "2026-02-01")
            },
            // Ann with Ivy, who is no trainer; Bob with Tom before Tom qualified; Cid with Tom after.
            Evidence {
                activity_iri: "https://qms.example/ojt/SOP-123".into(),
                instructor: Some("mbox:mailto:ivy@plant.example".into()),
                signature: None,
                waiver: None,
                ..completed("ann-ojt", "ann", "-", "2026-03-01")
            },
            Evidence {
                activity_iri: "https://qms.example/ojt/SOP-123".into(),
                instructor: Some("mbox:mailto:tom@plant.example".into()),
                signature: None,
                waiver: None,
                ..completed("bob-ojt", "bob", "-", "2026-01-15")
            },
            Evidence {
                activity_iri: "https://qms.example/ojt/SOP-123".into(),
                instructor: Some("mbox:mailto:tom@plant.example".into()),
                signature: None,
                waiver: None,
                ..completed("cid-ojt", "cid", "-", "2026-03-01")
            },
            Evidence {
                activity_iri: "https://qms.example/ojt/SOP-123".into(),
                ..completed("cid-alone", "cid", "-", "2026-03-02")
            },
        ],
    );
    let status = |who: &str| {
        e.procedure_answer(who, "OJT-123", at("2026-04-01"), at("2030-01-01"))
            .0
    };
    assert_eq!(
        status("ann").status,
        Status::NotQualified,
        "Ivy is no trainer"
    );
    assert_eq!(
        status("bob").status,
        Status::NotQualified,
        "Tom was not yet a trainer"
    );
    let cid = status("cid");
    assert_eq!(cid.status, Status::Qualified);
    assert_eq!(
        cid.evidence,
        vec!["cid-ojt"],
        "not the one without a trainer"
    );
}

#[test]
fn absolute_recurrence_expires_at_the_next_calendar_boundary() {
    let e = plant(
        vec![
            json!({"kind": "procedure_version", "procedure": "GMP", "version": "1",
                   "activity_iri": "https://lms.example/gmp", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "read"}),
            json!({"kind": "requirement", "id": "GMP-YEAR", "function": "packaging", "procedure": "GMP",
                   "recurrence_date": "01-01", "early_window_days": 31, "valid_from": "2020-01-01T00:00:00Z"}),
        ],
        vec![
            Evidence {
                activity_iri: "https://lms.example/gmp".into(),
                ..completed("gmp-2026", "ann", "-", "2026-03-01")
            },
            // Inside the window before 2027-01-01: good for 2027 too.
            Evidence {
                activity_iri: "https://lms.example/gmp".into(),
                ..completed("gmp-early", "ann", "-", "2026-12-15")
            },
            Evidence {
                activity_iri: "https://lms.example/gmp".into(),
                ..completed("bob-gmp", "bob", "-", "2026-06-01")
            },
        ],
    );
    let k = at("2030-01-01");
    let expiry = |who: &str, t: &str| e.procedure_answer(who, "GMP", at(t), k).0.expires_at;
    assert_eq!(
        expiry("bob", "2026-07-01"),
        Some(ts("2027-01-01T00:00:00Z"))
    );
    assert_eq!(
        e.procedure_answer("bob", "GMP", at("2027-01-02"), k)
            .0
            .reason,
        Some(Reason::Expired)
    );
    assert_eq!(
        expiry("ann", "2027-02-01"),
        Some(ts("2028-01-01T00:00:00Z"))
    );
    for bad in ["02-29", "13-01", "1-01", "01-32"] {
        let fact = json!({"kind": "requirement", "id": "R", "function": "F", "procedure": "P",
            "recurrence_date": bad, "valid_from": "2020-01-01T00:00:00Z"});
        assert!(Fact::parse(&fact).is_err(), "{bad}");
    }
}

#[test]
fn cmi5_satisfied_counts_only_where_the_rule_accepts_it() {
    let satisfied = |id: &str, who: &str, iri: &str| Evidence {
        verb: Verb::Satisfied,
        activity_iri: iri.into(),
        ..completed(id, who, "-", "2026-02-01")
    };
    let e = plant(
        vec![
            json!({"kind": "rule", "id": "cmi5", "version": 1, "move_on": "COMPLETED", "accept_satisfied": true,
                   "effective_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "COURSE", "version": "1",
                   "activity_iri": "https://lms.example/course", "effective_from": "2020-01-01T00:00:00Z",
                   "impact": "FULL", "rule": "cmi5"}),
        ],
        vec![
            satisfied("s1", "ann", "https://lms.example/course"),
            satisfied("s2", "bob", "https://qms.example/doc/SOP-123/v7"),
        ],
    );
    let k = at("2030-01-01");
    assert_eq!(
        e.procedure_answer("ann", "COURSE", at("2026-03-01"), k)
            .0
            .status,
        Status::Qualified
    );
    assert_eq!(
        e.procedure_answer("bob", "SOP-123", at("2026-03-01"), k)
            .0
            .status,
        Status::NotQualified,
        "the read rule does not accept satisfied"
    );
    assert_eq!(
        Verb::from_iri("https://w3id.org/xapi/adl/verbs/satisfied"),
        Verb::Satisfied
    );
}

#[test]
fn late_entries_are_flagged_by_the_rule_threshold() {
    let mut late = completed("late", "ann", "7", "2026-01-10");
    late.stored = at("2026-01-12");
    let e = plant(vec![], vec![late]);
    let q = e.procedure_status(
        "ann",
        "SOP-123",
        GracePolicy::TrainBeforeEffective,
        Recurrence::None,
        at("2026-02-01"),
        at("2030-01-01"),
    );
    assert_eq!(q.late_entries, vec!["late"]);
}

#[test]
fn malformed_facts_are_refused_with_the_reason() {
    let refused = |fact: Value, needle: &str| {
        let error = Fact::parse(&fact).expect_err("refused").to_string();
        assert!(error.contains(needle), "{error}");
    };
    let base = json!({"kind": "requirement", "id": "R", "procedure": "P", "valid_from": "2026-01-01T00:00:00Z"});
    let with = |extra: Value| {
        let mut f = base.clone();
        if let (Some(f), Some(extra)) = (f.as_object_mut(), extra.as_object()) {
            f.extend(extra.clone());
        }
        f
    };
    refused(base.clone(), "exactly one scope");
    refused(
        with(json!({"function": "F", "person": "p"})),
        "exactly one scope",
    );
    refused(with(json!({"person": "p", "site": "A"})), "site narrows");
    refused(with(json!({"quality_event": "Q"})), "persons");
    refused(with(json!({"function": "F", "persons": ["a"]})), "persons");
    refused(
        with(json!({"function": "F", "recurrence_days": 30, "early_window_days": 30})),
        "recurrence_days",
    );
    refused(
        with(json!({"function": "F", "valid_to": "2025-01-01T00:00:00Z"})),
        "valid_to",
    );
    refused(
        with(
            json!({"function": "F", "effectiveness": {"activity_iri": "x", "after_days": 30, "mastery": 8}}),
        ),
        "mastery",
    );
    refused(
        json!({"kind": "site", "id": "A", "name": "A", "time_zone": "Mars/Olympus"}),
        "time zone",
    );
    refused(
        json!({"kind": "quality_event", "id": "Q", "type": "RECALL", "opened_at": "2026-01-01T00:00:00Z"}),
        "unknown variant",
    );
    refused(
        json!({"kind": "person", "id": " ", "name": "x"}),
        "not blank",
    );
    refused(
        with(json!({"function": "F", "recurrence_grace_days": 14})),
        "needs a recurrence",
    );
    refused(
        with(json!({"function": "F", "recurrence_months": 12, "recurrence_grace_days": -1})),
        "between 0 and 36500",
    );
    let rule = |extra: Value| {
        let mut f = json!({"kind": "rule", "id": "r", "version": 1, "move_on": "COMPLETED", "effective_from": "2026-01-01T00:00:00Z"});
        if let (Some(f), Some(extra)) = (f.as_object_mut(), extra.as_object()) {
            f.extend(extra.clone());
        }
        f
    };
    refused(
        rule(json!({"required_signatures": ["LIKED"]})),
        "required_signatures",
    );
    refused(
        rule(json!({"required_signatures": ["WAIVER_APPROVED"]})),
        "required_signatures",
    );
    refused(rule(json!({"waiver_reasons": ["Because"]})), "cmi5 reason");
    refused(
        json!({"kind": "signer", "person": "ann", "verified_by": "ann", "identity_evidence": "x"}),
        "another person",
    );
}

/// regulated.md 2.1 `Curriculum`, 2.4 PREREQ_MISSING, B3: a requirement on a curriculum asks
/// for each item of the version valid at T, as known at K (a corrected version changes the
/// answer from its recording on, not before); an item completed before its prerequisite does
/// not count.
#[test]
fn a_curriculum_requirement_asks_for_each_item_and_prerequisites_come_first() {
    let gmp = "https://qms.example/doc/GMP/v1";
    let curriculum = |items: Value| {
        json!({"kind": "curriculum", "id": "PACK-CURR", "version": 1, "items": items,
               "valid_from": "2020-01-01T00:00:00Z"})
    };
    let mut list = facts(vec![
        json!({"kind": "rule", "id": "read", "version": 1, "move_on": "COMPLETED", "effective_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": format!("{SOP}/v7"),
               "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "procedure_version", "procedure": "GMP", "version": "1", "activity_iri": gmp,
               "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "requirement", "id": "PACK", "function": "packaging", "curriculum": "PACK-CURR",
               "valid_from": "2020-01-01T00:00:00Z"}),
        curriculum(json!([{"procedure": "SOP-123"}])),
    ]);
    for person in ["ann", "bob"] {
        list.extend(facts(vec![
            json!({"kind": "person_identifier", "person": person, "agent": {"mbox": format!("mailto:{person}@plant.example")}}),
            json!({"kind": "membership", "person": person, "function": "packaging", "valid_from": "2025-06-01T00:00:00Z"}),
        ]));
    }
    // Recorded on 2026-06-01: GMP joins the curriculum, to be completed after SOP-123.
    list.push((
        Fact::parse(&curriculum(json!([
            {"procedure": "SOP-123"}, {"procedure": "GMP", "prerequisites": ["SOP-123"]}
        ])))
        .expect("fact"),
        at("2026-06-01"),
    ));
    let on_gmp = |id: &str, who: &str, when: &str| Evidence {
        activity_iri: gmp.into(),
        ..completed(id, who, "-", when)
    };
    let e = crate::engine(
        &list,
        vec![
            on_gmp("ann-gmp", "ann", "2026-02-01"),
            completed("ann-sop", "ann", "7", "2026-02-05"),
            completed("bob-sop", "bob", "7", "2026-01-10"),
            on_gmp("bob-gmp", "bob", "2026-02-01"),
        ],
    );
    let answers = |person: &str, k: &str| -> Vec<(String, Status, Option<Reason>)> {
        let mut list: Vec<_> = e
            .person_status(person, at("2026-07-01"), at(k))
            .requirements
            .into_iter()
            .map(|r| {
                (
                    r.requirement,
                    r.qualification.status,
                    r.qualification.reason,
                )
            })
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    };
    assert_eq!(
        answers("ann", "2026-05-01"),
        vec![("PACK/SOP-123".to_string(), Status::Qualified, None)],
        "as known before the correction, GMP was not in the curriculum"
    );
    assert_eq!(
        answers("ann", "2026-07-01"),
        vec![
            (
                "PACK/GMP".to_string(),
                Status::NotQualified,
                Some(Reason::PrereqMissing)
            ),
            ("PACK/SOP-123".to_string(), Status::Qualified, None),
        ]
    );
    assert_eq!(
        e.person_status("ann", at("2026-07-01"), at("2026-07-01"))
            .status,
        Status::NotQualified
    );
    assert_eq!(
        e.person_status("bob", at("2026-07-01"), at("2026-07-01"))
            .status,
        Status::Qualified
    );
    // The item's assignment stays open until it is completed after its prerequisite.
    let gmp_assignment = |person: &str| {
        e.assignments(person, at("2026-07-01"), at("2026-07-01"))
            .into_iter()
            .find(|a| a.requirement == "PACK/GMP")
            .expect("an assignment")
            .status
    };
    assert_ne!(gmp_assignment("ann"), AssignmentStatus::Complete);
    assert_eq!(gmp_assignment("bob"), AssignmentStatus::Complete);
    for bad in [
        json!({"kind": "requirement", "id": "R", "function": "F", "procedure": "P", "curriculum": "C", "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "requirement", "id": "R", "function": "F", "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "curriculum", "id": "C", "version": 1, "items": [], "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "curriculum", "id": "C", "version": 1, "items": [{"procedure": "A", "prerequisites": ["A"]}],
               "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "curriculum", "id": "C", "version": 1, "items": [{"procedure": "A"}, {"procedure": "A"}],
               "valid_from": "2020-01-01T00:00:00Z"}),
    ] {
        assert!(Fact::parse(&bad).is_err(), "{bad}");
    }
}

/// regulated.md 2.2: the trainer is `context.instructor` (1.0.3) or, in 2.0, the
/// `contextAgents` entry with the trainer role.
#[test]
fn the_trainer_is_the_instructor_or_a_2_0_context_agent_with_the_trainer_role() {
    let stored = at("2026-03-01");
    let base = json!({"id": "6b4c1f0e-0000-4000-8000-000000000001", "actor": {"mbox": "mailto:ann@plant.example"},
                      "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                      "object": {"id": "https://qms.example/ojt/1"}});
    let with_context = |context: Value| {
        let mut s = base.clone();
        s["context"] = context;
        Evidence::from_statement(&s, stored, None)
            .expect("evidence")
            .instructor
    };
    assert_eq!(
        with_context(json!({"instructor": {"mbox": "mailto:tom@plant.example"}})),
        Some("mbox:mailto:tom@plant.example".to_string())
    );
    assert_eq!(
        with_context(json!({"contextAgents": [
            {"objectType": "contextAgent", "agent": {"mbox": "mailto:sam@plant.example"}, "relevantTypes": ["https://example.com/observer"]},
            {"objectType": "contextAgent", "agent": {"mbox": "mailto:tom@plant.example"}, "relevantTypes": [crate::TRAINER_ROLE]}
        ]})),
        Some("mbox:mailto:tom@plant.example".to_string())
    );
    assert_eq!(
        with_context(json!({"contextAgents": [
            {"objectType": "contextAgent", "agent": {"mbox": "mailto:sam@plant.example"}, "relevantTypes": ["https://example.com/observer"]}
        ]})),
        None
    );
}

/// A statement id in capitals names the same statement as in lower case (a UUID): the engine
/// keeps one form, the one a signature uses to name what it signs.
#[test]
fn statement_ids_are_kept_in_one_form() {
    let statement = json!({"id": "5C1E0B52-3F8E-4A2B-9C1D-0123456789AB", "actor": {"mbox": "mailto:ann@plant.example"},
                           "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                           "object": {"id": "https://qms.example/doc/SOP-123/v7"}});
    let e = Evidence::from_statement(&statement, at("2026-03-01"), None).expect("evidence");
    assert_eq!(e.statement_id, "5c1e0b52-3f8e-4a2b-9c1d-0123456789ab");
}
