//! Agents and Groups (Data 2.4.2; 2.0 section 4.2.2.1) wherever they occur: actor, authority,
//! an Agent or Group as the object, context instructor and team, context agents and groups.
use serde_json::Value;

use super::value::{Members, Result, array, iri, item, one_of, quoted, string};
use crate::{ValidationError, rules};

/// The Inverse Functional Identifiers (Data 2.4.2.3).
const IFIS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];
const AGENT_PROPERTIES: [&str; 6] = [
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];
const GROUP_PROPERTIES: [&str; 7] = [
    "objectType",
    "name",
    "member",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];

/// An Agent or a Group (Data 2.4.2). Without an `objectType` it is an Agent.
pub(super) fn actor(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Agent or Group")?;
    match members.optional("objectType", |v, p| one_of(v, p, &["Agent", "Group"]))? {
        Some("Group") => group(&members).map(|_| ()),
        _ => agent(&members),
    }
}

/// An Agent and never a Group: a Group's member (Data 2.4.2.2) or a contextAgent's `agent`
/// (2.0 section 4.2.2.5).
pub(super) fn agent_only(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Agent")?;
    if let Some(object_type) = members.get("objectType") {
        let at = members.at("objectType");
        if string(object_type, &at)? == "Group" {
            return Err(ValidationError::new(
                at,
                "must be \"Agent\": a Group cannot stand here, only an Agent (Data 2.4.2.2: a Group's members are Agents)",
            ));
        }
        one_of(object_type, &at, &["Agent"])?;
    }
    agent(&members)
}

/// A Group, which must say so with `objectType` (Data 2.4.2.2): the context `team`
/// (Data 2.4.6) and a contextGroup's `group` (2.0 section 4.2.2.5).
pub(super) fn group_only(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "a Group")?;
    members.required("objectType", |v, p| one_of(v, p, &["Group"]))?;
    group(&members).map(|_| ())
}

/// The `authority` (Data 2.4.9): an Agent, or, for 3-legged OAuth, an anonymous Group of exactly
/// two Agents (the application and the user).
pub(super) fn authority(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Agent or Group")?;
    if members.optional("objectType", |v, p| one_of(v, p, &["Agent", "Group"]))? != Some("Group") {
        return agent(&members);
    }
    if let Some(ifi) = IFIS.iter().find(|ifi| members.has(ifi)) {
        return Err(ValidationError::new(
            members.at(ifi),
            "is not allowed: a Group as authority must be anonymous, the pair of an OAuth application and a user (Data 2.4.9)",
        ));
    }
    let count = group(&members)?;
    if count != 2 {
        return Err(ValidationError::new(
            members.at("member"),
            format!(
                "must list exactly two Agents for a Group as authority (Data 2.4.9); found {count}"
            ),
        ));
    }
    Ok(())
}

/// An Agent: exactly one IFI (Data 2.4.2.1).
fn agent(members: &Members) -> Result {
    members.allow(&AGENT_PROPERTIES)?;
    members.optional("name", string)?;
    match present_ifis(members).as_slice() {
        [ifi] => check_ifi(members, ifi),
        found => Err(ValidationError::new(
            members.path(),
            format!(
                "must be an Agent with exactly one of mbox, mbox_sha1sum, openid, account; found {}",
                counted(found)
            ),
        )),
    }
}

/// A Group: identified by one IFI, or anonymous with a non-empty `member` list (Data 2.4.2.2).
/// Returns how many members it lists.
fn group(members: &Members) -> Result<usize> {
    members.allow(&GROUP_PROPERTIES)?;
    members.optional("name", string)?;
    let anonymous = match present_ifis(members).as_slice() {
        [] => true,
        [ifi] => {
            check_ifi(members, ifi)?;
            false
        }
        found => {
            return Err(ValidationError::new(
                members.path(),
                format!(
                    "must be a Group with at most one of mbox, mbox_sha1sum, openid, account; found {}",
                    counted(found)
                ),
            ));
        }
    };
    if anonymous && !members.has("member") {
        return Err(ValidationError::new(
            members.at("member"),
            "is missing: a Group without mbox, mbox_sha1sum, openid or account is anonymous and must list its members (Data 2.4.2.2)",
        ));
    }
    Ok(members
        .optional("member", |v, p| member_list(v, p, anonymous))?
        .unwrap_or(0))
}

/// A Group's `member` list: Agents only, and at least one for an anonymous Group.
fn member_list(value: &Value, path: &str, anonymous: bool) -> Result<usize> {
    let list = array(value, path)?;
    if anonymous && list.is_empty() {
        return Err(ValidationError::new(
            path,
            "is empty: an anonymous Group is known only by its members and must list at least one (Data 2.4.2.2)",
        ));
    }
    for (index, member) in list.iter().enumerate() {
        agent_only(member, &item(path, index))?;
    }
    Ok(list.len())
}

fn present_ifis(members: &Members) -> Vec<&'static str> {
    IFIS.into_iter().filter(|ifi| members.has(ifi)).collect()
}

fn counted(found: &[&str]) -> String {
    match found {
        [] => "none".to_string(),
        _ => format!("{} ({})", found.len(), found.join(", ")),
    }
}

/// The value of the one IFI present (Data 2.4.2.3).
fn check_ifi(members: &Members, ifi: &str) -> Result {
    match ifi {
        "mbox" => members.required("mbox", |value, path| {
            let text = string(value, path)?;
            require(rules::is_mailto_iri(text), path, || {
                format!(
                    "{} is not a mailto IRI (\"mailto:\" and one e-mail address)",
                    quoted(text)
                )
            })
        }),
        "mbox_sha1sum" => members.required("mbox_sha1sum", |value, path| {
            let text = string(value, path)?;
            require(rules::is_sha1_hex(text), path, || {
                format!("{} is not a hex SHA-1 sum (40 hex digits)", quoted(text))
            })
        }),
        "openid" => members.required("openid", |value, path| {
            let text = string(value, path)?;
            require(rules::is_uri(text), path, || {
                format!("{} is not an absolute URI", quoted(text))
            })
        }),
        _ => members.required("account", account),
    }
}

/// An Account (Data 2.4.2.4): `homePage` IRL and `name`, both required.
fn account(value: &Value, path: &str) -> Result {
    let members = Members::of(value, path, "an Account")?;
    members.allow(&["homePage", "name"])?;
    members.required("homePage", iri)?;
    members.required("name", account_name)?;
    Ok(())
}

/// An account name identifies the Agent (an IFI): it may hold any text but the character U+0000,
/// which no database's text type keeps (PostgreSQL refuses it) and no system uses in a name.
fn account_name(value: &Value, path: &str) -> Result {
    let name = string(value, path)?;
    require(!name.contains('\0'), path, || {
        "an account name must not contain the character U+0000".to_string()
    })
}

fn require(ok: bool, path: &str, message: impl FnOnce() -> String) -> Result {
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(path, message()))
    }
}
