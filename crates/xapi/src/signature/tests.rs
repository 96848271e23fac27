//! Signed statements (Data 2.6) with a real RSA key and X.509 certificates made in the test.
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PKCS_RSA_SHA256, PKCS_RSA_SHA384,
    PKCS_RSA_SHA512, SigningKey,
};
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};

use super::*;

struct Keys {
    /// PKCS#8 DER of the signer's key and of a certificate authority's key.
    signer: Vec<u8>,
    ca: Vec<u8>,
}

/// RSA key generation is slow in a debug build: one pair of keys for the whole module.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generate = || {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa key");
            key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec()
        };
        Keys {
            signer: generate(),
            ca: generate(),
        }
    })
}

fn key_pair(der: &[u8], alg: &'static rcgen::SignatureAlgorithm) -> KeyPair {
    KeyPair::from_pkcs8_der_and_sign_algo(&der.to_vec().into(), alg).expect("key pair")
}

fn self_signed_certificate() -> Vec<u8> {
    let key = key_pair(&keys().signer, &PKCS_RSA_SHA256);
    let params = CertificateParams::new(vec!["signer.plant.example".into()]).expect("params");
    params
        .self_signed(&key)
        .expect("certificate")
        .der()
        .to_vec()
}

/// A leaf certificate for the signer's key issued by a CA, and the CA's certificate.
fn chain() -> (Vec<u8>, Vec<u8>) {
    let ca_key = key_pair(&keys().ca, &PKCS_RSA_SHA256);
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca").der().to_vec();
    let issuer = Issuer::new(ca_params, ca_key);
    let signer = key_pair(&keys().signer, &PKCS_RSA_SHA256);
    let leaf = CertificateParams::new(vec!["signer.plant.example".into()])
        .expect("params")
        .signed_by(&signer, &issuer)
        .expect("leaf")
        .der()
        .to_vec();
    (leaf, ca)
}

fn sign(header: &Value, payload: &[u8], alg: &'static rcgen::SignatureAlgorithm) -> String {
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let payload = URL_SAFE_NO_PAD.encode(payload);
    let input = format!("{header}.{payload}");
    let signature = key_pair(&keys().signer, alg)
        .sign(input.as_bytes())
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn statement() -> Value {
    json!({
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"mbox": "mailto:ann@plant.example", "name": "Ann"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"id": "https://plant.example/sop/gowning/v3"},
        "timestamp": "2024-05-01T10:00:00.000Z"
    })
}

/// The statement as it reaches the LRS: with the signature attachment added after signing.
fn received(jws: &str) -> Value {
    let mut s = statement();
    s["attachments"] = json!([{
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "signature"},
        "contentType": "application/octet-stream",
        "length": jws.len(),
        "sha2": "0".repeat(64)
    }]);
    s
}

fn x5c(certs: &[&[u8]]) -> Value {
    Value::Array(certs.iter().map(|c| json!(STANDARD.encode(c))).collect())
}

#[test]
fn accepts_rs256_rs384_rs512_with_x5c_d_2_6() {
    let cert = self_signed_certificate();
    for (name, alg) in [
        ("RS256", &PKCS_RSA_SHA256),
        ("RS384", &PKCS_RSA_SHA384),
        ("RS512", &PKCS_RSA_SHA512),
    ] {
        let header = json!({"alg": name, "x5c": x5c(&[&cert])});
        let jws = sign(&header, statement().to_string().as_bytes(), alg);
        let verified = verify(jws.as_bytes(), &received(&jws)).expect(name);
        assert!(verified.certified, "{name}");
    }
}

#[test]
fn accepts_a_well_formed_jws_without_x5c_uncertified_d_2_6() {
    let jws = sign(
        &json!({"alg": "RS256"}),
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    let verified = verify(jws.as_bytes(), &received(&jws)).expect("accepted");
    assert!(!verified.certified);
}

#[test]
fn accepts_a_payload_equal_by_the_comparison_rules_d_2_3_1() {
    // Another serialisation of the same statement: other key order, other timestamp form,
    // another Verb display.
    let payload = json!({
        "object": {"id": "https://plant.example/sop/gowning/v3", "definition": {"name": {"en": "x"}}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "actor": {"name": "Ann", "mbox": "mailto:ann@plant.example"},
        "timestamp": "2024-05-01T12:00:00+02:00"
    });
    let jws = sign(
        &json!({"alg": "RS256"}),
        payload.to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    verify(jws.as_bytes(), &received(&jws)).expect("same statement");
}

#[test]
fn accepts_a_chain_whose_links_verify_d_2_6() {
    let (leaf, ca) = chain();
    let header = json!({"alg": "RS256", "x5c": x5c(&[&leaf, &ca])});
    let jws = sign(
        &header,
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    assert!(
        verify(jws.as_bytes(), &received(&jws))
            .expect("chain")
            .certified
    );
}

#[test]
fn rejects_a_chain_with_a_link_that_does_not_verify_d_2_6() {
    let (leaf, _) = chain();
    // The leaf is not signed by this (self-signed, unrelated) certificate.
    let other = self_signed_certificate();
    let header = json!({"alg": "RS256", "x5c": x5c(&[&leaf, &other])});
    let jws = sign(
        &header,
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    assert!(matches!(
        verify(jws.as_bytes(), &received(&jws)),
        Err(SignatureError::Certificate(_))
    ));
}

#[test]
fn rejects_a_changed_payload_statement_or_certificate_d_2_6() {
    let cert = self_signed_certificate();
    let header = json!({"alg": "RS256", "x5c": x5c(&[&cert])});
    let jws = sign(
        &header,
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    let sections: Vec<&str> = jws.split('.').collect();

    // One byte of the payload changed (the signature no longer verifies).
    let mut payload = statement().to_string().into_bytes();
    let at = payload.len() - 3;
    payload[at] = b'X';
    let forged = format!(
        "{}.{}.{}",
        sections[0],
        URL_SAFE_NO_PAD.encode(&payload),
        sections[2]
    );
    assert!(verify(forged.as_bytes(), &received(&forged)).is_err());

    // One byte of the received statement changed.
    let mut other = received(&jws);
    other["actor"]["mbox"] = json!("mailto:bob@plant.example");
    assert!(matches!(
        verify(jws.as_bytes(), &other),
        Err(SignatureError::PayloadMismatch(_))
    ));

    // One byte of the certificate changed: its key or its encoding no longer fits.
    let mut bad = cert.clone();
    let at = bad.len() / 3;
    bad[at] ^= 0x01;
    let header = json!({"alg": "RS256", "x5c": x5c(&[&bad])});
    let jws = sign(
        &header,
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    assert!(verify(jws.as_bytes(), &received(&jws)).is_err());
}

#[test]
fn rejects_a_signature_made_with_another_key_than_the_certificate_d_2_6() {
    let ca_key = key_pair(&keys().ca, &PKCS_RSA_SHA256);
    let other = CertificateParams::new(vec!["other.example".into()])
        .expect("params")
        .self_signed(&ca_key)
        .expect("cert")
        .der()
        .to_vec();
    let header = json!({"alg": "RS256", "x5c": x5c(&[&other])});
    let jws = sign(
        &header,
        statement().to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    assert_eq!(
        verify(jws.as_bytes(), &received(&jws)),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn rejects_algorithms_other_than_rs256_rs384_rs512_d_2_6() {
    let payload = URL_SAFE_NO_PAD.encode(statement().to_string());
    for alg in ["HS256", "none", "ES256", "PS256", "rs256"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
        let jws = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode("sig"));
        assert!(
            matches!(
                verify(jws.as_bytes(), &received(&jws)),
                Err(SignatureError::Algorithm(_))
            ),
            "{alg}"
        );
    }
    // alg none with an empty signature, as RFC 7515 writes it.
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
    let jws = format!("{header}.{payload}.");
    assert!(verify(jws.as_bytes(), &received(&jws)).is_err());
}

#[test]
fn rejects_malformed_jws_d_2_6() {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(statement().to_string());
    let broken_json = URL_SAFE_NO_PAD.encode(statement().to_string().replacen('"', "'", 1));
    let sig = URL_SAFE_NO_PAD.encode([1u8; 256]);
    let cases = [
        String::new(),
        "not a jws".into(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{sig}.extra"),
        format!("{header}.{payload}.***"),
        format!("{header}.{broken_json}.{sig}"),
        format!("{}.{payload}.{sig}", URL_SAFE_NO_PAD.encode("[1]")),
        format!(
            "{}.{payload}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","crit":["b64"]}"#)
        ),
        format!(
            "{}.{payload}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","x5c":"MII"}"#)
        ),
        format!(
            "{}.{payload}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","x5c":["%%"]}"#)
        ),
        format!(
            "{}.{payload}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","x5c":["AAAA"]}"#)
        ),
        r#"{"payload":"e30","signatures":[]}"#.into(),
    ];
    for jws in cases {
        assert!(verify(jws.as_bytes(), &received(&jws)).is_err(), "{jws}");
    }
    assert!(verify(&[0xff, 0xfe], &statement()).is_err());
}

#[test]
fn rejects_a_payload_that_signs_another_statement_id_d_2_6() {
    let mut payload = statement();
    payload["id"] = json!("11111111-1111-4111-8111-111111111111");
    let jws = sign(
        &json!({"alg": "RS256"}),
        payload.to_string().as_bytes(),
        &PKCS_RSA_SHA256,
    );
    assert!(matches!(
        verify(jws.as_bytes(), &received(&jws)),
        Err(SignatureError::PayloadMismatch(_))
    ));
}

#[test]
fn signature_attachment_must_be_octet_stream_d_2_6() {
    let mut attachment = received("x")["attachments"][0].clone();
    assert!(is_signature(&attachment));
    assert!(check_attachment(&attachment).is_ok());
    attachment["contentType"] = json!("text/plain; charset=ascii");
    assert!(check_attachment(&attachment).is_err());
}
