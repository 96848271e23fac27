//! A deterministic xAPI dataset: statement `n` is the same for the same seed on every run, so
//! loads and queries can be repeated and compared.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

pub const ACTORS: usize = 5_000;
pub const COURSES: usize = 40;
pub const ACTIVITIES: usize = 400;
pub const CURRICULA: usize = 6;
pub const VERBS: [&str; 12] = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
    "http://adlnet.gov/expapi/verbs/failed",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/answered",
    "http://adlnet.gov/expapi/verbs/launched",
    "http://adlnet.gov/expapi/verbs/initialized",
    "http://adlnet.gov/expapi/verbs/terminated",
    "http://adlnet.gov/expapi/verbs/progressed",
    "http://adlnet.gov/expapi/verbs/scored",
    "https://w3id.org/xapi/adl/verbs/waived",
];
/// The kinds of query the query driver runs.
pub const QUERY_KINDS: [&str; 10] = [
    "no_filter",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_agents",
    "related_activities",
    "since_until",
    "more_paging",
    "ascending",
];
/// A year of timestamps, from this instant (2025-01-01T00:00:00Z) on.
const YEAR_START: i64 = 1_735_689_600;

pub struct Dataset {
    seed: u64,
}

impl Dataset {
    pub fn new(seed: u64) -> Dataset {
        Dataset { seed }
    }

    fn rng(&self, n: usize, salt: u64) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
    }

    fn actor(n: usize) -> Value {
        json!({"objectType": "Agent", "name": format!("Operator {n}"), "mbox": format!("mailto:operator{n}@plant.example")})
    }

    fn activity(n: usize) -> String {
        format!("https://plant.example/activities/{n}")
    }

    fn course(activity: usize) -> String {
        format!("https://plant.example/courses/{}", activity % COURSES)
    }

    fn curriculum(activity: usize) -> String {
        format!(
            "https://plant.example/curricula/{}",
            activity % COURSES % CURRICULA
        )
    }

    /// One registration per actor and course.
    fn registration(&self, actor: usize, activity: usize) -> String {
        let mut rng = self.rng(actor * COURSES + activity % COURSES, 0xA11CE);
        uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string()
    }

    /// Statement number `n`.
    pub fn statement(&self, n: usize) -> Value {
        let mut rng = self.rng(n, 0x57A7E);
        let actor = rng.random_range(0..ACTORS);
        let activity = rng.random_range(0..ACTIVITIES);
        let verb = VERBS[rng.random_range(0..VERBS.len())];
        let seconds = YEAR_START + rng.random_range(0..365 * 24 * 3600);
        let scaled: f64 = (rng.random_range(0..=100) as f64) / 100.0;
        let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
        let timestamp = format!("{}Z", chrono_like(seconds));
        json!({
            "id": id.to_string(),
            "actor": Self::actor(actor),
            "verb": {"id": verb, "display": {"en-US": verb.rsplit('/').next().unwrap_or(verb)}},
            "object": {
                "objectType": "Activity",
                "id": Self::activity(activity),
                "definition": {
                    "name": {"en-US": format!("Module {activity}")},
                    "type": "http://adlnet.gov/expapi/activities/module"
                }
            },
            "result": {"score": {"scaled": scaled, "raw": scaled * 100.0, "min": 0, "max": 100}, "success": scaled >= 0.8, "completion": true, "duration": format!("PT{}M", rng.random_range(1..90))},
            "context": {
                "registration": self.registration(actor, activity),
                "instructor": Self::actor((actor + 1) % 50),
                "contextActivities": {
                    "parent": [{"id": Self::course(activity)}],
                    "grouping": [{"id": Self::curriculum(activity)}]
                },
                "platform": "attest-bench"
            },
            "timestamp": timestamp
        })
    }

    /// Query `i` of a kind, as a query string.
    pub fn query(&self, kind: &str, i: usize, limit: usize) -> String {
        let mut rng = self.rng(i, 0x0E27);
        let agent = |n: usize| {
            serde_json::json!({"mbox": format!("mailto:operator{n}@plant.example")}).to_string()
        };
        let pairs: Vec<(String, String)> = match kind {
            "agent" => vec![("agent".into(), agent(rng.random_range(0..ACTORS)))],
            "verb" => vec![(
                "verb".into(),
                VERBS[rng.random_range(0..VERBS.len())].into(),
            )],
            "activity" => vec![(
                "activity".into(),
                Self::activity(rng.random_range(0..ACTIVITIES)),
            )],
            "registration" => {
                let actor = rng.random_range(0..ACTORS);
                vec![(
                    "registration".into(),
                    self.registration(actor, rng.random_range(0..ACTIVITIES)),
                )]
            }
            "related_agents" => vec![
                ("agent".into(), agent(rng.random_range(0..50))),
                ("related_agents".into(), "true".into()),
            ],
            "related_activities" => vec![
                (
                    "activity".into(),
                    Self::course(rng.random_range(0..ACTIVITIES)),
                ),
                ("related_activities".into(), "true".into()),
            ],
            "since_until" => vec![
                ("since".into(), "2000-01-01T00:00:00Z".into()),
                ("until".into(), "2100-01-01T00:00:00Z".into()),
            ],
            "ascending" => vec![("ascending".into(), "true".into())],
            _ => vec![],
        };
        let mut pairs = pairs;
        pairs.push(("limit".into(), limit.to_string()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time, without a date library.
fn chrono_like(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_statements() {
        assert_eq!(
            Dataset::new(7).statement(123),
            Dataset::new(7).statement(123)
        );
        assert_ne!(
            Dataset::new(7).statement(123),
            Dataset::new(8).statement(123)
        );
    }

    #[test]
    fn formats_unix_time_as_a_civil_date() {
        assert_eq!(chrono_like(YEAR_START), "2025-01-01T00:00:00");
        assert_eq!(chrono_like(951_782_400), "2000-02-29T00:00:00");
    }
}
