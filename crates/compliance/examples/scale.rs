//! How fast the engine answers at plant scale (issue 9: 10,000 people × 200 requirements at an
//! arbitrary instant in under a second). Run: `cargo run --release -p compliance --example scale`.
use std::time::Instant;

use compliance::*;
use jiff::{SignedDuration, Timestamp};

fn main() {
    let (people, requirements_per_function, functions) = (10_000usize, 200usize, 10usize);
    let start: Timestamp = "2024-01-01T00:00:00Z".parse().expect("time");
    let day = |n: i64| {
        start
            .checked_add(SignedDuration::from_hours(24 * n))
            .expect("date")
    };
    let always = Interval::since(day(0));
    let procedures: Vec<Procedure> = (0..requirements_per_function * functions)
        .map(|p| Procedure {
            id: format!("SOP-{p}"),
            versions: (0..3)
                .map(|v| ProcedureVersion {
                    version: v.to_string(),
                    activity_iri: format!("https://qms.example/doc/SOP-{p}/v{v}"),
                    effective_from: day(200 * v as i64),
                    approved_at: None,
                    impact: if v == 2 {
                        TrainingImpact::None
                    } else {
                        TrainingImpact::Full
                    },
                    rule: "read".into(),
                    recorded: always,
                })
                .collect(),
        })
        .collect();
    let requirements: Vec<Requirement> = (0..functions)
        .flat_map(|f| {
            (0..requirements_per_function).map(move |r| Requirement {
                id: format!("R-{f}-{r}"),
                scope: Scope::Function {
                    function: format!("F{f}"),
                    site: None,
                },
                due: SignedDuration::from_hours(24 * 30),
                effectiveness: None,
                procedure: format!("SOP-{}", f * requirements_per_function + r),
                grace: GracePolicy::GraceDays(14),
                recurrence: Recurrence::Relative {
                    every: Period::Months(12),
                    early_window: SignedDuration::from_hours(24 * 60),
                    grace: SignedDuration::ZERO,
                },
                blocking: true,
                valid: Interval::since(day(0)),
                recorded: Interval::since(day(0)),
                prerequisites: Vec::new(),
            })
        })
        .collect();
    let identifiers: Vec<PersonIdentifier> = (0..people)
        .map(|p| PersonIdentifier {
            person: format!("P{p}"),
            ifi: format!("account:https://hr.example\n{p}"),
            recorded: always,
        })
        .collect();
    let memberships: Vec<Membership> = (0..people)
        .map(|p| Membership {
            person: format!("P{p}"),
            function: format!("F{}", p % functions),
            site: Some(format!("S{}", p % 2)),
            valid: always,
            recorded: always,
        })
        .collect();
    // Each person completed most of their function's procedures on version 1 (two attempts each).
    let mut evidence = Vec::new();
    for p in 0..people {
        let f = p % functions;
        for r in 0..requirements_per_function {
            if p % 10 == 0 && r == 7 {
                continue;
            }
            for (n, verb) in [Verb::Failed, Verb::Completed].into_iter().enumerate() {
                evidence.push(Evidence {
                    statement_id: format!("s-{p}-{r}-{n}"),
                    ifi: format!("account:https://hr.example\n{p}").into(),
                    verb,
                    activity_iri: format!(
                        "https://qms.example/doc/SOP-{}/v1",
                        f * requirements_per_function + r
                    )
                    .into(),
                    score_scaled: None,
                    timestamp: day(210 + n as i64),
                    stored: day(210 + n as i64),
                    voided: None,
                    instructor: None,
                    signature: None,
                    waiver: None,
                });
            }
        }
    }
    let rules = vec![CompletionRule {
        id: "read".into(),
        version: 1,
        move_on: MoveOn::Completed,
        mastery: None,
        late_entry: SignedDuration::from_hours(24),
        instructor_for: None,
        accept_satisfied: false,
        signatures: Vec::new(),
        waiver_reasons: Vec::new(),
        effective_from: day(0),
        recorded: always,
    }];
    let facts = evidence.len();
    let built = Instant::now();
    let engine = Engine::new(
        MasterData {
            identifiers,
            memberships,
            procedures,
            rules,
            requirements,
            ..MasterData::default()
        },
        evidence,
    );
    let build_time = built.elapsed();

    let (t, k) = (day(420), day(500));
    let answered = Instant::now();
    let mut qualified = 0;
    for p in 0..people {
        let person = format!("P{p}");
        let function = format!("F{}", p % functions);
        if engine.function_summary(&person, &function, t, k) != Status::NotQualified {
            qualified += 1;
        }
    }
    let all = answered.elapsed();
    let one = Instant::now();
    let q = engine.procedure_status(
        "P1",
        "SOP-2",
        GracePolicy::GraceDays(14),
        Recurrence::None,
        t,
        k,
    );
    let single = one.elapsed();
    println!(
        "{people} people x {requirements_per_function} requirements ({facts} evidence statements): index {:.0} ms, \
         every person's function status at one instant {:.0} ms ({qualified} qualified), one person/procedure {:.1} µs ({:?})",
        build_time.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3,
        single.as_secs_f64() * 1e6,
        q.status
    );
}
