//! Black-box tests of the real binary: start-up, the credential command, and durability under
//! kill -9.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_attest");

/// `attest serve` on a random port; returns the process and its base URL once it listens.
fn start(data: &std::path::Path, extra_env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn attest");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("attest exited before listening")
            .expect("read");
        if let Some(rest) = line.split("xAPI base URL ").nth(1) {
            break rest.split("/xapi").next().expect("url").to_string();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

fn statement(n: usize) -> Value {
    json!({
        "actor": {"mbox": format!("mailto:op{}@plant.example", n % 50)},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": format!("https://plant.example/sop/{}", n % 20)}
    })
}

#[test]
fn first_start_prints_a_credential_and_credential_create_adds_one() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let done = line.contains("xAPI base URL");
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = printed.join("\n");
    assert!(text.contains("key:") && text.contains("secret:"), "{text}");

    let output = Command::new(BIN)
        .args([
            "credential",
            "create",
            "--name",
            "LMS",
            "--key",
            "lms",
            "--secret",
            "pw",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("key: lms"));
    let again = Command::new(BIN)
        .args([
            "credential",
            "create",
            "--name",
            "LMS",
            "--key",
            "lms",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!again.status.success(), "a key can be created only once");

    // The new credential works against a restarted server; a second start prints no credential.
    let (mut child, base) = start(dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/xapi/statements"))
            .basic_auth("lms", Some("pw"))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .expect("send")
            .status()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
}

/// Every statement that got a 2xx is there after kill -9 and a restart (DESIGN: no acknowledged
/// write is lost).
#[test]
fn acknowledged_statements_survive_kill_9() {
    let dir = tempfile::tempdir().expect("dir");
    let credentials = [
        ("ATTEST_BOOTSTRAP_KEY", "k"),
        ("ATTEST_BOOTSTRAP_SECRET", "s"),
    ];
    let (mut child, base) = start(dir.path(), &credentials);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let (client, base, stop) = (client.clone(), base.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut n = worker * 100_000;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let batch: Vec<Value> = (0..5).map(|i| statement(n * 10 + i)).collect();
                    let sent = client
                        .post(format!("{base}/xapi/statements"))
                        .basic_auth("k", Some("s"))
                        .header("X-Experience-API-Version", "1.0.3")
                        .json(&batch)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            match response.json::<Vec<String>>().await {
                                Ok(ids) => acked.extend(ids),
                                Err(_) => break,
                            }
                        }
                        _ => break,
                    }
                }
                acked
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // SIGKILL while the writers are mid-flight.
        child.kill().expect("kill -9");
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        let mut acknowledged = Vec::new();
        for task in tasks {
            acknowledged.extend(task.await.expect("task"));
        }
        acknowledged
    });
    eprintln!(
        "{} statements acknowledged before kill -9",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > 50,
        "the load ran: {} acknowledged",
        acknowledged.len()
    );

    let (mut child, base) = start(dir.path(), &credentials);
    let missing = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut missing = Vec::new();
        for id in &acknowledged {
            let response = client
                .get(format!("{base}/xapi/statements?statementId={id}"))
                .basic_auth("k", Some("s"))
                .header("X-Experience-API-Version", "1.0.3")
                .send()
                .await
                .expect("send");
            if response.status() != 200 {
                missing.push(id.clone());
            }
        }
        missing
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged statements lost: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
}

/// Stores made with the CLI are verified one by one (`attest verify --store`).
#[test]
fn a_named_store_is_created_and_verified_on_its_own() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data")
            .arg(dir.path())
            .output()
            .expect("run")
    };
    assert!(run(&["store", "create", "plant-b"]).status.success());
    let listed = run(&["store", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("plant-b"));
    let created = run(&[
        "credential",
        "create",
        "--name",
        "sim",
        "--store",
        "plant-b",
        "--scope",
        "statements/write",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let verified = run(&["verify", "--store", "plant-b"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let default = run(&["verify"]);
    let text = String::from_utf8_lossy(&default.stdout).to_string();
    assert!(
        default.status.success() && text.contains("intact"),
        "{text}"
    );
    assert!(!run(&["verify", "--store", "nowhere"]).status.success());
    assert!(!run(&["store", "create", "Bad Name"]).status.success());
}
