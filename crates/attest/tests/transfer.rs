//! Black-box tests of `attest import` and `attest export` (issue 8): a round trip keeps every
//! statement byte for byte but `stored`, re-running an import changes nothing, a bad line or a
//! conflicting statement is named by its line.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_attest");
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

fn run(args: &[&str], data: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .args(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn attest");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("attest runs")
}

fn import(file: &Path, data: &[&str], extra: &[&str]) -> Output {
    let file = file.to_str().expect("utf-8 path");
    let mut args = vec!["import", file];
    args.extend_from_slice(extra);
    run(&args, data, None)
}

fn export(data: &[&str], filters: &[&str]) -> Vec<String> {
    let mut args = vec!["export"];
    args.extend_from_slice(filters);
    let output = run(&args, data, None);
    assert!(
        output.status.success(),
        "export failed: {}",
        stderr(&output)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sqlite(dir: &Path) -> Vec<String> {
    vec!["--data".into(), dir.to_str().expect("utf-8 path").into()]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).expect("write file");
    path
}

fn id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A small history with what a round trip must keep: statements with and without their own
/// authority and timestamp, both versions, a single contextActivities object, a timestamp in
/// another zone, a voided statement and the statement voiding it.
fn history() -> Vec<String> {
    let mut lines = Vec::new();
    for n in 0..30 {
        let mut s = json!({
            "id": id(n),
            "actor": {"mbox": format!("mailto:op{}@plant.example", n % 4)},
            "verb": {"id": if n % 3 == 0 { "http://adlnet.gov/expapi/verbs/passed" } else { "http://adlnet.gov/expapi/verbs/completed" }},
            "object": {"id": format!("https://plant.example/sop/{}", n % 5)}
        });
        if n % 2 == 0 {
            s["authority"] = json!({"objectType": "Agent", "name": "LMS", "account": {"homePage": "https://lrs.plant.example", "name": "lms"}});
        }
        if n % 5 == 0 {
            s["timestamp"] = json!("2025-03-04T10:00:00.123+02:00");
        }
        if n % 7 == 0 {
            s["version"] = json!("1.0.3");
            s["context"] =
                json!({"contextActivities": {"parent": {"id": "https://plant.example/course/1"}}});
        }
        lines.push(s.to_string());
    }
    lines.push(
        json!({
            "id": id(100),
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": id(3)}
        })
        .to_string(),
    );
    lines
}

/// The line with its `stored` value blanked: what an import cannot keep.
fn without_stored(line: &str) -> String {
    let Some(start) = line.find("\"stored\":\"") else {
        return line.to_string();
    };
    let value = start + "\"stored\":\"".len();
    let end = line[value..].find('"').map_or(line.len(), |e| value + e);
    format!("{}{}", &line[..value], &line[end..])
}

fn position(lines: &[String], n: usize) -> usize {
    lines
        .iter()
        .position(|l| l.contains(&format!("\"id\":\"{}\"", id(n))))
        .expect("exported")
}

fn assert_round_trip(first: &[String], second: &[String]) {
    assert_eq!(first.len(), second.len(), "as many statements");
    for (a, b) in first.iter().zip(second) {
        assert_eq!(
            without_stored(a),
            without_stored(b),
            "byte-exact but for `stored`"
        );
        let (a, b): (Value, Value) = (
            serde_json::from_str(a).expect("json"),
            serde_json::from_str(b).expect("json"),
        );
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["authority"], b["authority"], "the authority is kept");
        assert!(b["stored"].is_string(), "the import stores it anew");
    }
}

#[test]
fn export_import_export_keeps_every_statement_byte_exact_but_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (sqlite(&dir.path().join("a")), sqlite(&dir.path().join("b")));
    let source = write_lines(dir.path(), "history.jsonl", &history());
    let output = import(&source, &args(&a), &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    let first = export(&args(&a), &[]);
    assert_eq!(first.len(), 31, "the voided statement is exported too");
    assert_eq!(
        position(&first, 3),
        3,
        "a whole store is exported in stored order, voided statements in their place"
    );
    // A filtered export (a query, which leaves voided statements out) writes a voided
    // statement just before the statement voiding it.
    let filtered = export(&args(&a), &["--activity", "https://plant.example/sop/3"]);
    assert_eq!(
        position(&filtered, 3) + 1,
        position(&filtered, 100),
        "{filtered:?}"
    );
    // What was imported is what was sent, by the spec's comparison rules (Data 2.3.1).
    let originals: Vec<Value> = history()
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for line in &first {
        let statement: Value = serde_json::from_str(line).expect("json");
        let original = originals
            .iter()
            .find(|o| o["id"] == statement["id"])
            .expect("an imported statement");
        assert!(
            xapi::compare::same_statement(original, &statement),
            "{original} / {statement}"
        );
        if let Some(authority) = original.get("authority") {
            assert_eq!(
                &statement["authority"], authority,
                "its own authority is kept"
            );
        }
    }

    let exported = write_lines(dir.path(), "first.jsonl", &first);
    let output = import(&exported, &args(&b), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let second = export(&args(&b), &[]);
    assert_round_trip(&first, &second);

    // The voiding holds in the copy too (read from the database: no query returns a voided
    // statement with its flag).
    let db = rusqlite::Connection::open(dir.path().join("b").join("attest.db")).expect("open");
    let voided: bool = db
        .query_row(
            "SELECT voided FROM statements WHERE id = ?1",
            [id(3)],
            |row| row.get(0),
        )
        .expect("statement 3 is stored");
    assert!(voided, "statement 3 is voided in the copy");
}

/// `history()` and a void stored before the statement it voids (xAPI allows it).
fn history_with_void_first() -> Vec<String> {
    let mut lines = history();
    lines.push(
        json!({
            "id": id(101),
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": id(200)}
        })
        .to_string(),
    );
    lines.push(
        json!({
            "id": id(200),
            "actor": {"mbox": "mailto:op1@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://plant.example/sop/1"}
        })
        .to_string(),
    );
    lines
}

fn voided_ids(data_dir: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data_dir.join("attest.db")).expect("open");
    let mut query = db
        .prepare("SELECT id FROM statements WHERE voided ORDER BY id")
        .expect("prepare");
    query
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Issue 8, "export round-trips byte-exact": a whole store exported, restored into a new store
/// with `--keep-stored` and exported again gives the same bytes, `stored` included; the copy
/// verifies intact and voids what the original voids.
#[test]
fn keep_stored_restores_a_whole_store_byte_for_byte() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (sqlite(&dir.path().join("a")), sqlite(&dir.path().join("b")));
    // Three imports, so that the statements have three different stored times.
    let lines = history_with_void_first();
    for (n, part) in lines.chunks(12).enumerate() {
        let source = write_lines(dir.path(), &format!("part{n}.jsonl"), part);
        let output = import(&source, &args(&a), &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let first = export(&args(&a), &[]);
    assert_eq!(
        first.len(),
        lines.len(),
        "voided statements are exported too"
    );
    let stored: Vec<String> = first
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["stored"].to_string())
        .collect();
    assert!(stored.windows(2).all(|w| w[0] <= w[1]), "in stored order");
    assert!(stored.first() < stored.last(), "several stored times");

    let exported = write_lines(dir.path(), "first.jsonl", &first);
    let output = import(&exported, &args(&b), &["--keep-stored", "--batch", "5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let second = export(&args(&b), &[]);
    assert_eq!(first, second, "byte for byte, stored included");
    verify_intact(&args(&b));
    assert_eq!(
        voided_ids(&dir.path().join("b")),
        vec![id(3), id(200)],
        "the voids hold in the copy, the one stored first included"
    );
    // The same times answer the same `since` queries.
    let since = stored[20].trim_matches('"').to_string();
    assert_eq!(
        export(&args(&a), &["--since", &since]),
        export(&args(&b), &["--since", &since])
    );
    // Running the restore again skips what is stored.
    let output = import(&exported, &args(&b), &["--keep-stored"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&b), &[]), first);
}

fn statement_stored_at(n: usize, stored: Option<&str>) -> String {
    let mut s = json!({
        "id": id(n),
        "actor": {"mbox": "mailto:op@plant.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://plant.example/sop/1"},
        "timestamp": "2025-01-01T00:00:00.000Z"
    });
    if let Some(stored) = stored {
        s["stored"] = json!(stored);
    }
    s.to_string()
}

fn source_ok(dir: &Path) -> std::path::PathBuf {
    write_lines(
        dir,
        "ok.jsonl",
        &[statement_stored_at(1, Some("2025-01-02T00:00:00.000Z"))],
    )
}

fn stored_ids(data: &[&str]) -> Vec<String> {
    export(data, &[])
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect()
}

/// `--keep-stored` refuses, naming the line, a `stored` that goes backwards, one in the future,
/// a missing one, and one earlier than the newest statement already stored; the lines before
/// are stored (with their own times), nothing from the refused line on.
#[test]
fn keep_stored_refuses_stored_that_goes_backwards_lies_ahead_or_is_missing() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&str, Option<&str>, &str); 3] = [
        (
            "backwards",
            Some("2025-01-01T00:00:00.000Z"),
            "is earlier than",
        ),
        ("future", Some("2999-01-01T00:00:00.000Z"), "in the future"),
        ("missing", None, "has no `stored`"),
    ];
    for (name, bad, message) in cases {
        let data = sqlite(&dir.path().join(name));
        let lines = vec![
            statement_stored_at(1, Some("2025-01-02T00:00:00.000Z")),
            statement_stored_at(2, Some("2025-01-02T00:00:00.000Z")),
            statement_stored_at(3, bad),
            statement_stored_at(4, Some("2025-01-03T00:00:00.000Z")),
        ];
        let source = write_lines(dir.path(), &format!("{name}.jsonl"), &lines);
        let output = import(&source, &args(&data), &["--keep-stored"]);
        assert!(!output.status.success(), "{name}: refused");
        let err = stderr(&output);
        assert!(
            err.contains("line 3:") && err.contains(message),
            "{name}: {err}"
        );
        assert_eq!(stored_ids(&args(&data)), vec![id(1), id(2)], "{name}");
        let first = &export(&args(&data), &[])[0];
        assert!(
            first.contains("\"stored\":\"2025-01-02T00:00:00.000Z\""),
            "{first}"
        );
    }

    // Batches in flight could store later times before a failed one is sent again.
    let data = sqlite(&dir.path().join("in-flight"));
    let output = import(
        &source_ok(dir.path()),
        &args(&data),
        &["--keep-stored", "--in-flight", "2"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--in-flight"),
        "{}",
        stderr(&output)
    );
    assert!(stored_ids(&args(&data)).is_empty());

    // A store that holds a statement stored now takes no older `stored`.
    let data = sqlite(&dir.path().join("newer"));
    let now = write_lines(dir.path(), "now.jsonl", &[statement_stored_at(9, None)]);
    assert!(import(&now, &args(&data), &[]).status.success());
    let old = write_lines(
        dir.path(),
        "old.jsonl",
        &[statement_stored_at(1, Some("2025-01-02T00:00:00.000Z"))],
    );
    let output = import(&old, &args(&data), &["--keep-stored"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("line 1:"), "{}", stderr(&output));
    assert_eq!(stored_ids(&args(&data)), vec![id(9)]);
    // Without --keep-stored the same line is stored at the time of the import.
    assert!(import(&old, &args(&data), &[]).status.success());
    assert_eq!(stored_ids(&args(&data)), vec![id(9), id(1)]);
}

#[test]
fn import_reads_stdin_and_keeps_input_order() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let mut lines = history();
    lines.truncate(30);
    lines.reverse();
    let text = format!("{}\n\n", lines.join("\n"));
    let mut arguments = vec!["import", "-", "--batch", "7"];
    arguments.extend(args(&a));
    let output = run(&arguments, &[], Some(&text));
    assert!(output.status.success(), "{}", stderr(&output));
    let exported = export(&args(&a), &[]);
    let ids: Vec<Value> = exported
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].clone())
        .collect();
    let expected: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["id"].clone())
        .collect();
    assert_eq!(ids, expected, "stored in the order of the input");
}

#[test]
fn re_running_an_import_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(&dir.path().join("a"));
    let source = write_lines(dir.path(), "history.jsonl", &history());
    assert!(import(&source, &args(&a), &[]).status.success());
    let before = export(&args(&a), &[]);
    let output = import(&source, &args(&a), &["--batch", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&a), &[]), before, "not one byte changed");
}

#[test]
fn a_bad_line_fails_naming_its_line_and_keeps_the_lines_before() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let mut lines = history();
    lines.truncate(5);
    lines.push(r#"{"actor": {"mbox": "mailto:x@plant.example"}, "verb": {}, "object": {"id": "https://plant.example/x"}}"#.into());
    lines.push(history()[6].clone());
    let source = write_lines(dir.path(), "bad.jsonl", &lines);
    let output = import(&source, &args(&a), &["--batch", "2"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("line 6"), "{message}");
    assert!(message.contains("verb"), "names the field: {message}");
    assert_eq!(
        export(&args(&a), &[]).len(),
        5,
        "the lines before are stored"
    );

    let source = write_lines(dir.path(), "broken.jsonl", &["{\"actor\": ".into()]);
    let output = import(&source, &args(&a), &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("line 1: not valid JSON"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_conflicting_statement_is_reported_by_line_and_stops_or_is_skipped() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let original = history();
    let source = write_lines(dir.path(), "history.jsonl", &original[..3]);
    assert!(import(&source, &args(&a), &[]).status.success());

    let mut changed: Value = serde_json::from_str(&original[1]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let lines = vec![
        original[3].clone(),
        changed.to_string(),
        original[4].clone(),
        original[5].clone(),
    ];
    let source = write_lines(dir.path(), "conflict.jsonl", &lines);

    let output = import(&source, &args(&a), &[]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("line 2") && message.contains(&id(1)) && message.contains("conflict"),
        "{message}"
    );
    assert_eq!(
        export(&args(&a), &[]).len(),
        4,
        "the line before is stored, not those after"
    );

    let output = import(&source, &args(&a), &["--on-conflict", "skip"]);
    assert!(!output.status.success(), "a skipped conflict still fails");
    let message = stderr(&output);
    assert!(message.contains("line 2"), "{message}");
    let stored = export(&args(&a), &[]);
    assert_eq!(stored.len(), 6, "the rest is imported");
    assert!(
        stored
            .iter()
            .all(|l| !l.contains("http://adlnet.gov/expapi/verbs/failed")),
        "the stored statement is untouched"
    );
}

#[test]
fn an_id_twice_in_one_batch_is_stored_once_or_named_by_its_line_when_contents_differ() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let original = history();
    let twice = [
        original[0].clone(),
        original[1].clone(),
        original[0].clone(),
    ];
    let source = write_lines(dir.path(), "twice.jsonl", &twice);
    let output = import(&source, &args(&a), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&a), &[]).len(), 2, "stored once");

    let mut changed: Value = serde_json::from_str(&original[2]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let clash = [
        original[2].clone(),
        original[3].clone(),
        changed.to_string(),
        original[4].clone(),
    ];
    let source = write_lines(dir.path(), "clash.jsonl", &clash);
    let output = import(&source, &args(&a), &[]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("line 3") && message.contains(&id(2)),
        "{message}"
    );
    let stored = export(&args(&a), &[]);
    assert_eq!(
        stored.len(),
        4,
        "the lines before it are stored, not the one after"
    );
    assert!(
        stored
            .iter()
            .all(|l| !l.contains("http://adlnet.gov/expapi/verbs/failed")),
        "the first content stands"
    );
}

#[test]
fn export_filters_like_the_statement_query() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let source = write_lines(dir.path(), "history.jsonl", &history());
    assert!(import(&source, &args(&a), &[]).status.success());
    let count = |filters: &[&str]| export(&args(&a), filters).len();
    // op1: statements 1, 5, 9, …, 29 (statement 3, voided, is op3's).
    assert_eq!(
        count(&["--agent", r#"{"mbox":"mailto:op1@plant.example"}"#]),
        8
    );
    assert_eq!(
        count(&[
            "--activity",
            "https://plant.example/course/1",
            "--related-activities"
        ]),
        5
    );
    assert_eq!(count(&["--since", "2999-01-01T00:00:00Z"]), 0);
    let output = run(&["export", "--verb", "not an iri"], &args(&a), None);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--verb"), "{}", stderr(&output));
}

#[test]
fn import_and_export_reach_one_store_tenant() {
    let dir = tempfile::tempdir().expect("dir");
    let a = sqlite(dir.path());
    let mut create = vec!["store", "create", "plant-b"];
    create.extend(args(&a));
    let output = run(&create, &[], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let source = write_lines(dir.path(), "history.jsonl", &history());
    let output = import(&source, &args(&a), &["--store", "plant-b"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&a), &["--store", "plant-b"]).len(), 31);
    assert!(
        export(&args(&a), &[]).is_empty(),
        "not in the default store"
    );
    let output = import(&source, &args(&a), &["--store", "nowhere"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no store nowhere"),
        "{}",
        stderr(&output)
    );
}

/// The same round trip on PostgreSQL, when `ATTEST_TEST_DATABASE_URL` names a server.
#[test]
fn round_trip_on_postgres() {
    let Some(url) = std::env::var("ATTEST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("ATTEST_TEST_DATABASE_URL is not set: skipping the PostgreSQL round trip");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (fresh_schema(&url), fresh_schema(&url));
    let data = |url: &str, sub: &str| {
        vec![
            "--database".to_string(),
            url.to_string(),
            "--data".to_string(),
            dir.path().join(sub).to_str().expect("utf-8").to_string(),
        ]
    };
    let (a, b) = (data(&a, "a"), data(&b, "b"));
    let source = write_lines(dir.path(), "history.jsonl", &history());
    let output = import(&source, &args(&a), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let first = export(&args(&a), &[]);
    let exported = write_lines(dir.path(), "first.jsonl", &first);
    let output = import(&exported, &args(&b), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_round_trip(&first, &export(&args(&b), &[]));
    assert!(import(&exported, &args(&b), &[]).status.success());
    assert_eq!(export(&args(&b), &[]).len(), first.len());
    // Restored with --keep-stored: the same bytes, `stored` included.
    let c = data(&fresh_schema(&url), "c");
    let output = import(&exported, &args(&c), &["--keep-stored"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&c), &[]), first);
    verify_intact(&args(&c));
}

/// A new schema on the test server and the URL that makes it the default.
fn fresh_schema(url: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).expect("connect to the test PostgreSQL");
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

// ---- bulk import into an empty store (indexes deferred, built at the end) ----

/// `n` statements over 6 actors, 4 activities and 2 courses, with ids `id(start..)`.
fn generated(start: usize, n: usize) -> Vec<String> {
    (start..start + n)
        .map(|i| {
            json!({
                "id": id(i),
                "actor": {"mbox": format!("mailto:op{}@plant.example", i % 6)},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"id": format!("https://plant.example/sop/{}", i % 4)},
                "context": {
                    "registration": format!("10000000-0000-4000-8000-{:012}", i % 9),
                    "contextActivities": {"parent": [{"id": format!("https://plant.example/course/{}", i % 2)}]}
                }
            })
            .to_string()
        })
        .collect()
}

fn database(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("attest.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the database")
}

/// Names in the schema among those a bulk import defers.
fn deferred_names(dir: &Path) -> Vec<String> {
    let db = database(dir);
    let mut statement = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE name IN ('statements_id', 'ledger_record', 'postings_load') ORDER BY name",
        )
        .expect("prepare");
    statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every posting as (term, statement id), sorted: what the queries search.
fn postings(dir: &Path) -> Vec<(String, String)> {
    let db = database(dir);
    let mut statement = db
        .prepare(
            "SELECT t.term, s.id FROM postings p JOIN terms t ON t.id = p.term JOIN statements s ON s.seq = p.seq ORDER BY 1, 2",
        )
        .expect("prepare");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn verify_intact(data: &[&str]) {
    let mut arguments = vec!["verify"];
    arguments.extend_from_slice(data);
    let output = run(&arguments, &[], None);
    assert!(
        output.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
}

#[test]
fn a_bulk_import_into_an_empty_store_indexes_like_an_ordinary_one_and_verifies_intact() {
    let dir = tempfile::tempdir().expect("dir");
    let (bulk, ordinary) = (dir.path().join("bulk"), dir.path().join("ordinary"));
    let lines = generated(0, 60);
    let source = write_lines(dir.path(), "s.jsonl", &lines);
    let output = import(&source, &args(&sqlite(&bulk)), &["--batch", "7"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("indexes built"),
        "the empty store deferred its indexes: {}",
        stderr(&output)
    );
    // The same lines into a store that holds a statement already: the ordinary path.
    let first = write_lines(dir.path(), "first.jsonl", &generated(1000, 1));
    assert!(
        import(&first, &args(&sqlite(&ordinary)), &[])
            .status
            .success()
    );
    let output = import(&source, &args(&sqlite(&ordinary)), &["--batch", "7"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("indexes built"),
        "{}",
        stderr(&output)
    );

    assert_eq!(
        deferred_names(&bulk),
        ["ledger_record", "statements_id"],
        "both indexes built, the staging table gone"
    );
    let ordinary_postings: Vec<_> = postings(&ordinary)
        .into_iter()
        .filter(|(_, s)| *s != id(1000))
        .collect();
    assert_eq!(postings(&bulk).len(), ordinary_postings.len());
    assert_eq!(postings(&bulk), ordinary_postings, "the same postings");
    verify_intact(&args(&sqlite(&bulk)));
    assert_eq!(
        export(
            &args(&sqlite(&bulk)),
            &["--agent", r#"{"mbox":"mailto:op1@plant.example"}"#]
        )
        .len(),
        10
    );
    let registration = export(
        &args(&sqlite(&bulk)),
        &["--registration", "10000000-0000-4000-8000-000000000004"],
    );
    assert_eq!(registration.len(), 7, "statements 4, 13, …, 58");

    // A second import (the store is not empty now) sees the stored ids in the database.
    let output = import(&source, &args(&sqlite(&bulk)), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut changed: Value = serde_json::from_str(&lines[30]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let clash = write_lines(dir.path(), "clash.jsonl", &[changed.to_string()]);
    let output = import(&clash, &args(&sqlite(&bulk)), &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains(&id(30)), "{}", stderr(&output));
    assert_eq!(export(&args(&sqlite(&bulk)), &[]).len(), 60);
    verify_intact(&args(&sqlite(&bulk)));
}

#[test]
fn an_id_again_in_a_later_batch_of_a_bulk_import_is_stored_once_or_named_by_its_line() {
    let dir = tempfile::tempdir().expect("dir");
    let mut lines = generated(0, 20);
    lines.push(lines[2].clone());
    lines.extend(generated(20, 5));
    let same = write_lines(dir.path(), "same.jsonl", &lines);
    let a = dir.path().join("a");
    let output = import(&same, &args(&sqlite(&a)), &["--batch", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&sqlite(&a)), &[]).len(), 25, "stored once");
    assert_eq!(deferred_names(&a), ["ledger_record", "statements_id"]);
    verify_intact(&args(&sqlite(&a)));

    let mut changed: Value = serde_json::from_str(&lines[2]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    lines[20] = changed.to_string();
    let clash = write_lines(dir.path(), "clash.jsonl", &lines);
    let b = dir.path().join("b");
    let output = import(&clash, &args(&sqlite(&b)), &["--batch", "4"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("line 21") && message.contains(&id(2)),
        "{message}"
    );
    let stored = export(&args(&sqlite(&b)), &[]);
    assert_eq!(stored.len(), 20, "the lines before it, not those after");
    assert!(stored.iter().all(|l| !l.contains("verbs/failed")));
    assert_eq!(deferred_names(&b), ["ledger_record", "statements_id"]);
    verify_intact(&args(&sqlite(&b)));
}

#[test]
fn a_bulk_import_killed_midway_leaves_its_batches_whose_indexes_the_next_open_builds() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let lines = generated(0, 23);
    let data_args = sqlite(&data);
    let mut child = Command::new(BIN)
        .args(["import", "-", "--batch", "5"])
        .args(&data_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn attest");
    let mut input = child.stdin.take().expect("stdin");
    // Four whole batches and three lines of a fifth; stdin stays open, so the import waits.
    let mut text = lines.join("\n");
    text.push('\n');
    input.write_all(text.as_bytes()).expect("write stdin");
    input.flush().expect("flush");
    let started = std::time::Instant::now();
    loop {
        // The database may not exist yet, or not have its tables.
        let stored: i64 = rusqlite::Connection::open_with_flags(
            data.join("attest.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|db| db.query_row("SELECT count(*) FROM statements", [], |row| row.get(0)))
        .unwrap_or(0);
        if stored == 20 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the import did not store its first batches ({stored})"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // kill -9: no chance to build the indexes.
    child.kill().expect("kill");
    child.wait().expect("reap");
    drop(input);
    assert_eq!(
        deferred_names(&data),
        ["postings_load"],
        "killed with its indexes deferred"
    );
    let mut verify = vec!["verify"];
    verify.extend(args(&data_args));
    let output = run(&verify, &[], None);
    assert!(
        !output.status.success(),
        "verify refuses until the store is opened"
    );
    assert!(
        stderr(&output).contains("did not finish"),
        "{}",
        stderr(&output)
    );

    // Any open of the store (here an export) builds them first.
    assert_eq!(export(&args(&data_args), &[]).len(), 20);
    assert_eq!(deferred_names(&data), ["ledger_record", "statements_id"]);
    verify_intact(&args(&data_args));
    assert_eq!(
        export(
            &args(&data_args),
            &["--agent", r#"{"mbox":"mailto:op2@plant.example"}"#]
        )
        .len(),
        3,
        "statements 2, 8 and 14 of the 20 stored"
    );
    // Running the import again stores the rest.
    let source = write_lines(dir.path(), "s.jsonl", &lines);
    let output = import(&source, &args(&data_args), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&data_args), &[]).len(), 23);
    verify_intact(&args(&data_args));
}

#[test]
fn another_write_during_a_bulk_import_builds_the_indexes_and_ids_are_checked_in_the_database() {
    let dir = tempfile::tempdir().expect("dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "import"}});
    let accept = |line: &String| {
        let value: Value = serde_json::from_str(line).expect("json");
        xapi::statement::accept(value, xapi::Version::V1_0_3, &authority).expect("valid")
    };
    let lines = generated(0, 10);
    runtime.block_on(async {
        let store = store::SqliteStore::open(dir.path()).expect("open");
        use store::Store;
        assert!(
            store.begin_bulk_import().await.expect("begin"),
            "empty: deferred"
        );
        store
            .import_statements("cli:import".into(), lines[..5].iter().map(accept).collect())
            .await
            .expect("first batch");
        assert_eq!(deferred_names(dir.path()), ["postings_load"]);
        // Any other write ends the deferral, in its own transaction.
        store
            .create_credential(
                "system".into(),
                store::NewCredential::full_access(
                    "k".into(),
                    store::hash_secret("pw").expect("hash"),
                    "K".into(),
                ),
            )
            .await
            .expect("credential");
        assert_eq!(
            deferred_names(dir.path()),
            ["ledger_record", "statements_id"]
        );
        // From now on the database decides: a stored id with other content conflicts.
        let mut changed: Value = serde_json::from_str(&lines[1]).expect("json");
        changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let clash = vec![accept(&lines[6]), accept(&changed.to_string())];
        match store.import_statements("cli:import".into(), clash).await {
            Err(store::StoreError::Conflict(conflict)) => assert_eq!(conflict.to_string(), id(1)),
            other => panic!("expected a conflict, got {other:?}"),
        }
        store
            .import_statements("cli:import".into(), lines[5..].iter().map(accept).collect())
            .await
            .expect("the rest");
        store
            .finish_bulk_import()
            .await
            .expect("finish: nothing left to build");
        // A store holding statements defers nothing.
        assert!(!store.begin_bulk_import().await.expect("begin"));
        assert_eq!(
            deferred_names(dir.path()),
            ["ledger_record", "statements_id"]
        );
    });
    let terms = accept(&lines[0]).terms.len();
    assert!(terms >= 5, "actor, verb, object, registration, parent, …");
    assert_eq!(
        postings(dir.path()).len(),
        10 * terms,
        "every statement's postings"
    );
    verify_intact(&args(&sqlite(dir.path())));
}

// ---- bulk import into an empty store on PostgreSQL ----

/// The test server's URL (`ATTEST_TEST_DATABASE_URL`), or none: the PostgreSQL tests then pass
/// without running.
fn test_database(test: &str) -> Option<String> {
    let url = std::env::var("ATTEST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("ATTEST_TEST_DATABASE_URL is not set: skipping {test}");
    }
    url
}

fn postgres_args(url: &str, dir: &Path) -> Vec<String> {
    vec![
        "--database".into(),
        url.into(),
        "--data".into(),
        dir.to_str().expect("utf-8 path").into(),
    ]
}

fn pg_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to the test PostgreSQL")
}

/// Relations of the store's schema among those a bulk import defers.
fn pg_deferred_names(url: &str) -> Vec<String> {
    pg_client(url)
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace
               AND relname IN ('statements_id_key', 'ledger_record', 'postings_load') ORDER BY 1",
            &[],
        )
        .expect("query")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Every posting as (term, statement id), sorted: what the queries search.
fn pg_postings(url: &str) -> Vec<(String, String)> {
    pg_client(url)
        .query(
            "SELECT t.term, s.id FROM postings p JOIN terms t ON t.id = p.term JOIN statements s ON s.seq = p.seq ORDER BY 1, 2",
            &[],
        )
        .expect("query")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[test]
fn a_bulk_import_into_an_empty_postgres_store_indexes_like_an_ordinary_one_and_verifies_intact() {
    let Some(base) = test_database("the PostgreSQL bulk import") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (bulk_url, ordinary_url) = (fresh_schema(&base), fresh_schema(&base));
    let bulk = postgres_args(&bulk_url, &dir.path().join("bulk"));
    let ordinary = postgres_args(&ordinary_url, &dir.path().join("ordinary"));
    // Batches of 70: statements, ledger entries and postings each go as a COPY (64 rows or
    // more), and a last batch of 10 as INSERTs.
    let lines = generated(0, 150);
    let source = write_lines(dir.path(), "s.jsonl", &lines);
    let output = import(&source, &args(&bulk), &["--batch", "70"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("indexes built"),
        "the empty store deferred its indexes: {}",
        stderr(&output)
    );
    // The same lines into a store that holds a statement already: the ordinary path.
    let first = write_lines(dir.path(), "first.jsonl", &generated(1000, 1));
    assert!(import(&first, &args(&ordinary), &[]).status.success());
    let output = import(&source, &args(&ordinary), &["--batch", "70"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("indexes built"),
        "{}",
        stderr(&output)
    );

    assert_eq!(
        pg_deferred_names(&bulk_url),
        ["ledger_record", "statements_id_key"],
        "both indexes built, the staging table gone"
    );
    let ordinary_postings: Vec<_> = pg_postings(&ordinary_url)
        .into_iter()
        .filter(|(_, s)| *s != id(1000))
        .collect();
    assert_eq!(pg_postings(&bulk_url).len(), ordinary_postings.len());
    assert_eq!(
        pg_postings(&bulk_url),
        ordinary_postings,
        "the same postings"
    );
    verify_intact(&args(&bulk));
    verify_intact(&args(&ordinary));
    for data in [&bulk, &ordinary] {
        let agent = export(
            &args(data),
            &["--agent", r#"{"mbox":"mailto:op1@plant.example"}"#],
        );
        assert_eq!(
            agent.len(),
            25,
            "op1 (the ordinary store's first statement is op4's)"
        );
        let registration = export(
            &args(data),
            &["--registration", "10000000-0000-4000-8000-000000000004"],
        );
        assert_eq!(registration.len(), 17, "statements 4, 13, …, 148");
    }

    // A second import (the store is not empty now) sees the stored ids in the database.
    let output = import(&source, &args(&bulk), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut changed: Value = serde_json::from_str(&lines[30]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let clash = write_lines(dir.path(), "clash.jsonl", &[changed.to_string()]);
    let output = import(&clash, &args(&bulk), &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains(&id(30)), "{}", stderr(&output));
    assert_eq!(export(&args(&bulk), &[]).len(), 150);
    verify_intact(&args(&bulk));
}

#[test]
fn an_id_again_in_a_later_batch_of_a_postgres_bulk_import_is_stored_once_or_named_by_its_line() {
    let Some(base) = test_database("the PostgreSQL bulk import") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut lines = generated(0, 20);
    lines.push(lines[2].clone());
    lines.extend(generated(20, 5));
    let same = write_lines(dir.path(), "same.jsonl", &lines);
    let a_url = fresh_schema(&base);
    let a = postgres_args(&a_url, &dir.path().join("a"));
    let output = import(&same, &args(&a), &["--batch", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&a), &[]).len(), 25, "stored once");
    assert_eq!(
        pg_deferred_names(&a_url),
        ["ledger_record", "statements_id_key"]
    );
    verify_intact(&args(&a));

    let mut changed: Value = serde_json::from_str(&lines[2]).expect("json");
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    lines[20] = changed.to_string();
    let clash = write_lines(dir.path(), "clash.jsonl", &lines);
    let b_url = fresh_schema(&base);
    let b = postgres_args(&b_url, &dir.path().join("b"));
    let output = import(&clash, &args(&b), &["--batch", "4"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("line 21") && message.contains(&id(2)),
        "{message}"
    );
    let stored = export(&args(&b), &[]);
    assert_eq!(stored.len(), 20, "the lines before it, not those after");
    assert!(stored.iter().all(|l| !l.contains("verbs/failed")));
    assert_eq!(
        pg_deferred_names(&b_url),
        ["ledger_record", "statements_id_key"]
    );
    verify_intact(&args(&b));
}

#[test]
fn a_postgres_bulk_import_killed_midway_leaves_its_batches_whose_indexes_the_next_open_builds() {
    let Some(base) = test_database("the PostgreSQL bulk import") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_schema(&base);
    let data_args = postgres_args(&url, &dir.path().join("data"));
    let lines = generated(0, 23);
    let mut child = Command::new(BIN)
        .args(["import", "-", "--batch", "5"])
        .args(&data_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn attest");
    let mut input = child.stdin.take().expect("stdin");
    // Four whole batches and three lines of a fifth; stdin stays open, so the import waits.
    let mut text = lines.join("\n");
    text.push('\n');
    input.write_all(text.as_bytes()).expect("write stdin");
    input.flush().expect("flush");
    let started = std::time::Instant::now();
    let mut client = pg_client(&url);
    loop {
        // The tables may not exist yet.
        let stored: i64 = client
            .query_one("SELECT count(*) FROM statements", &[])
            .map(|row| row.get(0))
            .unwrap_or(0);
        if stored == 20 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the import did not store its first batches ({stored})"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // kill -9: no chance to build the indexes.
    child.kill().expect("kill");
    child.wait().expect("reap");
    drop(input);
    assert_eq!(
        pg_deferred_names(&url),
        ["postings_load"],
        "killed with its indexes deferred"
    );
    // The killed import's session, and with it its claim on the store, ends when the server
    // sees the connection closed.
    loop {
        let claims: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 'ledger_head'::regclass::oid",
                &[],
            )
            .expect("locks")
            .get(0);
        if claims == 0 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the killed import's session lives on"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut verify = vec!["verify"];
    verify.extend(args(&data_args));
    let output = run(&verify, &[], None);
    assert!(
        !output.status.success(),
        "verify refuses until the store is opened"
    );
    assert!(
        stderr(&output).contains("did not finish"),
        "{}",
        stderr(&output)
    );

    // Any open of the store (here an export) builds them first.
    assert_eq!(export(&args(&data_args), &[]).len(), 20);
    assert_eq!(
        pg_deferred_names(&url),
        ["ledger_record", "statements_id_key"]
    );
    verify_intact(&args(&data_args));
    assert_eq!(
        export(
            &args(&data_args),
            &["--agent", r#"{"mbox":"mailto:op2@plant.example"}"#]
        )
        .len(),
        3,
        "statements 2, 8 and 14 of the 20 stored"
    );
    // Running the import again stores the rest.
    let source = write_lines(dir.path(), "s.jsonl", &lines);
    let output = import(&source, &args(&data_args), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export(&args(&data_args), &[]).len(), 23);
    verify_intact(&args(&data_args));
}

#[test]
fn another_node_during_a_postgres_bulk_import_leaves_the_indexes_and_its_write_ends_the_deferral() {
    let Some(base) = test_database("the PostgreSQL bulk import") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_schema(&base);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "import"}});
    let accept = |line: &String| {
        let value: Value = serde_json::from_str(line).expect("json");
        xapi::statement::accept(value, xapi::Version::V1_0_3, &authority).expect("valid")
    };
    let lines = generated(0, 10);
    // The synchronous client must not block the runtime's worker.
    let deferred = || tokio::task::block_in_place(|| pg_deferred_names(&url));
    runtime.block_on(async {
        use store::Store;
        let importer = store::PgStore::connect(&url).await.expect("connect");
        assert!(
            importer.begin_bulk_import().await.expect("begin"),
            "empty: deferred"
        );
        importer
            .import_statements("cli:import".into(), lines[..5].iter().map(accept).collect())
            .await
            .expect("first batch");
        assert_eq!(deferred(), ["postings_load"]);
        // A node that starts meanwhile leaves the indexes to the import, which holds its claim.
        let node = store::PgStore::connect(&url).await.expect("connect");
        assert_eq!(deferred(), ["postings_load"]);
        // It writes the ordinary way: ids checked in the database, postings into their table.
        let mut changed: Value = serde_json::from_str(&lines[1]).expect("json");
        changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        match node
            .insert_statements("node".into(), vec![accept(&changed.to_string())], vec![])
            .await
        {
            Err(store::StoreError::Conflict(conflict)) => assert_eq!(conflict.to_string(), id(1)),
            other => panic!("expected a conflict, got {other:?}"),
        }
        node.insert_statements(
            "node".into(),
            vec![accept(&lines[5]), accept(&lines[6])],
            vec![],
        )
        .await
        .expect("the node's write");
        // The import's next batch sees another writer: the indexes are built first (moving the
        // staged postings beside the node's), and the batch goes the ordinary way.
        importer
            .import_statements("cli:import".into(), lines[5..].iter().map(accept).collect())
            .await
            .expect("the rest");
        assert_eq!(deferred(), ["ledger_record", "statements_id_key"]);
        importer
            .finish_bulk_import()
            .await
            .expect("finish: nothing left to build");
        assert!(!importer.begin_bulk_import().await.expect("begin"));
    });
    let terms = accept(&lines[0]).terms.len();
    assert!(terms >= 5, "actor, verb, object, registration, parent, …");
    assert_eq!(
        pg_postings(&url).len(),
        10 * terms,
        "every statement's postings"
    );
    verify_intact(&args(&postgres_args(&url, &dir.path().join("data"))));
}
