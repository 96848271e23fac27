//! CSV feeds from HR and QMS systems (issue 9): each row becomes one or more facts. Every row is
//! checked before anything is recorded; one bad row refuses the whole file with a report naming
//! each bad row's line and what is wrong with it.
use compliance::Fact;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// How a column's text becomes JSON.
#[derive(Clone, Copy)]
enum Type {
    Text,
    Integer,
    Number,
    Boolean,
    /// Values separated by `;`.
    List,
}

struct Column {
    name: &'static str,
    kind: Type,
    required: bool,
}

const fn col(name: &'static str, kind: Type, required: bool) -> Column {
    Column {
        name,
        kind,
        required,
    }
}

const PEOPLE: &[Column] = &[
    col("person", Type::Text, true),
    col("name", Type::Text, false),
    col("employee_no", Type::Text, false),
    col("account_home_page", Type::Text, false),
    col("account_name", Type::Text, false),
    col("mbox", Type::Text, false),
    col("function", Type::Text, false),
    col("site", Type::Text, false),
    col("valid_from", Type::Text, false),
    col("valid_to", Type::Text, false),
];

const PROCEDURE_VERSIONS: &[Column] = &[
    col("procedure", Type::Text, true),
    col("version", Type::Text, true),
    col("activity_iri", Type::Text, true),
    col("effective_from", Type::Text, true),
    col("approved_at", Type::Text, false),
    col("impact", Type::Text, true),
    col("rule", Type::Text, true),
];

const QUALITY_EVENTS: &[Column] = &[
    col("id", Type::Text, true),
    col("type", Type::Text, true),
    col("title", Type::Text, false),
    col("activity_iri", Type::Text, false),
    col("opened_at", Type::Text, true),
    col("closed_at", Type::Text, false),
];

const REQUIREMENTS: &[Column] = &[
    col("id", Type::Text, true),
    col("function", Type::Text, false),
    col("site", Type::Text, false),
    col("person", Type::Text, false),
    col("quality_event", Type::Text, false),
    col("persons", Type::List, false),
    col("procedure", Type::Text, false),
    col("curriculum", Type::Text, false),
    col("grace_days", Type::Integer, false),
    col("recurrence_days", Type::Integer, false),
    col("recurrence_months", Type::Integer, false),
    col("recurrence_date", Type::Text, false),
    col("early_window_days", Type::Integer, false),
    col("recurrence_grace_days", Type::Integer, false),
    col("due_days", Type::Integer, false),
    col("blocking", Type::Boolean, false),
    col("valid_from", Type::Text, true),
    col("valid_to", Type::Text, false),
    col("effectiveness_activity_iri", Type::Text, false),
    col("effectiveness_after_days", Type::Integer, false),
    col("effectiveness_mastery", Type::Number, false),
];

/// One data row's facts.
pub struct Row {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub facts: Vec<(Fact, Value)>,
}

/// Why a file was refused.
pub enum Refused {
    /// The file as a whole (kind, header, encoding).
    File(ApiError),
    /// These rows (line number in the file, message).
    Rows(Vec<(u64, String)>),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::File(e)
    }
}

/// The facts of every row of a CSV file of `kind`, or why it is refused.
pub fn parse(kind: &str, body: &[u8]) -> Result<Vec<Row>, Refused> {
    let columns = match kind {
        "people" => PEOPLE,
        "procedure-versions" => PROCEDURE_VERSIONS,
        "quality-events" => QUALITY_EVENTS,
        "requirements" => REQUIREMENTS,
        other => {
            return Err(ApiError::not_found(format!(
                "no import of '{other}': people, procedure-versions, quality-events or requirements"
            ))
            .into());
        }
    };
    // No text column keeps U+0000 (PostgreSQL refuses it), and no cell needs it.
    if let Some(at) = body.iter().position(|&b| b == 0) {
        return Err(ApiError::bad_request(format!(
            "the file contains the character U+0000 (at byte {at}), which no value may hold"
        ))
        .into());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("the header line is not readable CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut positions = Vec::with_capacity(header.len());
    for name in &header {
        let Some(column) = columns.iter().find(|c| c.name == name) else {
            return Err(ApiError::bad_request(format!(
                "unknown column '{name}'; the columns of {kind} are: {}",
                columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        };
        if positions.iter().any(|c: &&Column| c.name == column.name) {
            return Err(ApiError::bad_request(format!("column '{name}' is given twice")).into());
        }
        positions.push(column);
    }
    if let Some(missing) = columns
        .iter()
        .find(|c| c.required && !header.iter().any(|h| h == c.name))
    {
        return Err(ApiError::bad_request(format!(
            "column '{}' is required for {kind}",
            missing.name
        ))
        .into());
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push((line, format!("not readable CSV: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match row_facts(kind, &positions, &record) {
            Ok(facts) => rows.push(Row { line, facts }),
            Err(message) => errors.push((line, message)),
        }
    }
    if !errors.is_empty() {
        return Err(Refused::Rows(errors));
    }
    if rows.is_empty() {
        return Err(ApiError::bad_request("the file has no data rows").into());
    }
    Ok(rows)
}

/// One row's cells as typed JSON values (empty cells left out).
fn cells(columns: &[&Column], record: &csv::StringRecord) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for (column, text) in columns.iter().zip(record.iter()) {
        if text.is_empty() {
            if column.required {
                return Err(format!("{}: required", column.name));
            }
            continue;
        }
        let value = match column.kind {
            Type::Text => json!(text),
            Type::Integer => json!(
                text.parse::<i64>()
                    .map_err(|_| format!("{}: '{text}' is not a whole number", column.name))?
            ),
            Type::Number => json!(
                text.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| format!("{}: '{text}' is not a number", column.name))?
            ),
            Type::Boolean => match text {
                "true" => json!(true),
                "false" => json!(false),
                _ => return Err(format!("{}: '{text}' is not true or false", column.name)),
            },
            Type::List => json!(
                text.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
        };
        map.insert(column.name.to_string(), value);
    }
    Ok(map)
}

fn row_facts(
    kind: &str,
    columns: &[&Column],
    record: &csv::StringRecord,
) -> Result<Vec<(Fact, Value)>, String> {
    let mut cells = cells(columns, record)?;
    let jsons: Vec<Value> = match kind {
        "people" => people_facts(&mut cells)?,
        "procedure-versions" => {
            cells.insert("kind".into(), json!("procedure_version"));
            vec![Value::Object(cells)]
        }
        "quality-events" => {
            cells.insert("kind".into(), json!("quality_event"));
            vec![Value::Object(cells)]
        }
        _ => {
            let effectiveness: Map<String, Value> = ["activity_iri", "after_days", "mastery"]
                .into_iter()
                .filter_map(|k| {
                    cells
                        .remove(&format!("effectiveness_{k}"))
                        .map(|v| (k.to_string(), v))
                })
                .collect();
            if !effectiveness.is_empty() {
                cells.insert("effectiveness".into(), Value::Object(effectiveness));
            }
            cells.insert("kind".into(), json!("requirement"));
            vec![Value::Object(cells)]
        }
    };
    jsons
        .into_iter()
        .map(|json| {
            Fact::parse(&json)
                .map(|fact| (fact, json))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A people row: the person, their identifiers, and (with `function`) a membership.
fn people_facts(cells: &mut Map<String, Value>) -> Result<Vec<Value>, String> {
    let take = |cells: &mut Map<String, Value>, k: &str| cells.remove(k);
    let person = take(cells, "person").unwrap_or(Value::Null);
    let mut facts = vec![json!({
        "kind": "person", "id": person,
        "name": take(cells, "name"), "employee_no": take(cells, "employee_no"),
    })];
    match (
        take(cells, "account_home_page"),
        take(cells, "account_name"),
    ) {
        (Some(home), Some(name)) => facts.push(json!({
            "kind": "person_identifier", "person": person,
            "agent": {"account": {"homePage": home, "name": name}},
        })),
        (None, None) => {}
        _ => return Err("account_home_page and account_name go together".into()),
    }
    if let Some(mbox) = take(cells, "mbox") {
        facts.push(json!({"kind": "person_identifier", "person": person, "agent": {"mbox": mbox}}));
    }
    match take(cells, "function") {
        Some(function) => facts.push(json!({
            "kind": "membership", "person": person, "function": function,
            "site": take(cells, "site"),
            "valid_from": take(cells, "valid_from").ok_or("valid_from: required with a function")?,
            "valid_to": take(cells, "valid_to"),
        })),
        None if ["site", "valid_from", "valid_to"]
            .iter()
            .any(|k| cells.contains_key(*k)) =>
        {
            return Err(
                "site, valid_from and valid_to describe a membership: give function".into(),
            );
        }
        None => {}
    }
    Ok(facts)
}
