//! Attachments (Communication 1.5, Data 2.4.11), signed statements (Data 2.6) and the alternate
//! request syntax (Communication 1.3), through HTTP, under 1.0.3 and 2.0.0.
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, SigningKey};
use reqwest::Method;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

const VERSIONS: [&str; 2] = ["1.0.3", "2.0.0"];
const BOUNDARY: &str = "-------314159265358979323846";
const SIGNATURE: &str = "http://adlnet.gov/expapi/attachments/signature";

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn attachment(content: &[u8], content_type: &str) -> Value {
    json!({
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": content_type,
        "length": content.len(),
        "sha2": sha256(content)
    })
}

fn with_attachments(attachments: Vec<Value>) -> Value {
    let mut s = statement();
    s["attachments"] = Value::Array(attachments);
    s
}

/// One attachment part: its header lines and its content.
struct Part<'a> {
    headers: Vec<String>,
    content: &'a [u8],
}

fn part(content: &[u8]) -> Part<'_> {
    Part {
        headers: vec![
            "Content-Type: text/plain".into(),
            "Content-Transfer-Encoding: binary".into(),
            format!("X-Experience-API-Hash: {}", sha256(content)),
        ],
        content,
    }
}

fn multipart(json: &Value, parts: &[Part]) -> Vec<u8> {
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{json}\r\n").into_bytes();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        for line in &part.headers {
            body.extend_from_slice(format!("{line}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send_multipart(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    server
        .request(method, path)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("send")
}

async fn post(server: &TestServer, body: Vec<u8>) -> reqwest::Response {
    send_multipart(
        server,
        Method::POST,
        "/xapi/statements",
        &format!("multipart/mixed; boundary={BOUNDARY}"),
        body,
    )
    .await
}

async fn servers() -> Vec<TestServer> {
    let mut all = Vec::new();
    for version in VERSIONS {
        all.push(TestServer::start().await.with_version(version));
    }
    all
}

/// A multipart/mixed response split into (headers, content) parts.
async fn multipart_response(response: reqwest::Response) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("content type")
        .to_string();
    assert!(
        content_type.starts_with("multipart/mixed"),
        "{content_type}"
    );
    let boundary = server::multipart::boundary(&content_type).expect("boundary");
    assert!(
        boundary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "TinCanJS needs an unquoted boundary: {boundary}"
    );
    assert!(!content_type.contains('"'));
    let body = response.bytes().await.expect("body");
    server::multipart::parse(&body, &boundary)
        .expect("a well-formed multipart response")
        .into_iter()
        .map(|p| (p.headers, body[p.content].to_vec()))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

// ---- multipart/mixed requests (Communication 1.5.2) ----

#[tokio::test]
async fn stores_attachment_parts_and_returns_them_with_attachments_true_c_1_5_2() {
    for server in servers().await {
        let content = b"here is a simple attachment";
        let statement = with_attachments(vec![attachment(content, "text/plain")]);
        let response = post(&server, multipart(&statement, &[part(content)])).await;
        let ids: Vec<String> =
            serde_json::from_str(&expect_status(response, 200).await).expect("ids");

        let query = format!("statementId={}&attachments=true", ids[0]);
        let parts = multipart_response(server.get_statements(&query).await).await;
        assert_eq!(parts.len(), 2, "{}", server.version);
        assert_eq!(
            header(&parts[0].0, "content-type"),
            Some("application/json")
        );
        let got: Value = serde_json::from_slice(&parts[0].1).expect("json");
        assert_eq!(got["id"], ids[0].as_str());
        assert_eq!(parts[1].1, content);
        assert_eq!(
            header(&parts[1].0, "x-experience-api-hash"),
            Some(sha256(content).as_str())
        );
        assert_eq!(
            header(&parts[1].0, "content-transfer-encoding"),
            Some("binary")
        );
        assert_eq!(header(&parts[1].0, "content-type"), Some("text/plain"));

        // attachments=false (and the default): JSON only.
        for query in [
            format!("statementId={}&attachments=false", ids[0]),
            format!("statementId={}", ids[0]),
        ] {
            let response = server.get_statements(&query).await;
            assert_eq!(response.headers()["content-type"], "application/json");
        }
        // A query: the StatementResult first.
        let parts = multipart_response(server.get_statements("attachments=true").await).await;
        let result: Value = serde_json::from_slice(&parts[0].1).expect("json");
        assert_eq!(result["statements"].as_array().map(Vec::len), Some(1));
        assert_eq!(parts[1].1, content);
    }
}

#[tokio::test]
async fn put_takes_multipart_too_c_2_1_1_c_1_5_2() {
    for server in servers().await {
        let content = b"\x00\x01binary\r\n--not a boundary\xff";
        let statement = with_attachments(vec![attachment(content, "application/octet-stream")]);
        let id = uuid();
        let response = send_multipart(
            &server,
            Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
            &format!("multipart/mixed; boundary=\"{BOUNDARY}\""),
            multipart(&statement, &[part(content)]),
        )
        .await;
        expect_status(response, 204).await;
        let parts = multipart_response(
            server
                .get_statements(&format!("statementId={id}&attachments=true"))
                .await,
        )
        .await;
        assert_eq!(parts[1].1, content);
    }
}

#[tokio::test]
async fn accepts_the_spec_example_quoted_boundary_and_compact_headers_c_1_5_2() {
    let server = TestServer::start().await;
    let content = b"here is a simple attachment";
    let boundary = "abcABC0123'()+_,-./:=?";
    let statement = with_attachments(vec![attachment(content, "text/plain; charset=ascii")]);
    let body = format!(
        "\r\n--{boundary}\r\nContent-Type:application/json\r\n\r\n{statement}\r\n--{boundary}\r\n\
         Content-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\n\
         X-Experience-API-Hash:{}\r\n\r\nhere is a simple attachment\r\n--{boundary}--",
        sha256(content)
    );
    let response = send_multipart(
        &server,
        Method::POST,
        "/xapi/statements",
        &format!("multipart/mixed; boundary=\"{boundary}\""),
        body.into_bytes(),
    )
    .await;
    expect_status(response, 200).await;
}

#[tokio::test]
async fn accepts_bare_lf_line_ends_and_a_missing_transfer_encoding_c_1_5_2() {
    let server = TestServer::start().await;
    let content = b"here is a simple attachment";
    let statement = with_attachments(vec![attachment(content, "text/plain")]);
    let body = format!(
        "--{BOUNDARY}\nContent-Type: application/json\n\n{statement}\n--{BOUNDARY}\n\
         X-Experience-API-Hash: {}\n\nhere is a simple attachment\n--{BOUNDARY}--\n",
        sha256(content)
    );
    expect_status(post(&server, body.into_bytes()).await, 200).await;
}

#[tokio::test]
async fn accepts_multipart_without_attachments_or_with_file_url_only_c_1_5_2() {
    for server in servers().await {
        expect_status(post(&server, multipart(&statement(), &[])).await, 200).await;
        let mut linked = attachment(b"elsewhere", "text/plain");
        linked["fileUrl"] = json!("https://files.plant.example/cert.pdf");
        let batch = json!([with_attachments(vec![linked]), statement()]);
        expect_status(post(&server, multipart(&batch, &[])).await, 200).await;
    }
}

#[tokio::test]
async fn accepts_json_whose_attachments_all_have_file_url_c_1_5_1() {
    for server in servers().await {
        let mut linked = attachment(b"elsewhere", "text/plain");
        linked["fileUrl"] = json!("https://files.plant.example/cert.pdf");
        server.store(&with_attachments(vec![linked])).await;
        // attachments=true with no stored data: the JSON part alone.
        let parts = multipart_response(server.get_statements("attachments=true").await).await;
        assert_eq!(parts.len(), 1);
    }
}

#[tokio::test]
async fn rejects_json_attachment_without_file_url_c_1_5_1() {
    for server in servers().await {
        let response = server
            .post_statements(&with_attachments(vec![attachment(b"x", "text/plain")]))
            .await;
        let text = expect_status(response, 400).await;
        assert!(text.contains("attachments[0]"), "{text}");
        assert!(server.query("").await.is_empty());
    }
}

#[tokio::test]
async fn rejects_attachment_with_no_file_url_and_no_part_c_1_5_2() {
    for server in servers().await {
        let (a, b) = (&b"first"[..], &b"second"[..]);
        let statement = with_attachments(vec![
            attachment(a, "text/plain"),
            attachment(b, "text/plain"),
        ]);
        let text = expect_status(post(&server, multipart(&statement, &[part(a)])).await, 400).await;
        assert!(text.contains("attachments[1]"), "{text}");
        assert!(server.query("").await.is_empty(), "nothing stored");
    }
}

#[tokio::test]
async fn rejects_part_matching_no_attachment_c_1_5_2() {
    for server in servers().await {
        let content = b"declared";
        let declared = with_attachments(vec![attachment(content, "text/plain")]);
        let body = multipart(&declared, &[part(content), part(b"extra part")]);
        let text = expect_status(post(&server, body).await, 400).await;
        assert!(text.contains(&sha256(b"extra part")), "{text}");
        // Without any attachment object at all.
        let body = multipart(&statement(), &[part(b"extra part")]);
        expect_status(post(&server, body).await, 400).await;
        assert!(server.query("").await.is_empty());
    }
}

#[tokio::test]
async fn rejects_part_whose_bytes_do_not_hash_to_its_header_c_1_5_2() {
    for server in servers().await {
        let content = b"declared";
        let statement = with_attachments(vec![attachment(content, "text/plain")]);
        let mut lying = part(b"other bytes");
        lying.headers[2] = format!("X-Experience-API-Hash: {}", sha256(content));
        let text = expect_status(post(&server, multipart(&statement, &[lying])).await, 400).await;
        assert!(text.contains("does not hash"), "{text}");
    }
}

#[tokio::test]
async fn rejects_malformed_attachment_parts_c_1_5_2() {
    for server in servers().await {
        let content = b"declared";
        let statement = with_attachments(vec![attachment(content, "text/plain")]);
        // No X-Experience-API-Hash.
        let mut unnamed = part(content);
        unnamed.headers.remove(2);
        expect_status(post(&server, multipart(&statement, &[unnamed])).await, 400).await;
        // Another transfer encoding than binary.
        let mut encoded = part(content);
        encoded.headers[1] = "Content-Transfer-Encoding: base64".into();
        expect_status(post(&server, multipart(&statement, &[encoded])).await, 400).await;
        // A hash that is no SHA-2 digest.
        let mut odd = part(content);
        odd.headers[2] = "X-Experience-API-Hash: 1234".into();
        expect_status(post(&server, multipart(&statement, &[odd])).await, 400).await;
        // Statements split over two JSON parts.
        let json_part = Part {
            headers: vec!["Content-Type: application/json".into()],
            content: b"{}",
        };
        expect_status(
            post(&server, multipart(&statement, &[part(content), json_part])).await,
            400,
        )
        .await;
        // A truncated body (no close delimiter).
        let mut body = multipart(&statement, &[part(content)]);
        body.truncate(body.len() - 10);
        expect_status(post(&server, body).await, 400).await;
        assert!(server.query("").await.is_empty());
    }
}

#[tokio::test]
async fn rejects_bad_multipart_framing_c_1_5_2() {
    let server = TestServer::start().await;
    let content = b"declared";
    let statement = with_attachments(vec![attachment(content, "text/plain")]);
    let body = || multipart(&statement, &[part(content)]);
    for content_type in [
        "multipart/mixed;".to_string(),
        "multipart/mixed; boundary=someotherboundary".to_string(),
        format!("multipart/form-data; boundary={BOUNDARY}"),
        format!("multipart/related; boundary={BOUNDARY}"),
    ] {
        let response = send_multipart(
            &server,
            Method::POST,
            "/xapi/statements",
            &content_type,
            body(),
        )
        .await;
        expect_status(response, 400).await;
    }
    // The first part is not the JSON statements.
    let mut text_first =
        format!("--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\n{statement}\r\n--{BOUNDARY}--")
            .into_bytes();
    expect_status(post(&server, text_first.clone()).await, 400).await;
    text_first.clear();
    expect_status(post(&server, text_first).await, 400).await;
}

#[tokio::test]
async fn keeps_one_copy_of_data_shared_by_statements_c_1_5_2() {
    for server in servers().await {
        let content = b"one certificate for two statements";
        let batch = json!([
            with_attachments(vec![attachment(content, "text/plain")]),
            with_attachments(vec![attachment(content, "text/plain")])
        ]);
        let body = multipart(&batch, &[part(content)]);
        expect_status(post(&server, body).await, 200).await;
        // Sent twice is accepted too: it is the same data.
        let body = multipart(&batch, &[part(content), part(content)]);
        expect_status(post(&server, body).await, 200).await;
        let parts = multipart_response(server.get_statements("attachments=true").await).await;
        assert_eq!(parts.len(), 2, "the JSON and the attachment once");
        let result: Value = serde_json::from_slice(&parts[0].1).expect("json");
        assert_eq!(result["statements"].as_array().map(Vec::len), Some(4));
    }
}

#[tokio::test]
async fn matches_parts_to_sub_statement_attachments_d_2_4_11() {
    for server in servers().await {
        let content = b"the plan";
        let mut sub = statement();
        sub["objectType"] = json!("SubStatement");
        sub["attachments"] = json!([attachment(content, "text/plain")]);
        let mut outer = statement();
        outer["object"] = sub;
        expect_status(
            post(&server, multipart(&outer, &[part(content)])).await,
            200,
        )
        .await;
        let parts = multipart_response(server.get_statements("attachments=true").await).await;
        assert_eq!(parts[1].1, content);
        let text = expect_status(post(&server, multipart(&outer, &[])).await, 400).await;
        assert!(text.contains("object.attachments[0]"), "{text}");
    }
}

#[tokio::test]
async fn refuses_a_multipart_body_over_the_size_limit_with_413_c_3_2() {
    let config = server::Config {
        max_body_bytes: 4096,
        ..Default::default()
    };
    let server = TestServer::start_with(config).await;
    let content = vec![b'x'; 8192];
    let statement = with_attachments(vec![attachment(&content, "text/plain")]);
    expect_status(
        post(&server, multipart(&statement, &[part(&content)])).await,
        413,
    )
    .await;
}

// ---- signed statements (Data 2.6) ----

struct Signer {
    key: Vec<u8>,
    certificate: Vec<u8>,
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa key");
        let key = key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec();
        let pair = key_pair(&key);
        let certificate = CertificateParams::new(vec!["lms.plant.example".into()])
            .expect("params")
            .self_signed(&pair)
            .expect("certificate")
            .der()
            .to_vec();
        Signer { key, certificate }
    })
}

fn key_pair(der: &[u8]) -> KeyPair {
    KeyPair::from_pkcs8_der_and_sign_algo(&der.to_vec().into(), &PKCS_RSA_SHA256).expect("key")
}

/// A JWS Compact Serialization of `payload` under `header`, signed RS256 with the test key.
fn jws(header: &Value, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key_pair(&signer().key)
        .sign(input.as_bytes())
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn x5c_header() -> Value {
    json!({"alg": "RS256", "x5c": [STANDARD.encode(&signer().certificate)]})
}

/// The statement with its signature attachment, and the multipart body that carries both.
fn signed(statement: &Value, jws: &str, content_type: &str) -> Vec<u8> {
    let mut sent = statement.clone();
    sent["attachments"] = json!([{
        "usageType": SIGNATURE,
        "display": {"en-US": "Signed by the LMS"},
        "contentType": content_type,
        "length": jws.len(),
        "sha2": sha256(jws.as_bytes())
    }]);
    let mut signature = part(jws.as_bytes());
    signature.headers[0] = format!("Content-Type: {content_type}");
    multipart(&sent, &[signature])
}

fn signable() -> Value {
    let mut s = statement();
    s["id"] = json!(uuid());
    s
}

#[tokio::test]
async fn accepts_a_signed_statement_and_keeps_the_jws_d_2_6() {
    for server in servers().await {
        let s = signable();
        let token = jws(&x5c_header(), s.to_string().as_bytes());
        expect_status(
            post(&server, signed(&s, &token, "application/octet-stream")).await,
            200,
        )
        .await;
        let query = format!(
            "statementId={}&attachments=true",
            s["id"].as_str().unwrap_or_default()
        );
        let parts = multipart_response(server.get_statements(&query).await).await;
        assert_eq!(
            parts[1].1,
            token.as_bytes(),
            "the JWS is kept for later verification"
        );
    }
}

#[tokio::test]
async fn accepts_a_signed_statement_as_the_adl_suite_sends_it_d_2_6() {
    // No x5c (the suite signs with a bare key), a leading CRLF, no CRLF after the close delimiter.
    for server in servers().await {
        let s = signable();
        let token = jws(&json!({"alg": "RS256"}), s.to_string().as_bytes());
        let mut sent = s.clone();
        sent["attachments"] = json!([{
            "usageType": SIGNATURE,
            "display": {"en-US": "Signed by the Test Suite"},
            "description": {"en-US": "Signed by the Test Suite"},
            "contentType": "application/octet-stream",
            "length": token.len(),
            "sha2": sha256(token.as_bytes())
        }]);
        let boundary = "-------------1234567";
        let body = format!(
            "\r\n--{boundary}\r\nContent-Type:application/json\r\n\r\n{sent}\r\n--{boundary}\r\n\
             Content-Type:application/octet-stream\r\nContent-Transfer-Encoding:binary\r\n\
             X-Experience-API-Hash:{}\r\n\r\n{token}\r\n--{boundary}--",
            sha256(token.as_bytes())
        );
        let response = send_multipart(
            &server,
            Method::POST,
            "/xapi/statements",
            &format!("multipart/mixed; boundary={boundary}"),
            body.into_bytes(),
        )
        .await;
        expect_status(response, 200).await;
    }
}

#[tokio::test]
async fn rejects_a_signature_whose_payload_or_statement_changed_d_2_6() {
    for server in servers().await {
        let s = signable();
        let token = jws(&x5c_header(), s.to_string().as_bytes());
        // One byte of the payload changed: the signature no longer verifies.
        let sections: Vec<&str> = token.split('.').collect();
        let mut payload = s.to_string().into_bytes();
        let at = payload.len() - 3;
        payload[at] = b'Z';
        let forged = format!(
            "{}.{}.{}",
            sections[0],
            URL_SAFE_NO_PAD.encode(&payload),
            sections[2]
        );
        let text = expect_status(
            post(&server, signed(&s, &forged, "application/octet-stream")).await,
            400,
        )
        .await;
        assert!(text.contains("attachments[0]"), "{text}");
        // One byte of the statement changed: it is no longer the signed statement.
        let mut changed = s.clone();
        changed["actor"]["mbox"] = json!("mailto:bob@plant.example");
        let text = expect_status(
            post(
                &server,
                signed(&changed, &token, "application/octet-stream"),
            )
            .await,
            400,
        )
        .await;
        assert!(text.contains("payload"), "{text}");
        assert!(server.query("").await.is_empty());
    }
}

#[tokio::test]
async fn signed_durations_compare_to_the_hundredth_and_a_malformed_one_is_a_400_d_2_6_d_4_6() {
    for server in servers().await {
        let mut s = signable();
        s["result"] = json!({"duration": "PT1.001S"});
        let token = jws(&x5c_header(), s.to_string().as_bytes());
        let mut sent = s.clone();
        sent["result"] = json!({"duration": "PT1S"});
        expect_status(
            post(&server, signed(&sent, &token, "application/octet-stream")).await,
            200,
        )
        .await;
        // The payload is compared before it is validated: a duration that is no duration (here
        // with a multi-byte character in its fraction) is a mismatch, never a panic.
        for duration in ["PT1.€S", "PT1.1€S"] {
            let mut payload = signable();
            payload["result"] = json!({"duration": duration});
            let token = jws(&x5c_header(), payload.to_string().as_bytes());
            let mut sent = payload.clone();
            sent["result"] = json!({"duration": "PT1S"});
            let text = expect_status(
                post(&server, signed(&sent, &token, "application/octet-stream")).await,
                400,
            )
            .await;
            assert!(text.contains("payload"), "{text}");
        }
    }
}

#[tokio::test]
async fn rejects_a_signature_whose_certificate_changed_d_2_6() {
    for server in servers().await {
        let s = signable();
        let mut certificate = signer().certificate.clone();
        let at = certificate.len() / 3;
        certificate[at] ^= 0x01;
        let header = json!({"alg": "RS256", "x5c": [STANDARD.encode(&certificate)]});
        let token = jws(&header, s.to_string().as_bytes());
        expect_status(
            post(&server, signed(&s, &token, "application/octet-stream")).await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn rejects_signature_algorithms_other_than_rs_d_2_6() {
    for server in servers().await {
        let s = signable();
        let payload = URL_SAFE_NO_PAD.encode(s.to_string());
        for alg in ["HS256", "none"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
            let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
            let text = expect_status(
                post(&server, signed(&s, &token, "application/octet-stream")).await,
                400,
            )
            .await;
            assert!(text.contains(alg), "{text}");
        }
    }
}

#[tokio::test]
async fn rejects_malformed_signatures_d_2_6() {
    for server in servers().await {
        let s = signable();
        let good = jws(&x5c_header(), s.to_string().as_bytes());
        // The signature attachment must be application/octet-stream.
        expect_status(
            post(&server, signed(&s, &good, "text/plain; charset=ascii")).await,
            400,
        )
        .await;
        // A payload that is not JSON (the ADL suite's "bad JSON serialization").
        let broken = jws(
            &json!({"alg": "RS256"}),
            s.to_string().replacen('"', "'", 1).as_bytes(),
        );
        expect_status(
            post(&server, signed(&s, &broken, "application/octet-stream")).await,
            400,
        )
        .await;
        // Not a JWS at all.
        expect_status(
            post(
                &server,
                signed(&s, "not a signature", "application/octet-stream"),
            )
            .await,
            400,
        )
        .await;
    }
}

// ---- alternate request syntax (Communication 1.3) ----

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).expect("form")
}

fn basic() -> String {
    format!("Basic {}", STANDARD.encode(format!("{KEY}:{SECRET}")))
}

async fn alternate(server: &TestServer, path: &str, body: String) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn alternate_get_queries_statements_c_1_3() {
    let server = TestServer::start().await;
    server.store(&statement()).await;
    server.store(&statement()).await;
    let auth = basic();
    let body = form(&[
        ("Authorization", &auth),
        ("X-Experience-API-Version", "1.0.3"),
        ("limit", "1"),
    ]);
    let response = alternate(&server, "/xapi/statements?method=GET", body).await;
    let result: Value = serde_json::from_str(&expect_status(response, 200).await).expect("json");
    assert_eq!(result["statements"].as_array().map(Vec::len), Some(1));
    assert!(result["more"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn alternate_put_carries_headers_and_content_in_the_form_c_1_3() {
    let server = TestServer::start().await;
    let id = uuid();
    let auth = basic();
    let content = statement().to_string();
    // No Content-Type field: the content of a statement request is JSON.
    let body = form(&[
        ("statementId", &id),
        ("content", &content),
        ("X-Experience-API-Version", "1.0.3"),
        ("Authorization", &auth),
    ]);
    let response = alternate(&server, "/xapi/statements?method=PUT", body).await;
    assert_eq!(response.headers()["x-experience-api-version"], "1.0.3");
    expect_status(response, 204).await;
    assert_eq!(server.query("").await[0]["id"], id.as_str());

    // POST through the syntax stores, with its Content-Type in the form.
    let body = form(&[
        ("content", &content),
        ("Content-Type", "application/json"),
        ("Content-Length", "5"),
        ("X-Experience-API-Version", "1.0.3"),
        ("Authorization", &auth),
    ]);
    expect_status(
        alternate(&server, "/xapi/statements?method=POST", body).await,
        200,
    )
    .await;
    assert_eq!(server.query("").await.len(), 2);
}

#[tokio::test]
async fn alternate_syntax_reaches_every_resource_c_1_3() {
    let server = TestServer::start().await;
    let auth = basic();
    let agent = json!({"mbox": "mailto:ann@plant.example"}).to_string();
    let activity = "https://plant.example/sop/gowning/v3";
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Experience-API-Version", "1.0.3"),
    ];
    let with = |fields: &[(&str, &str)]| {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.extend_from_slice(fields);
        form(&all)
    };
    let state = [
        ("activityId", activity),
        ("agent", agent.as_str()),
        ("stateId", "bookmark"),
    ];
    let mut put = state.to_vec();
    put.extend([("content", "page 7"), ("Content-Type", "text/plain")]);
    expect_status(
        alternate(&server, "/xapi/activities/state?method=PUT", with(&put)).await,
        204,
    )
    .await;
    let response = alternate(&server, "/xapi/activities/state?method=GET", with(&state)).await;
    assert_eq!(expect_status(response, 200).await, "page 7");
    // If-Match travels in the form too.
    let mut guarded = put.clone();
    guarded.push(("If-Match", "\"not-the-etag\""));
    expect_status(
        alternate(&server, "/xapi/activities/state?method=PUT", with(&guarded)).await,
        412,
    )
    .await;
    expect_status(
        alternate(
            &server,
            "/xapi/activities/state?method=DELETE",
            with(&state),
        )
        .await,
        204,
    )
    .await;
    expect_status(
        alternate(&server, "/xapi/activities/state?method=GET", with(&state)).await,
        404,
    )
    .await;

    let profile = [
        ("activityId", activity),
        ("profileId", "p"),
        ("content", "{\"a\":1}"),
        ("Content-Type", "application/json"),
    ];
    expect_status(
        alternate(
            &server,
            "/xapi/activities/profile?method=POST",
            with(&profile),
        )
        .await,
        204,
    )
    .await;
    let profile = [
        ("agent", agent.as_str()),
        ("profileId", "p"),
        ("content", "{\"a\":1}"),
        ("Content-Type", "application/json"),
        ("If-None-Match", "*"),
    ];
    expect_status(
        alternate(&server, "/xapi/agents/profile?method=PUT", with(&profile)).await,
        204,
    )
    .await;
    expect_status(
        alternate(
            &server,
            "/xapi/agents?method=GET",
            with(&[("agent", agent.as_str())]),
        )
        .await,
        200,
    )
    .await;
    server.store(&statement()).await;
    expect_status(
        alternate(
            &server,
            "/xapi/activities?method=GET",
            with(&[("activityId", activity)]),
        )
        .await,
        200,
    )
    .await;
    expect_status(
        alternate(&server, "/xapi/about?method=GET", with(&[])).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn alternate_syntax_prefers_real_headers_over_form_fields_c_1_3() {
    // The ADL 1.0.3 suite sends a form version of 0.8 beside a real 1.0.3 header and expects 204.
    let server = TestServer::start().await;
    let id = uuid();
    let content = statement().to_string();
    let body = form(&[
        ("statementId", &id),
        ("X-Experience-API-Version", "0.8"),
        ("content", &content),
    ]);
    let response = server
        .request(Method::POST, "/xapi/statements?method=PUT")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("send");
    expect_status(response, 204).await;
}

#[tokio::test]
async fn alternate_syntax_rejects_other_url_parameters_c_1_3() {
    let server = TestServer::start().await;
    let id = uuid();
    let auth = basic();
    let content = statement().to_string();
    let body = form(&[
        ("content", &content),
        ("X-Experience-API-Version", "1.0.3"),
        ("Authorization", &auth),
    ]);
    let response = alternate(
        &server,
        &format!("/xapi/statements?method=PUT&statementId={id}"),
        body,
    )
    .await;
    let text = expect_status(response, 400).await;
    assert!(text.contains("statementId"), "{text}");
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn alternate_syntax_rejects_bad_methods_bodies_and_fields_c_1_3() {
    let server = TestServer::start().await;
    let auth = basic();
    let fields = |extra: &[(&str, &str)]| {
        let mut all = vec![
            ("Authorization", auth.as_str()),
            ("X-Experience-API-Version", "1.0.3"),
        ];
        all.extend_from_slice(extra);
        form(&all)
    };
    for method in ["HEAD", "PATCH", ""] {
        let response = alternate(
            &server,
            &format!("/xapi/statements?method={method}"),
            fields(&[]),
        )
        .await;
        expect_status(response, 400).await;
    }
    // A form field the resource does not know is an unknown parameter.
    expect_status(
        alternate(
            &server,
            "/xapi/statements?method=GET",
            fields(&[("happy", "day")]),
        )
        .await,
        400,
    )
    .await;
    // PUT without content.
    let id = uuid();
    expect_status(
        alternate(
            &server,
            "/xapi/statements?method=PUT",
            fields(&[("statementId", &id)]),
        )
        .await,
        400,
    )
    .await;
    // A body that is not a form.
    let response = server
        .request(Method::POST, "/xapi/statements?method=PUT")
        .header("Content-Type", "application/json")
        .body(statement().to_string())
        .send()
        .await
        .expect("send");
    expect_status(response, 400).await;
    // The syntax is a POST: a GET with ?method= is an unknown parameter.
    expect_status(server.get_statements("method=POST").await, 400).await;
}

#[tokio::test]
async fn alternate_syntax_is_refused_under_2_0_0() {
    let server = TestServer::start().await.with_version("2.0.0");
    server.store(&statement()).await;
    // Version in the real header.
    let response = server
        .request(Method::POST, "/xapi/statements?method=GET")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("limit", "1")]))
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["x-experience-api-version"], "2.0.0");
    expect_status(response, 400).await;
    // Version only in the form.
    let auth = basic();
    let body = form(&[
        ("Authorization", &auth),
        ("X-Experience-API-Version", "2.0.0"),
    ]);
    expect_status(
        alternate(&server, "/xapi/statements?method=GET", body).await,
        400,
    )
    .await;
    // A PUT with ?method= is no alternate request either.
    let response = server
        .request(Method::PUT, "/xapi/statements?method=POST")
        .json(&statement())
        .send()
        .await
        .expect("send");
    expect_status(response, 400).await;
}
