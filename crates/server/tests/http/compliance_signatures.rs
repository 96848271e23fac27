//! Electronic signatures (regulated.md C1–C7, S1, S3) over HTTP: enrolment with an identity
//! verifier, re-authentication at each signature, lock-out, manifestation, the link to the signed
//! record, and the completions that need them. Both backends (`scripts/test`).
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

async fn send(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .request(method, path)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn get(server: &TestServer, path: &str) -> Value {
    let (status, body) = send(server, Method::GET, path, Value::Null).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn account(name: &str) -> Value {
    json!({"account": {"homePage": "https://hr.example", "name": name}})
}

/// Ann (learner), Bob (trainer, approver) and Qed (QA); DOC-1 v1 needs Ann's READ_AND_UNDERSTOOD
/// signature; SOP-9 v1 (FULL) and v2 (editorial).
async fn plant(server: &TestServer) {
    let mut facts = Vec::new();
    for (id, name, account_name) in [
        ("ann", "Ann Example", "E1"),
        ("bob", "Bob Example", "E2"),
        ("qed", "Qed Example", "E3"),
    ] {
        facts.push(json!({"kind": "person", "id": id, "name": name}));
        facts.push(
            json!({"kind": "person_identifier", "person": id, "agent": account(account_name)}),
        );
    }
    facts.extend([
        json!({"kind": "role", "person": "qed", "role": "QA", "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "role", "person": "bob", "role": "CHANGE_APPROVER", "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "site", "id": "A", "name": "Plant A", "time_zone": "Europe/Dublin"}),
        json!({"kind": "membership", "person": "ann", "function": "packaging", "site": "A", "valid_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "rule", "id": "read", "version": 1, "move_on": "COMPLETED",
               "required_signatures": ["READ_AND_UNDERSTOOD"], "effective_from": "2020-01-01T00:00:00Z"}),
        json!({"kind": "procedure_version", "procedure": "DOC-1", "version": "1", "activity_iri": "https://qms.example/doc/DOC-1/v1",
               "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "procedure_version", "procedure": "SOP-9", "version": "1", "activity_iri": "https://qms.example/doc/SOP-9/v1",
               "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        json!({"kind": "procedure_version", "procedure": "SOP-9", "version": "2", "activity_iri": "https://qms.example/doc/SOP-9/v2",
               "effective_from": "2026-06-01T00:00:00Z", "impact": "NONE", "rule": "read"}),
        json!({"kind": "requirement", "id": "PACK-DOC-1", "function": "packaging", "procedure": "DOC-1",
               "valid_from": "2020-01-01T00:00:00Z"}),
    ]);
    let (status, body) = send(
        server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "set-up", "facts": facts}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Each person's own credential: its authority (an account on this LRS named by its key) is
    // recorded as one of their identifiers.
    let home = server::Config::default().authority_home_page;
    for person in ["ann", "bob", "qed"] {
        let created = reqwest::Client::new()
            .post(server.url("/api/admin/credentials"))
            .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET))
            .json(
                &json!({"name": person, "key": format!("{person}-own"), "secret": "own-secret",
                          "scopes": ["statements/write"]}),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(created.status(), 201);
        let (status, body) = send(
            server,
            Method::POST,
            "/api/compliance/facts",
            json!({"reason": "own credential", "fact": {"kind": "person_identifier", "person": person,
                   "agent": {"account": {"homePage": home, "name": format!("{person}-own")}}}}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
}

/// The password given at enrolment: temporary, it signs nothing (regulated.md C6).
const TEMPORARY: &str = "temporary-password-1";

/// Enrols `person` with a temporary password, then (when that worked) has them change it to
/// [`PASSWORD`], as a signer does before their first signature.
async fn enrol(server: &TestServer, person: &str, verified_by: &str) -> (u16, Value) {
    let enrolled = send(
        server,
        Method::POST,
        "/api/compliance/signers",
        json!({"person": person, "password": TEMPORARY, "verifiedBy": verified_by,
               "identityEvidence": "passport checked in person", "reason": "new signer"}),
    )
    .await;
    if enrolled.0 == 201 {
        let (status, body) = change_password(server, person, TEMPORARY, PASSWORD).await;
        assert_eq!(status, 200, "{body}");
    }
    enrolled
}

/// Through the signer's own credential (key `<person>-own`), not the one that enrolled them.
async fn change_password(server: &TestServer, person: &str, from: &str, to: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/compliance/signers/{person}/password")))
        .basic_auth(format!("{person}-own"), Some("own-secret"))
        .json(&json!({"password": from, "newPassword": to}))
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn sign(server: &TestServer, body: Value) -> (u16, Value) {
    send(server, Method::POST, "/api/compliance/signatures", body).await
}

fn read_and_understood(signer: &str, password: &str, statement: &str) -> Value {
    json!({"signer": signer, "password": password, "meaning": "READ_AND_UNDERSTOOD", "statement": statement})
}

async fn doc_status(server: &TestServer, extra: &str) -> Value {
    get(
        server,
        &format!("/api/compliance/status?person=ann&procedure=DOC-1{extra}"),
    )
    .await
}

/// C4: enrolment needs another person who verified the signer's identity, evidence of it, a
/// reason and a password of 12 characters or more; a signer is never enrolled as a bare fact.
#[tokio::test]
async fn c4_enrolment_needs_a_verifier_who_is_someone_else() {
    let server = TestServer::start().await;
    plant(&server).await;
    let mut bad = Vec::new();
    for (body, want) in [
        (
            json!({"person": "ann", "password": PASSWORD, "verifiedBy": "ann", "identityEvidence": "x", "reason": "r"}),
            400,
        ),
        (
            json!({"person": "ann", "password": PASSWORD, "verifiedBy": "bob", "reason": "r"}),
            400,
        ),
        (
            json!({"person": "ann", "password": "short", "verifiedBy": "bob", "identityEvidence": "x", "reason": "r"}),
            400,
        ),
        (
            json!({"person": "ann", "password": PASSWORD, "verifiedBy": "bob", "identityEvidence": "x", "reason": " "}),
            400,
        ),
        (
            json!({"person": "ann", "password": PASSWORD, "verifiedBy": "nobody", "identityEvidence": "x", "reason": "r"}),
            404,
        ),
        (
            json!({"person": "nobody", "password": PASSWORD, "verifiedBy": "bob", "identityEvidence": "x", "reason": "r"}),
            404,
        ),
        (
            json!({"person": "ann", "password": PASSWORD, "verifiedBy": "bob", "identityEvidence": "x", "reason": "r", "role": "x"}),
            400,
        ),
    ] {
        let (status, answer) = send(
            &server,
            Method::POST,
            "/api/compliance/signers",
            body.clone(),
        )
        .await;
        if status != want {
            bad.push(format!("{body} → {status} {answer}"));
        }
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    assert!(bad.is_empty(), "{bad:#?}");
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "r", "fact": {"kind": "signer", "person": "ann", "verified_by": "bob", "identity_evidence": "x"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = enrol(&server, "ann", "bob").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["verifiedBy"], "bob");
    // The enrolment is on record with who verified the identity and why.
    let facts = get(&server, "/api/compliance/facts").await;
    let signer = facts["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .find(|f| f["fact"]["kind"] == "signer")
        .expect("signer fact")
        .clone();
    assert_eq!(signer["fact"]["verified_by"], "bob");
    assert_eq!(signer["reason"], "new signer");
    // The signing password is no credential for the xAPI or admin API.
    let admin = |method: Method, path: &str| {
        reqwest::Client::new()
            .request(method, server.url(path))
            .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET))
    };
    let credentials = admin(Method::GET, "/api/admin/credentials")
        .send()
        .await
        .expect("send");
    let list: Value = credentials.json().await.expect("json");
    let signing = list["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["kind"] == "signer")
        .expect("signing credential")
        .clone();
    let key = signing["key"].as_str().expect("key");
    let refused = reqwest::Client::new()
        .get(server.url("/xapi/statements"))
        .basic_auth(key, Some(PASSWORD))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 401);
    // C6: no administrator sets (or learns) a signing password.
    let rotate = admin(
        Method::POST,
        &format!("/api/admin/credentials/{}/rotate", key.replace(':', "%3A")),
    )
    .send()
    .await
    .expect("send");
    assert_eq!(
        rotate.status(),
        400,
        "{}",
        rotate.text().await.unwrap_or_default()
    );
    let response = admin(Method::POST, "/api/admin/credentials")
        .json(&json!({"name": "sneaky", "kind": "signer"}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        400,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// S1, C1, C2, C5, regulated.md 2.3: a document read counts once the learner signs
/// READ_AND_UNDERSTOOD with her signing password; the answer shows the signature's
/// manifestation, which keeps the printed name of the day of signing; the signature links to
/// the statement's stored bytes and shows when that record is voided; clients can neither
/// forge nor void a signature.
#[tokio::test]
async fn s1_c1_a_read_and_understood_signature_completes_the_document_training() {
    let server = TestServer::start().await;
    plant(&server).await;
    assert_eq!(enrol(&server, "ann", "bob").await.0, 201);
    let read = server
        .store(&json!({
            "actor": account("E1"), "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://qms.example/doc/DOC-1/v1"}, "timestamp": "2026-03-01T09:00:00Z"
        }))
        .await
        .remove(0);
    let before = doc_status(&server, "").await;
    assert_eq!(before["status"], "NOT_QUALIFIED", "{before}");
    assert_eq!(before["reason"], "SIGNATURE_MISSING");
    let unsigned_at = jiff::Timestamp::now().to_string();

    // Refused: not enrolled (Bob), a wrong password, someone else's R&U, a missing statement.
    let (status, body) = sign(&server, read_and_understood("bob", PASSWORD, &read)).await;
    assert_eq!(status, 401, "{body}");
    let response = server
        .request(Method::POST, "/api/compliance/signatures")
        .json(&read_and_understood("ann", "wrong password!", &read))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "a refused signature does not ask the client to log in again"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "signature_refused");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("1 of 5"),
        "{body}"
    );
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let (status, body) = sign(&server, read_and_understood("bob", PASSWORD, &read)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = sign(&server, read_and_understood("ann", PASSWORD, &uuid())).await;
    assert_eq!(status, 404, "{body}");
    for body in [
        json!({"signer": "ann", "password": PASSWORD, "meaning": "LIKED", "statement": read}),
        json!({"signer": "ann", "password": PASSWORD, "meaning": "READ_AND_UNDERSTOOD"}),
        json!({"signer": "ann", "password": PASSWORD, "meaning": "READ_AND_UNDERSTOOD", "procedure": "DOC-1", "version": "1"}),
        json!({"signer": "ann", "meaning": "READ_AND_UNDERSTOOD", "statement": read}),
        json!({"signer": "ann", "password": PASSWORD, "meaning": "READ_AND_UNDERSTOOD", "statement": "not-a-uuid"}),
    ] {
        let (status, answer) = sign(&server, body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
    }
    assert_eq!(doc_status(&server, "").await["reason"], "SIGNATURE_MISSING");

    let (status, signed) = sign(&server, read_and_understood("ann", PASSWORD, &read)).await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["printedName"], "Ann Example");
    assert!(
        signed["signedAtLocal"]
            .as_str()
            .is_some_and(|t| t.ends_with("[Europe/Dublin]")),
        "C1: shown in the site's time zone too: {signed}"
    );
    assert_eq!(signed["meaning"], "READ_AND_UNDERSTOOD");
    assert_eq!(signed["authMethod"], "password");
    let stored = server
        .get_statements(&format!("statementId={read}&format=exact"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        signed["recordSha256"],
        hex::encode(Sha256::digest(stored.as_bytes())),
        "C2: the signature holds the hash of the record as stored"
    );
    let (status, body) = sign(&server, read_and_understood("ann", PASSWORD, &read)).await;
    assert_eq!(status, 409, "signed twice: {body}");

    let q = doc_status(&server, "").await;
    assert_eq!(q["status"], "QUALIFIED", "{q}");
    let signature_id = signed["id"].as_str().expect("id");
    assert_eq!(q["evidence"], json!([read, signature_id]));
    assert_eq!(q["signatures"][0]["printedName"], "Ann Example");
    assert_eq!(
        q["signatures"][0]["meaningText"],
        "I have read and understood this document"
    );
    assert_eq!(q["achievedAt"], signed["signedAt"], "achieved when signed");
    // As known before she signed, the answer was "signature missing".
    let then = doc_status(
        &server,
        &format!("&asKnownAt={}", unsigned_at.replace(':', "%3A")),
    )
    .await;
    assert_eq!(then["reason"], "SIGNATURE_MISSING", "{then}");

    // The signature is an xAPI statement of the signer, with the client as authority.
    let statement: Value = server
        .get_statements(&format!("statementId={signature_id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        statement["verb"]["id"],
        "https://attest.dev/xapi/verbs/signed"
    );
    assert_eq!(statement["actor"]["account"]["name"], "E1");
    assert_eq!(statement["context"]["statement"]["id"], json!(read));

    // C1: renaming Ann later leaves the manifestation as signed.
    let (status, _) = send(
        &server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "marriage", "fact": {"kind": "person", "id": "ann", "name": "Ann Married"}}),
    )
    .await;
    assert_eq!(status, 201);
    let list = get(
        &server,
        &format!("/api/compliance/signatures?statement={read}"),
    )
    .await;
    assert_eq!(list["signatures"][0]["printedName"], "Ann Example");
    assert_eq!(list["signatures"][0]["record"], "INTACT");

    // Clients cannot forge or void a signature.
    let mut forged = statement.clone();
    forged
        .as_object_mut()
        .expect("object")
        .retain(|k, _| !["id", "stored", "authority", "version"].contains(&k.as_str()));
    let response = server.post_statements(&forged).await;
    assert_eq!(response.status(), 403);
    let void = |target: &str| {
        json!({"actor": account("E3"), "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": target}})
    };
    assert_eq!(
        server.post_statements(&void(signature_id)).await.status(),
        403
    );

    // C2: a signature whose record was voided says so; the training no longer counts.
    server.store(&void(&read)).await;
    let list = get(
        &server,
        &format!("/api/compliance/signatures?statement={read}"),
    )
    .await;
    assert_eq!(list["signatures"][0]["record"], "SIGNED_RECORD_VOIDED");
    let (status, body) = sign(
        &server,
        json!({"signer": "bob", "password": PASSWORD, "meaning": "QA_APPROVED", "statement": read}),
    )
    .await;
    assert_eq!(status, 409, "a voided record cannot be signed: {body}");
    assert_eq!(doc_status(&server, "").await["reason"], "EVIDENCE_VOIDED");
}

/// C7: five wrong signing passwords in a row lock the signer out (the signing credential is
/// revoked, ledgered) until a new enrolment; a right password in between starts the count again.
#[tokio::test]
async fn c7_five_wrong_passwords_in_a_row_lock_signing_until_a_new_enrolment() {
    let server = TestServer::start().await;
    plant(&server).await;
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let version = |meaning: &str, password: &str| json!({"signer": "bob", "password": password, "meaning": meaning, "procedure": "SOP-9", "version": "1"});
    for _ in 0..4 {
        assert_eq!(
            sign(&server, version("APPROVED", "not my password"))
                .await
                .0,
            401
        );
    }
    let (status, body) = sign(&server, version("APPROVED", PASSWORD)).await;
    assert_eq!(status, 201, "{body}");
    for n in 1..=5 {
        let (status, body) = sign(&server, version("APPROVED", "not my password")).await;
        assert_eq!(status, 401);
        if n == 5 {
            assert!(
                body["message"]
                    .as_str()
                    .expect("message")
                    .contains("locked"),
                "{body}"
            );
        }
    }
    let (status, body) = sign(&server, version("APPROVED", PASSWORD)).await;
    assert_eq!(status, 401, "locked: {body}");
    let ledger = get(&server, "/api/audit/entries?limit=1000").await;
    let lockouts = ledger["entries"].as_array().map_or(0, |l| {
        l.iter()
            .filter(|e| e["kind"] == "credential" && e["principal"] == "attest:signatures")
            .count()
    });
    assert_eq!(lockouts, 1, "{ledger}");
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let (status, body) = sign(&server, version("APPROVED", PASSWORD)).await;
    assert_eq!(status, 409, "unlocked, and APPROVED once already: {body}");
}

/// S3: the change-control approver's decision that an editorial revision needs no training is a
/// signature on that version, with printed name, time and meaning; a FULL revision cannot be
/// signed off as needing none.
#[tokio::test]
async fn s3_no_training_required_is_signed_by_the_change_control_approver() {
    let server = TestServer::start().await;
    plant(&server).await;
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let decision = |version: &str| {
        json!({"signer": "bob", "password": PASSWORD, "meaning": "NO_TRAINING_REQUIRED",
               "procedure": "SOP-9", "version": version, "comment": "typo fixes only (CC-77)"})
    };
    let (status, body) = sign(&server, decision("1")).await;
    assert_eq!(status, 409, "v1 is FULL: {body}");
    // B2: QA is no change approver.
    assert_eq!(enrol(&server, "qed", "bob").await.0, 201);
    let mut by_qa = decision("2");
    by_qa["signer"] = json!("qed");
    let (status, body) = sign(&server, by_qa).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("CHANGE_APPROVER"),
        "{body}"
    );
    let (status, body) = sign(&server, decision("7")).await;
    assert_eq!(status, 404, "{body}");
    let (status, signed) = sign(&server, decision("2")).await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["signedAtLocal"], Value::Null, "Bob works at no site");
    let list = get(
        &server,
        "/api/compliance/signatures?procedure=SOP-9&version=2",
    )
    .await;
    let rows = list["signatures"].as_array().expect("signatures");
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["signer"], "bob");
    assert_eq!(rows[0]["printedName"], "Bob Example");
    assert_eq!(rows[0]["meaning"], "NO_TRAINING_REQUIRED");
    assert_eq!(rows[0]["signedAt"], signed["signedAt"]);
    assert_eq!(rows[0]["record"], "INTACT");
    // A correction of the version after signing shows: the signature no longer matches it.
    let (status, _) = send(
        &server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "impact corrected", "fact": {"kind": "procedure_version", "procedure": "SOP-9", "version": "2",
               "activity_iri": "https://qms.example/doc/SOP-9/v2", "effective_from": "2026-06-01T00:00:00Z",
               "impact": "FULL", "rule": "read"}}),
    )
    .await;
    assert_eq!(status, 201);
    let list = get(
        &server,
        "/api/compliance/signatures?procedure=SOP-9&version=2",
    )
    .await;
    assert_eq!(list["signatures"][0]["record"], "RECORD_CHANGED", "{list}");
    for query in ["", "?procedure=SOP-9", "?statement=x", "?version=2"] {
        let (status, body) = send(
            &server,
            Method::GET,
            &format!("/api/compliance/signatures{query}"),
            Value::Null,
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

/// regulated.md 2.2, 2.3, B2 (3, 4): a cmi5 `waived` statement counts for a reason the rule
/// allows once QA (not the learner) signs WAIVER_APPROVED on it; WAIVER_APPROVED signs only
/// waivers.
#[tokio::test]
async fn a_cmi5_waiver_counts_with_a_qa_waiver_approval() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "waivers allowed", "fact": {"kind": "rule", "id": "read", "version": 2, "move_on": "COMPLETED",
               "required_signatures": ["READ_AND_UNDERSTOOD"], "waiver_reasons": ["Tested Out"],
               "effective_from": "2021-01-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/compliance/facts",
        json!({"reason": "r", "fact": {"kind": "rule", "id": "x", "version": 1, "move_on": "COMPLETED",
               "waiver_reasons": ["Felt like it"], "effective_from": "2021-01-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(enrol(&server, "ann", "bob").await.0, 201);
    assert_eq!(enrol(&server, "qed", "bob").await.0, 201);
    let waiver = server
        .store(&json!({
            "actor": account("E1"), "verb": {"id": "https://w3id.org/xapi/adl/verbs/waived"},
            "object": {"id": "https://qms.example/doc/DOC-1/v1"}, "timestamp": "2026-03-01T09:00:00Z",
            "result": {"extensions": {"https://w3id.org/xapi/cmi5/result/extensions/reason": "Tested Out"}}
        }))
        .await
        .remove(0);
    let completed = server
        .store(&json!({
            "actor": account("E1"), "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://qms.example/doc/DOC-1/v1"}, "timestamp": "2026-03-01T09:00:00Z"
        }))
        .await
        .remove(0);
    assert_eq!(doc_status(&server, "").await["reason"], "SIGNATURE_MISSING");
    let approve = |signer: &str, statement: &str| json!({"signer": signer, "password": PASSWORD, "meaning": "WAIVER_APPROVED", "statement": statement});
    let (status, body) = sign(&server, approve("ann", &waiver)).await;
    assert_eq!(status, 403, "her own waiver: {body}");
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let (status, body) = sign(&server, approve("bob", &waiver)).await;
    assert_eq!(status, 403, "B2: Bob holds no QA role: {body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("QA role"),
        "{body}"
    );
    let (status, body) = sign(&server, approve("qed", &completed)).await;
    assert_eq!(status, 400, "not a waiver: {body}");
    let (status, signed) = sign(&server, approve("qed", &waiver)).await;
    assert_eq!(status, 201, "{signed}");
    let q = doc_status(&server, "").await;
    assert_eq!(q["status"], "QUALIFIED", "{q}");
    assert_eq!(q["evidence"], json!([waiver, signed["id"]]));
    assert_eq!(q["signatures"][0]["meaning"], "WAIVER_APPROVED");
    let assignments = get(&server, "/api/compliance/assignments?person=ann").await;
    assert_eq!(
        assignments["assignments"][0]["status"], "WAIVED",
        "closed by the waiver, not by training: {assignments}"
    );
    let waived = get(&server, "/api/compliance/reports/assignments?status=WAIVED").await;
    assert_eq!(
        waived["assignments"].as_array().map(Vec::len),
        Some(1),
        "{waived}"
    );
    assert_eq!(q["signatures"][0]["printedName"], "Qed Example");
}

/// C6: the password given at enrolment is known to whoever enrolled the signer, so it signs
/// nothing: the signer first replaces it with one of their own (checked like a signature).
#[tokio::test]
async fn c6_an_enrolment_password_signs_nothing_until_its_owner_changes_it() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/compliance/signers",
        json!({"person": "bob", "password": TEMPORARY, "verifiedBy": "qed",
               "identityEvidence": "badge", "reason": "new approver"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let approve = |password: &str| json!({"signer": "bob", "password": password, "meaning": "APPROVED", "procedure": "SOP-9", "version": "1"});
    let (status, body) = sign(&server, approve(TEMPORARY)).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("temporary"),
        "{body}"
    );
    for (from, to, want) in [
        ("not the password", PASSWORD, 401),
        (TEMPORARY, "short", 400),
        (TEMPORARY, TEMPORARY, 400),
    ] {
        let (status, body) = change_password(&server, "bob", from, to).await;
        assert_eq!(status, want, "{from} -> {to}: {body}");
    }
    // Not through any credential but Bob's own: the one that enrolled him knows the temporary
    // password, and so may others.
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/compliance/signers/bob/password",
        json!({"password": TEMPORARY, "newPassword": PASSWORD}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = change_password(&server, "bob", TEMPORARY, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sign(&server, approve(TEMPORARY)).await;
    assert_eq!(status, 401, "the temporary password is gone: {body}");
    let (status, body) = sign(&server, approve(PASSWORD)).await;
    assert_eq!(status, 201, "{body}");
    // And again, from one own password to the next.
    let (status, body) = change_password(&server, "bob", PASSWORD, "another long password").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = change_password(&server, "nobody", PASSWORD, "another long password").await;
    assert_eq!(status, 401);
}

/// Two identical signing requests at once: one signature is written, the other request is 409.
#[tokio::test]
async fn two_identical_signatures_at_once_write_one() {
    let server = TestServer::start().await;
    plant(&server).await;
    assert_eq!(enrol(&server, "bob", "qed").await.0, 201);
    let approve = json!({"signer": "bob", "password": PASSWORD, "meaning": "APPROVED",
                         "procedure": "SOP-9", "version": "1"});
    let (a, b) = tokio::join!(
        sign(&server, approve.clone()),
        sign(&server, approve.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
    let list = get(
        &server,
        "/api/compliance/signatures?procedure=SOP-9&version=1",
    )
    .await;
    assert_eq!(
        list["signatures"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
}
