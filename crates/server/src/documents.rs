//! The document resources (Communication 2.2–2.7): State (`/activities/state`), Activity Profile
//! (`/activities/profile`) and Agent Profile (`/agents/profile`), with the concurrency rules of
//! Communication 3.1; and the Agents (`/agents`) and Activities (`/activities`) resources.
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LAST_MODIFIED};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use store::{
    DocumentKey, DocumentKind, DocumentScope, DocumentWrite, Preconditions, Scope, StatementQuery,
    Store, StoreError,
};
use xapi::agent::Ifi;
use xapi::{Version, index, rules};

use crate::Shared;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::headers::http_date;
use crate::params::Params;

/// The Agents and Activities resources describe what statements say: readable with any of these.
const DESCRIBE_SCOPES: &[Scope] = &[
    Scope::AllRead,
    Scope::StatementsRead,
    Scope::Define,
    Scope::Profile,
    Scope::State,
];

pub fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route(
            "/activities/state",
            get(get_document::<S, StateResource>)
                .put(put_document::<S, StateResource>)
                .post(post_document::<S, StateResource>)
                .delete(delete_document::<S, StateResource>),
        )
        .route(
            "/activities/profile",
            get(get_document::<S, ActivityProfileResource>)
                .put(put_document::<S, ActivityProfileResource>)
                .post(post_document::<S, ActivityProfileResource>)
                .delete(delete_document::<S, ActivityProfileResource>),
        )
        .route(
            "/agents/profile",
            get(get_document::<S, AgentProfileResource>)
                .put(put_document::<S, AgentProfileResource>)
                .post(post_document::<S, AgentProfileResource>)
                .delete(delete_document::<S, AgentProfileResource>),
        )
        .route("/agents", get(get_person::<S>))
        .route("/activities", get(get_activity::<S>))
}

/// What differs between the three document resources.
trait Resource: Send + Sync + 'static {
    const KIND: DocumentKind;
    /// The scope that grants this resource (Communication 4.2).
    const SCOPE: Scope;
    /// The parameter naming one document.
    const ID: &'static str;
    /// Every parameter the resource knows.
    const PARAMS: &'static [&'static str];
    /// Whether a PUT over an existing document without If-Match / If-None-Match is a 409. The
    /// profile resources always need a header; 1.0.3 exempts State (Communication 3.1, "The
    /// State Resource will permit PUT, POST and DELETE requests without concurrency headers"),
    /// 2.0 does not (IEEE 9274.1.1 4.1.4 names State among the resources the 409 rule covers).
    fn put_needs_precondition(version: Version) -> bool;
    /// DELETE without the document id deletes the whole scope (State only).
    const DELETE_ALL: bool;

    fn scope(params: &Params) -> Result<DocumentScope, ApiError>;
}

struct StateResource;
struct ActivityProfileResource;
struct AgentProfileResource;

impl Resource for StateResource {
    const KIND: DocumentKind = DocumentKind::State;
    const SCOPE: Scope = Scope::State;
    const ID: &'static str = "stateId";
    const PARAMS: &'static [&'static str] =
        &["activityId", "agent", "registration", "stateId", "since"];
    const DELETE_ALL: bool = true;

    fn put_needs_precondition(version: Version) -> bool {
        version == Version::V2_0_0
    }

    fn scope(params: &Params) -> Result<DocumentScope, ApiError> {
        let registration = params
            .get("registration")
            .map(|r| {
                rules::parse_uuid(r)
                    .ok_or_else(|| ApiError::invalid_parameter("registration", "not a UUID"))
            })
            .transpose()?;
        Ok(DocumentScope {
            kind: Self::KIND,
            activity: activity_param(params)?,
            agent: agent_param(params)?.key(),
            registration: registration.map(|r| r.to_string()),
        })
    }
}

impl Resource for ActivityProfileResource {
    const KIND: DocumentKind = DocumentKind::ActivityProfile;
    const SCOPE: Scope = Scope::Profile;
    const ID: &'static str = "profileId";
    const PARAMS: &'static [&'static str] = &["activityId", "profileId", "since"];
    const DELETE_ALL: bool = false;

    fn put_needs_precondition(_: Version) -> bool {
        true
    }

    fn scope(params: &Params) -> Result<DocumentScope, ApiError> {
        Ok(DocumentScope {
            kind: Self::KIND,
            activity: activity_param(params)?,
            agent: String::new(),
            registration: None,
        })
    }
}

impl Resource for AgentProfileResource {
    const KIND: DocumentKind = DocumentKind::AgentProfile;
    const SCOPE: Scope = Scope::Profile;
    const ID: &'static str = "profileId";
    const PARAMS: &'static [&'static str] = &["agent", "profileId", "since"];
    const DELETE_ALL: bool = false;

    fn put_needs_precondition(_: Version) -> bool {
        true
    }

    fn scope(params: &Params) -> Result<DocumentScope, ApiError> {
        Ok(DocumentScope {
            kind: Self::KIND,
            activity: String::new(),
            agent: agent_param(params)?.key(),
            registration: None,
        })
    }
}

fn activity_param(params: &Params) -> Result<String, ApiError> {
    let activity = params
        .get("activityId")
        .ok_or_else(|| ApiError::bad_request("the activityId parameter is required"))?;
    if !rules::is_iri(activity) {
        return Err(ApiError::invalid_parameter(
            "activityId",
            "not an absolute IRI",
        ));
    }
    Ok(activity.to_string())
}

/// The `agent` parameter: an Agent (JSON) with exactly one IFI.
fn agent_param(params: &Params) -> Result<Ifi, ApiError> {
    let raw = params
        .get("agent")
        .ok_or_else(|| ApiError::bad_request("the agent parameter is required"))?;
    parse_agent(raw)
}

fn parse_agent(raw: &str) -> Result<Ifi, ApiError> {
    let value = xapi::json::parse_strict_str(raw)
        .map_err(|e| ApiError::invalid_parameter("agent", format!("not valid JSON: {e}")))?;
    xapi::validate_agent(&value, Version::V2_0_0)
        .map_err(|e| ApiError::invalid_parameter("agent", e))?;
    if xapi::agent::is_group(&value) {
        return Err(ApiError::invalid_parameter(
            "agent",
            "must be an Agent, not a Group",
        ));
    }
    Ifi::of(&value).ok_or_else(|| {
        ApiError::invalid_parameter(
            "agent",
            "needs exactly one of mbox, mbox_sha1sum, openid, account",
        )
    })
}

fn since_param(params: &Params) -> Result<Option<Timestamp>, ApiError> {
    params
        .get("since")
        .map(|t| {
            rules::parse_timestamp(t)
                .ok_or_else(|| ApiError::invalid_parameter("since", "not an ISO 8601 timestamp"))
        })
        .transpose()
}

fn document_key<R: Resource>(params: &Params) -> Result<Option<DocumentKey>, ApiError> {
    let scope = R::scope(params)?;
    Ok(params.get(R::ID).map(|id| DocumentKey {
        scope,
        id: id.to_string(),
    }))
}

/// `If-Match` / `If-None-Match`: a list of quoted ETags, or `*`. If-Match compares strongly, so
/// a weak tag (`W/"…"`) there matches no document; If-None-Match compares weakly (RFC 2616
/// 14.24, 14.26, which Communication 3.1 follows).
fn preconditions(
    headers: &HeaderMap,
    required_to_overwrite: bool,
) -> Result<Preconditions, ApiError> {
    let list = |name| -> Result<Option<Vec<String>>, ApiError> {
        let strong = name == IF_MATCH;
        let mut values = Vec::new();
        for value in headers.get_all(&name) {
            let text = value
                .to_str()
                .map_err(|_| ApiError::bad_request(format!("the {name} header is not text")))?;
            for tag in text.split(',') {
                let tag = tag.trim();
                if strong && tag.starts_with("W/") {
                    // Kept, so that the header still counts as given, but as nothing an ETag
                    // (a quoted hex digest) can equal.
                    values.push(tag.to_string());
                    continue;
                }
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                let tag = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                if !tag.is_empty() {
                    values.push(tag.to_string());
                }
            }
        }
        Ok((!values.is_empty()).then_some(values))
    };
    Ok(Preconditions {
        if_match: list(IF_MATCH)?,
        if_none_match: list(IF_NONE_MATCH)?,
        required_to_overwrite,
    })
}

async fn get_document<S: Store, R: Resource>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[R::SCOPE, Scope::AllRead], "read these documents")?;
    let store = auth.store;
    let params = Params::parse(query.as_deref(), R::PARAMS)?;
    let since = since_param(&params)?;
    if let Some(key) = document_key::<R>(&params)? {
        if since.is_some() {
            return Err(ApiError::bad_request(format!(
                "{} and since cannot be used together",
                R::ID
            )));
        }
        let document = store.document(key).await?;
        let document = document.ok_or_else(|| ApiError::not_found("no such document"))?;
        let mut response = document.content.into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&document.content_type) {
            headers.insert(CONTENT_TYPE, value);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", document.etag)) {
            headers.insert(ETAG, value);
        }
        headers.insert(LAST_MODIFIED, http_date(document.updated));
        return Ok(response);
    }
    let ids = store.document_ids(R::scope(&params)?, since).await?;
    let last_modified = ids.iter().map(|(_, updated)| *updated).max();
    let mut response = Json(ids.into_iter().map(|(id, _)| id).collect::<Vec<_>>()).into_response();
    if let Some(at) = last_modified {
        response.headers_mut().insert(LAST_MODIFIED, http_date(at));
    }
    Ok(response)
}

async fn put_document<S: Store, R: Resource>(
    state: State<Shared<S>>,
    auth: Authenticated<S>,
    version: Extension<Version>,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write_document::<S, R>(state, auth, version, query, headers, body, false).await
}

async fn post_document<S: Store, R: Resource>(
    state: State<Shared<S>>,
    auth: Authenticated<S>,
    version: Extension<Version>,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write_document::<S, R>(state, auth, version, query, headers, body, true).await
}

async fn write_document<S: Store, R: Resource>(
    State(_): State<Shared<S>>,
    auth: Authenticated<S>,
    Extension(version): Extension<Version>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
    merge: bool,
) -> Result<Response, ApiError> {
    auth.require(&[R::SCOPE], "write these documents")?;
    let Authenticated { credential, store } = auth;
    let params = Params::parse(query.as_deref(), R::PARAMS)?;
    if params.has("since") {
        return Err(ApiError::bad_request("since is only for GET"));
    }
    let key = document_key::<R>(&params)?
        .ok_or_else(|| ApiError::bad_request(format!("the {} parameter is required", R::ID)))?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    if merge && xapi::document::is_json_type(&content_type) {
        // A JSON POST must be an object whether or not there is something to merge with.
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(_)) => {}
            _ => {
                return Err(ApiError::bad_request(
                    "a JSON document sent with POST must be a JSON object",
                ));
            }
        }
    }
    let preconditions = preconditions(&headers, R::put_needs_precondition(version) && !merge)?;
    // The 1.0.3 profile resources take a PUT only with a concurrency header, even to create a
    // document: the ADL suite expects 400 then (Communication 2.6.s3, 2.7, XAPI-00273); an
    // existing document still answers 409 below.
    let headerless = preconditions.if_match.is_none() && preconditions.if_none_match.is_none();
    if version == Version::V1_0_3
        && R::KIND != DocumentKind::State
        && !merge
        && headerless
        && store.document(key.clone()).await?.is_none()
    {
        return Err(ApiError::bad_request(
            "a PUT to a profile needs If-Match (to replace) or If-None-Match: * (to create) (Communication 2.6, 2.7)",
        ));
    }
    let write = DocumentWrite {
        key,
        content_type,
        content: body.to_vec(),
        merge,
        preconditions,
    };
    match store.write_document(credential.principal(), write).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(StoreError::PreconditionRequired) => Ok(precondition_required()),
        Err(error) => Err(error.into()),
    }
}

/// The 409 of a PUT over an existing document without If-Match / If-None-Match (Communication
/// 3.1), as plain text: the rule asks for an explanation, 0.95 asked for "a plain text body",
/// and the ADL 2.0 suite reads the body as a string (a JSON body would be parsed into an object
/// by its HTTP client and fail the check).
fn precondition_required() -> Response {
    (
        StatusCode::CONFLICT,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        StoreError::PreconditionRequired.to_string(),
    )
        .into_response()
}

async fn delete_document<S: Store, R: Resource>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(&[R::SCOPE], "delete these documents")?;
    let Authenticated { credential, store } = auth;
    let params = Params::parse(query.as_deref(), R::PARAMS)?;
    if params.has("since") {
        return Err(ApiError::bad_request("since is only for GET"));
    }
    let scope = R::scope(&params)?;
    let id = params.get(R::ID).map(str::to_string);
    if id.is_none() && !R::DELETE_ALL {
        return Err(ApiError::bad_request(format!(
            "the {} parameter is required",
            R::ID
        )));
    }
    store
        .delete_documents(
            credential.principal(),
            scope,
            id,
            preconditions(&headers, false)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How many of an agent's latest statements the Agents resource looks through for a name.
const PERSON_NAME_SCAN: usize = 25;

/// The Agents resource (Communication 2.4): the Person Attest knows for an Agent. Attest keeps no
/// mapping between identifiers, so the Person has the requested IFI and the latest name seen with
/// it. The newest statement may name the agent without a `name` (an instructor, a group member):
/// the name comes from the newest of the latest few statements that give one.
async fn get_person<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(DESCRIBE_SCOPES, "read agents")?;
    let params = Params::parse(query.as_deref(), &["agent"])?;
    let ifi = agent_param(&params)?;
    let page = auth
        .store
        .query(StatementQuery {
            terms: vec![index::agent_term(&ifi, true)],
            limit: PERSON_NAME_SCAN,
            ..StatementQuery::default()
        })
        .await?;
    let name = page
        .statements
        .iter()
        .find_map(|s| {
            serde_json::from_str::<Value>(&s.json)
                .ok()
                .and_then(|s| xapi::agent::name_in(&s, &ifi))
        })
        // Nothing stored names the agent: the Person still carries what the request said about
        // it (Communication 2.4, "only include the information associated with the requested
        // Agent").
        .or_else(|| requested_name(&params));
    let mut person = Map::new();
    person.insert("objectType".into(), json!("Person"));
    if let Some(name) = name {
        person.insert("name".into(), json!([name]));
    }
    for (key, value) in ifi.to_json() {
        person.insert(key, Value::Array(vec![value]));
    }
    Ok(Json(Value::Object(person)))
}

/// The `name` of the `agent` parameter, already validated by [`agent_param`].
fn requested_name(params: &Params) -> Option<String> {
    let value = xapi::json::parse_strict_str(params.get("agent")?).ok()?;
    value.get("name")?.as_str().map(str::to_string)
}

/// The Activities resource (Communication 2.5): the canonical Activity, or just its id when the
/// LRS has no definition (2.0 shall).
async fn get_activity<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(DESCRIBE_SCOPES, "read activities")?;
    let params = Params::parse(query.as_deref(), &["activityId"])?;
    let id = activity_param(&params)?;
    let mut definitions = auth.store.activity_definitions(vec![id.clone()]).await?;
    let mut activity = json!({"objectType": "Activity", "id": id});
    if let Some(definition) = definitions.remove(&id) {
        activity["definition"] = definition;
    }
    Ok(Json(activity))
}
