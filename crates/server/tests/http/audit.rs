//! The audit-trail API (regulated.md A1, A2): history of a record, checkpoints, and an inclusion
//! proof that a third party checks with nothing but the public key and docs/ledger.md.
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

async fn get_json(server: &TestServer, path: &str) -> Value {
    let response = server
        .request(Method::GET, path)
        .send()
        .await
        .expect("send");
    let status = response.status();
    let text = response.text().await.expect("text");
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).expect("json")
}

fn hash32(value: &Value) -> [u8; 32] {
    hex::decode(value.as_str().expect("hex string"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// `<length>:<bytes>,` framing, as docs/ledger.md specifies.
fn frame(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(format!("{}:", field.len()).as_bytes());
    out.extend_from_slice(field);
    out.push(b',');
}

#[tokio::test]
async fn a_statement_history_shows_its_store_and_void_a2_a3() {
    let server = TestServer::start().await;
    let id = server.store(&statement()).await.remove(0);
    server
        .store(&json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": id}
        }))
        .await;
    let history = get_json(&server, &format!("/api/audit/records/statement/{id}")).await;
    let actions: Vec<&str> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, vec!["statement.store", "statement.void"]);
    let entry = &history["entries"][0];
    assert_eq!(entry["principal"], format!("credential:{KEY}"));
    // The content hash is the SHA-256 of the statement as stored, which the API returns byte for byte.
    let stored = server
        .request(
            Method::GET,
            &format!("/xapi/statements?voidedStatementId={id}"),
        )
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(entry["contentHash"], hex::encode(Sha256::digest(&stored)));
    let response = server
        .request(
            Method::GET,
            &format!("/api/audit/records/statement/{}", uuid()),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn entries_are_chained_and_paged_a1() {
    let server = TestServer::start().await;
    server
        .store(&json!([statement(), statement(), statement()]))
        .await;
    let page = get_json(&server, "/api/audit/entries?after=0&limit=2").await;
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let rest = get_json(&server, "/api/audit/entries?after=2").await;
    let rest = rest["entries"].as_array().expect("entries");
    assert_eq!(rest[0]["seq"], 3);
    assert_eq!(
        rest[0]["prev"], entries[1]["hash"],
        "each entry chains to the one before"
    );
    assert_eq!(entries[0]["prev"], hex::encode([0u8; 32]));
    let bad = server
        .request(Method::GET, "/api/audit/entries?after=-1")
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn no_route_changes_or_deletes_ledger_entries_a2() {
    let server = TestServer::start().await;
    server.store(&statement()).await;
    for method in [Method::PUT, Method::DELETE, Method::POST, Method::PATCH] {
        let response = server
            .request(method.clone(), "/api/audit/entries")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 405, "{method}");
    }
    let response = server
        .request(Method::DELETE, "/api/audit/checkpoints/latest")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn the_audit_api_needs_credentials_b1() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/audit/entries"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_third_party_checks_an_inclusion_proof_with_the_public_key_a1() {
    let server = TestServer::start().await;
    for _ in 0..6 {
        server.store(&json!([statement(), statement()])).await;
    }
    let target = server.store(&statement()).await.remove(0);
    server.store(&statement()).await;
    let response = server
        .request(Method::POST, "/api/audit/checkpoints")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);

    let key = get_json(&server, "/api/audit/public-key").await;
    let history = get_json(&server, &format!("/api/audit/records/statement/{target}")).await;
    let seq = history["entries"][0]["seq"].as_u64().expect("seq");
    let proof = get_json(&server, &format!("/api/audit/proofs/inclusion/{seq}")).await;

    // 1. The checkpoint is signed by the server's key (docs/ledger.md "Checkpoint signature").
    let checkpoint = &proof["checkpoint"];
    let size = checkpoint["size"].as_u64().expect("size");
    let (root, head) = (hash32(&checkpoint["root"]), hash32(&checkpoint["head"]));
    let mut signed = Vec::new();
    frame(&mut signed, b"attest-ledger-checkpoint-v1");
    frame(&mut signed, size.to_string().as_bytes());
    frame(&mut signed, &root);
    frame(&mut signed, &head);
    frame(
        &mut signed,
        checkpoint["time"].as_str().expect("time").as_bytes(),
    );
    let public: [u8; 32] = hash32(&key["publicKey"]);
    let public = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("key");
    let signature: [u8; 64] = hex::decode(checkpoint["signature"].as_str().expect("sig"))
        .expect("hex")
        .try_into()
        .expect("64");
    public
        .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&signature))
        .expect("the checkpoint signature verifies");

    // 2. The entry's hash is the hash of its fields (docs/ledger.md "Entry hash").
    let entry = &proof["entry"];
    let mut fields = Vec::new();
    frame(&mut fields, b"attest-ledger-entry-v1");
    frame(&mut fields, seq.to_string().as_bytes());
    for name in ["time", "principal", "action", "kind", "resource"] {
        frame(&mut fields, entry[name].as_str().expect("field").as_bytes());
    }
    frame(&mut fields, &hash32(&entry["contentHash"]));
    frame(&mut fields, &[]);
    frame(&mut fields, &hash32(&entry["prev"]));
    let entry_hash: [u8; 32] = Sha256::digest(&fields).into();
    assert_eq!(hex::encode(entry_hash), entry["hash"]);

    // 3. The audit path leads from the entry to the signed root (RFC 9162 2.1.3.2).
    let path: Vec<[u8; 32]> = proof["auditPath"]
        .as_array()
        .expect("path")
        .iter()
        .map(hash32)
        .collect();
    let index = proof["leafIndex"].as_u64().expect("index");
    assert!(ledger::merkle::verify_inclusion(
        &entry_hash,
        index,
        size,
        &path,
        &root
    ));
    let mut wrong = path.clone();
    wrong[0][0] ^= 1;
    assert!(!ledger::merkle::verify_inclusion(
        &entry_hash,
        index,
        size,
        &wrong,
        &root
    ));
}

#[tokio::test]
async fn consistency_between_two_checkpoints_a1() {
    let server = TestServer::start().await;
    server
        .store(&json!([statement(), statement(), statement()]))
        .await;
    let first = server
        .request(Method::POST, "/api/audit/checkpoints")
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    server.store(&json!([statement(), statement()])).await;
    let second = server
        .request(Method::POST, "/api/audit/checkpoints")
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    let (m, n) = (
        first["size"].as_u64().expect("m"),
        second["size"].as_u64().expect("n"),
    );
    assert!(m < n);
    let proof = get_json(
        &server,
        &format!("/api/audit/proofs/consistency?from={m}&to={n}"),
    )
    .await;
    let path: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(hash32)
        .collect();
    assert!(ledger::merkle::verify_consistency(
        m,
        n,
        &hash32(&first["root"]),
        &hash32(&second["root"]),
        &path
    ));
    let latest = get_json(&server, "/api/audit/checkpoints/latest").await;
    assert_eq!(latest["size"], n);
}
