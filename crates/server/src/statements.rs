//! The Statement resource (Communication 2.1): PUT, POST, GET (one statement, one voided
//! statement, or a query with `more` paging) and HEAD.
use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, LAST_MODIFIED};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use jiff::Timestamp;
use serde_json::{Value, json};
use store::{AttachmentContent, Scope, StatementQuery, Store, StoredStatement};
use uuid::Uuid;
use xapi::agent::Ifi;
use xapi::format::Format;
use xapi::statement::Accepted;
use xapi::{Version, index, rules};

use crate::Shared;
use crate::attachments;
use crate::auth::Authenticated;
use crate::compliance::derive::Deriver;
use crate::error::ApiError;
use crate::headers::{CONSISTENT_THROUGH, RejectedVersion, http_date, iso_time};
use crate::params::Params;

const GET_PARAMS: &[&str] = &[
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
];
/// The parameters that may go with statementId / voidedStatementId (Communication 2.1.3).
const SINGLE_PARAMS: &[&str] = &["statementId", "voidedStatementId", "format", "attachments"];
/// Where `more` links point; the token carries the query and the cursor.
const MORE_PATH: &str = "/xapi/statements/more/";
/// Any of these lets a credential read statements (`statements/read/mine` only its own).
const READ_SCOPES: &[Scope] = &[
    Scope::StatementsRead,
    Scope::StatementsReadMine,
    Scope::AllRead,
];

/// The authority this LRS writes for the request's credential, as an IFI.
fn mine<S>(state: &Shared<S>, auth: &Authenticated<S>) -> Ifi {
    auth.credential
        .authority_ifi(&state.config.authority_home_page)
}

/// True when the stored statement's authority is `who`.
fn stored_by(json: &str, who: &Ifi) -> bool {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|s| s.get("authority").and_then(Ifi::of))
        .is_some_and(|authority| authority == *who)
}

pub fn routes<S: Store>(state: Shared<S>) -> Router<Shared<S>> {
    Router::new()
        .route(
            "/statements",
            get(get_statements::<S>)
                .put(put_statement::<S>)
                .post(post_statements::<S>),
        )
        .route("/statements/more/{token}", get(get_more::<S>))
        .layer(middleware::from_fn_with_state(
            state,
            consistent_through::<S>,
        ))
}

/// Every Statement-resource response carries X-Experience-API-Consistent-Through (C 2.1.3),
/// taken before the request runs so it never claims more than the response saw. A request whose
/// version header was refused is answered here, so its 400 carries the header too.
async fn consistent_through<S: Store>(
    State(state): State<Shared<S>>,
    request: Request,
    next: Next,
) -> Response {
    let through = state.stores.consistent_through();
    let rejected = request.extensions().get::<RejectedVersion>().cloned();
    let mut response = match rejected {
        Some(RejectedVersion(message)) => ApiError::bad_request(message).into_response(),
        None => next.run(request).await,
    };
    response
        .headers_mut()
        .insert(CONSISTENT_THROUGH, iso_time(through));
    response
}

// ---- writes ----

async fn put_statement<S: Store>(
    State(state): State<Shared<S>>,
    Extension(version): Extension<Version>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::StatementsWrite], "store statements")?;
    let Authenticated { credential, store } = auth;
    let params = Params::parse(query.as_deref(), &["statementId"])?;
    let id = params
        .get("statementId")
        .ok_or_else(|| ApiError::bad_request("PUT needs the statementId parameter (C 2.1.1)"))?;
    let id = rules::parse_uuid(id)
        .ok_or_else(|| ApiError::invalid_parameter("statementId", "not a UUID"))?;
    let upload = attachments::read(&headers, &body)?;
    let mut statement = upload.statements;
    let Some(object) = statement.as_object_mut() else {
        return Err(ApiError::bad_request(
            "PUT takes one statement, a JSON object",
        ));
    };
    match object.get("id") {
        None => {
            object.insert("id".into(), json!(id.to_string()));
        }
        Some(Value::String(given)) if rules::parse_uuid(given) == Some(id) => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the statement's id differs from the statementId parameter",
            ));
        }
    }
    let authority = credential.authority(&state.config.authority_home_page);
    let accepted = xapi::statement::accept(statement, version, &authority)
        .map_err(ApiError::invalid_statement)?;
    let contents =
        attachments::check([&accepted.statement], upload.parts, upload.multipart, false)?;
    store_statements(&state, &credential, &store, vec![accepted], contents).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Stores accepted statements: the signature and GxP rules first, then the store, then the
/// derivation of the completions they touch.
async fn store_statements<S: Store>(
    state: &Shared<S>,
    credential: &store::Credential,
    store: &S,
    accepted: Vec<Accepted>,
    contents: Vec<store::AttachmentContent>,
) -> Result<Vec<Uuid>, ApiError> {
    crate::compliance::check_statements(
        state,
        &credential.store,
        store,
        &credential
            .authority_ifi(&state.config.authority_home_page)
            .key(),
        &accepted,
    )
    .await?;
    let touched = Deriver::touched(&accepted);
    let ids = store
        .insert_statements(credential.principal(), accepted, contents)
        .await?;
    state.deriver.stored(&credential.store, touched);
    Ok(ids)
}

async fn post_statements<S: Store>(
    State(state): State<Shared<S>>,
    Extension(version): Extension<Version>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::StatementsWrite], "store statements")?;
    let Authenticated { credential, store } = auth;
    Params::parse(query.as_deref(), &[])?;
    let upload = attachments::read(&headers, &body)?;
    let (statements, batch) = match upload.statements {
        Value::Array(list) => (list, true),
        single @ Value::Object(_) => (vec![single], false),
        _ => {
            return Err(ApiError::bad_request(
                "POST takes a statement or an array of statements",
            ));
        }
    };
    let authority = credential.authority(&state.config.authority_home_page);
    let mut accepted: Vec<Accepted> = Vec::with_capacity(statements.len());
    let mut seen = HashSet::with_capacity(statements.len());
    for (i, statement) in statements.into_iter().enumerate() {
        let one = xapi::statement::accept(statement, version, &authority).map_err(|mut e| {
            if batch {
                e.path = if e.path.is_empty() {
                    format!("[{i}]")
                } else {
                    format!("[{i}].{}", e.path)
                };
            }
            ApiError::invalid_statement(e)
        })?;
        // C 2.1.2 / 2.0 4.1.6.1: a batch that repeats an id is refused.
        if !seen.insert(one.id) {
            return Err(ApiError::bad_request(format!(
                "[{i}].id: statement id {} occurs more than once in this batch",
                one.id
            )));
        }
        accepted.push(one);
    }
    let contents = attachments::check(
        accepted.iter().map(|a| &a.statement),
        upload.parts,
        upload.multipart,
        batch,
    )?;
    let ids = store_statements(&state, &credential, &store, accepted, contents).await?;
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    Ok(axum::Json(ids).into_response())
}

// ---- reads ----

async fn get_statements<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(READ_SCOPES, "read statements")?;
    let params = Params::parse(query.as_deref(), GET_PARAMS)?;
    if params.has("statementId") || params.has("voidedStatementId") {
        return get_single(&state, &auth, &params, &headers).await;
    }
    run_query(
        &state,
        &auth,
        &params,
        query.as_deref().unwrap_or(""),
        None,
        &headers,
    )
    .await
}

async fn get_more<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(READ_SCOPES, "read statements")?;
    Params::parse(query.as_deref(), &[])?;
    let expired = || ApiError::bad_request("this 'more' link is not one this LRS issued");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| expired())?;
    let text = String::from_utf8(decoded).map_err(|_| expired())?;
    let (after, original) = text.split_once('|').ok_or_else(expired)?;
    let after: i64 = after.parse().map_err(|_| expired())?;
    let params = Params::parse(Some(original), GET_PARAMS)?;
    run_query(&state, &auth, &params, original, Some(after), &headers).await
}

async fn get_single<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    params: &Params,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(extra) = params.names().find(|n| !SINGLE_PARAMS.contains(n)) {
        return Err(ApiError::bad_request(format!(
            "parameter '{extra}' cannot be used with statementId or voidedStatementId (C 2.1.3)"
        )));
    }
    let (name, voided) = match (params.get("statementId"), params.get("voidedStatementId")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "statementId and voidedStatementId cannot be used together",
            ));
        }
        (Some(_), None) => ("statementId", false),
        _ => ("voidedStatementId", true),
    };
    let raw = params.get(name).unwrap_or_default();
    let id =
        rules::parse_uuid(raw).ok_or_else(|| ApiError::invalid_parameter(name, "not a UUID"))?;
    let format = format_param(params)?;
    let attachments = params.bool("attachments")?.unwrap_or(false);
    let found = auth.store.statement(id, voided).await?;
    // Under statements/read/mine, another credential's statement is as good as absent.
    let found = found.filter(|s| !auth.only_mine() || stored_by(&s.json, &mine(state, auth)));
    let Some(statement) = found else {
        let what = if voided {
            "no voided statement"
        } else {
            "no statement (or it is voided)"
        };
        return Err(ApiError::not_found(format!("{what} with id {id}")));
    };
    let body = render(
        &auth.store,
        std::slice::from_ref(&statement),
        format,
        headers,
    )
    .await?;
    let body = body.into_iter().next().unwrap_or_default();
    let parts = attachment_parts(&auth.store, &[&statement.json], attachments).await?;
    Ok(respond(body, Some(statement.stored), parts))
}

async fn run_query<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    params: &Params,
    original: &str,
    after: Option<i64>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let mut query = statement_query(params, state.config.max_page_size, after)?;
    if auth.only_mine() {
        query.terms.push(index::authority_term(&mine(state, auth)));
    }
    let format = format_param(params)?;
    let attachments = params.bool("attachments")?.unwrap_or(false);
    let page = auth.store.query(query).await?;
    let rendered = render(&auth.store, &page.statements, format, headers).await?;
    let more = match page.next {
        Some(cursor) => {
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("{cursor}|{original}"));
            format!("{MORE_PATH}{token}")
        }
        None => String::new(),
    };
    let mut body = String::with_capacity(rendered.iter().map(String::len).sum::<usize>() + 64);
    body.push_str("{\"statements\":[");
    for (i, statement) in rendered.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(statement);
    }
    body.push_str("],\"more\":");
    body.push_str(&Value::String(more).to_string());
    body.push('}');
    let last_modified = page.statements.iter().map(|s| s.stored).max();
    let texts: Vec<&str> = page.statements.iter().map(|s| s.json.as_str()).collect();
    let parts = attachment_parts(&auth.store, &texts, attachments).await?;
    Ok(respond(body, last_modified, parts))
}

fn statement_query(
    params: &Params,
    max_page: usize,
    after: Option<i64>,
) -> Result<StatementQuery, ApiError> {
    let related_agents = params.bool("related_agents")?.unwrap_or(false);
    let related_activities = params.bool("related_activities")?.unwrap_or(false);
    let mut terms = Vec::new();
    if let Some(agent) = params.get("agent") {
        let ifi = agent_param(agent)?;
        terms.push(index::agent_term(&ifi, related_agents));
    }
    if let Some(verb) = params.get("verb") {
        if !rules::is_iri(verb) {
            return Err(ApiError::invalid_parameter("verb", "not an absolute IRI"));
        }
        terms.push(index::verb_term(verb));
    }
    if let Some(activity) = params.get("activity") {
        if !rules::is_iri(activity) {
            return Err(ApiError::invalid_parameter(
                "activity",
                "not an absolute IRI",
            ));
        }
        terms.push(index::activity_term(activity, related_activities));
    }
    if let Some(registration) = params.get("registration") {
        let registration = rules::parse_uuid(registration)
            .ok_or_else(|| ApiError::invalid_parameter("registration", "not a UUID"))?;
        terms.push(index::registration_term(&registration));
    }
    let time = |name: &str| -> Result<Option<Timestamp>, ApiError> {
        params
            .get(name)
            .map(|t| {
                rules::parse_timestamp(t)
                    .ok_or_else(|| ApiError::invalid_parameter(name, "not an ISO 8601 timestamp"))
            })
            .transpose()
    };
    let limit = match params.get("limit") {
        None => max_page,
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) => max_page,
            Ok(n) => n.min(max_page),
            Err(_) => {
                return Err(ApiError::invalid_parameter(
                    "limit",
                    "not a non-negative integer",
                ));
            }
        },
    };
    Ok(StatementQuery {
        terms,
        since: time("since")?,
        until: time("until")?,
        limit,
        ascending: params.bool("ascending")?.unwrap_or(false),
        after,
    })
}

/// The `agent` parameter: an Agent or identified Group as JSON, matched by its IFI.
fn agent_param(raw: &str) -> Result<Ifi, ApiError> {
    let value = xapi::json::parse_strict_str(raw)
        .map_err(|e| ApiError::invalid_parameter("agent", format!("not valid JSON: {e}")))?;
    // Parameters are validated like the same values in a statement (Data 2.2); the version of
    // the rules does not matter for an Agent.
    xapi::validate_agent(&value, Version::V2_0_0)
        .map_err(|e| ApiError::invalid_parameter("agent", e))?;
    Ifi::of(&value).ok_or_else(|| {
        ApiError::invalid_parameter(
            "agent",
            "an anonymous Group cannot be queried: give an Agent or identified Group",
        )
    })
}

fn format_param(params: &Params) -> Result<Format, ApiError> {
    match params.get("format") {
        None => Ok(Format::Exact),
        Some(raw) => Format::parse(raw).ok_or_else(|| {
            ApiError::invalid_parameter("format", format!("'{raw}' is not ids, exact or canonical"))
        }),
    }
}

/// The statements as JSON text in the requested format. `exact` is the stored text as is.
async fn render<S: Store>(
    store: &S,
    statements: &[StoredStatement],
    format: Format,
    headers: &HeaderMap,
) -> Result<Vec<String>, ApiError> {
    if format == Format::Exact {
        return Ok(statements.iter().map(|s| s.json.clone()).collect());
    }
    let parsed: Vec<Value> = statements
        .iter()
        .map(|s| serde_json::from_str(&s.json).map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    if format == Format::Ids {
        return Ok(parsed
            .iter()
            .map(|s| xapi::format::ids(s).to_string())
            .collect());
    }
    let mut ids: Vec<String> = parsed.iter().flat_map(xapi::format::activity_ids).collect();
    ids.sort();
    ids.dedup();
    let definitions = store.activity_definitions(ids).await?;
    let mut verbs: Vec<String> = parsed.iter().flat_map(xapi::format::verb_ids).collect();
    verbs.sort();
    verbs.dedup();
    let displays = store.verb_displays(verbs).await?;
    let languages = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(xapi::format::accept_language)
        .unwrap_or_default();
    let parts = xapi::format::CanonicalParts {
        definition_of: &|id| definitions.get(id).cloned(),
        display_of: &|id| displays.get(id).cloned(),
    };
    Ok(parsed
        .iter()
        .map(|s| xapi::format::canonical(s, &parts, &languages).to_string())
        .collect())
}

/// With `attachments=true`, the stored data of the statements' attachments, each once (in the
/// order the statements name them); `None` when the response is plain JSON.
async fn attachment_parts<S: Store>(
    store: &S,
    statements: &[&str],
    wanted: bool,
) -> Result<Option<Vec<AttachmentContent>>, ApiError> {
    if !wanted {
        return Ok(None);
    }
    let sha2 = attachments::referenced(statements)?;
    if sha2.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut found: HashMap<String, AttachmentContent> = store
        .attachments(sha2.clone())
        .await?
        .into_iter()
        .map(|a| (a.sha2.clone(), a))
        .collect();
    // Attachments given by fileUrl only have no data here: they are left out.
    Ok(Some(sha2.iter().filter_map(|h| found.remove(h)).collect()))
}

/// A JSON body, or with `attachments=true` the multipart/mixed form whose first part is that JSON
/// and whose other parts are the attachments' data (Communication 1.5.2, 2.1.3).
fn respond(
    json: String,
    last_modified: Option<Timestamp>,
    attachments: Option<Vec<AttachmentContent>>,
) -> Response {
    let mut response = match attachments {
        Some(parts) => {
            let (boundary, body) = attachments::multipart_body(&json, &parts);
            let mut response = body.into_response();
            if let Ok(value) =
                HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}"))
            {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            response
        }
        None => {
            let mut response = json.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    };
    if let Some(at) = last_modified {
        response.headers_mut().insert(LAST_MODIFIED, http_date(at));
    }
    response
}
