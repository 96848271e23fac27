//! Agents and Groups by their Inverse Functional Identifiers (Data 2.4.2.3).
use serde_json::{Map, Value, json};

/// An Inverse Functional Identifier: the one property that identifies an Agent or identified Group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ifi {
    Mbox(String),
    MboxSha1Sum(String),
    OpenId(String),
    Account { home_page: String, name: String },
}

impl Ifi {
    /// The IFI of an Agent or identified Group, or `None` for an anonymous Group (or anything that
    /// carries no IFI). Assumes the value was validated: only the first IFI found is read.
    pub fn of(agent: &Value) -> Option<Ifi> {
        let object = agent.as_object()?;
        if let Some(mbox) = object.get("mbox").and_then(Value::as_str) {
            return Some(Ifi::Mbox(mbox.to_string()));
        }
        if let Some(sum) = object.get("mbox_sha1sum").and_then(Value::as_str) {
            return Some(Ifi::MboxSha1Sum(sum.to_string()));
        }
        if let Some(openid) = object.get("openid").and_then(Value::as_str) {
            return Some(Ifi::OpenId(openid.to_string()));
        }
        let account = object.get("account")?.as_object()?;
        Some(Ifi::Account {
            home_page: account.get("homePage")?.as_str()?.to_string(),
            name: account.get("name")?.as_str()?.to_string(),
        })
    }

    /// A string that is equal for two IFIs exactly when they identify the same Agent: the domain
    /// of an e-mail address and the hex of a SHA-1 sum are case-insensitive (Data 2.3.1).
    pub fn key(&self) -> String {
        match self {
            Ifi::Mbox(mbox) => match mbox.rsplit_once('@') {
                Some((local, domain)) => format!("mbox:{local}@{}", domain.to_ascii_lowercase()),
                None => format!("mbox:{mbox}"),
            },
            Ifi::MboxSha1Sum(sum) => format!("mbox_sha1sum:{}", sum.to_ascii_lowercase()),
            Ifi::OpenId(openid) => format!("openid:{openid}"),
            // The homePage cannot contain a space-free separator ambiguity: a newline never occurs in an IRI.
            Ifi::Account { home_page, name } => format!("account:{home_page}\n{name}"),
        }
    }

    /// The IFI a [`Ifi::key`] was made from (the inverse of `key`, up to the case `key` folds).
    pub fn from_key(key: &str) -> Option<Ifi> {
        let (kind, value) = key.split_once(':')?;
        match kind {
            "mbox" => Some(Ifi::Mbox(value.to_string())),
            "mbox_sha1sum" => Some(Ifi::MboxSha1Sum(value.to_string())),
            "openid" => Some(Ifi::OpenId(value.to_string())),
            "account" => {
                let (home_page, name) = value.split_once('\n')?;
                Some(Ifi::Account {
                    home_page: home_page.to_string(),
                    name: name.to_string(),
                })
            }
            _ => None,
        }
    }

    /// The IFI as the JSON property (or properties) of an Agent object.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        match self {
            Ifi::Mbox(mbox) => map.insert("mbox".into(), json!(mbox)),
            Ifi::MboxSha1Sum(sum) => map.insert("mbox_sha1sum".into(), json!(sum)),
            Ifi::OpenId(openid) => map.insert("openid".into(), json!(openid)),
            Ifi::Account { home_page, name } => map.insert(
                "account".into(),
                json!({"homePage": home_page, "name": name}),
            ),
        };
        map
    }
}

/// True for a Group object (as opposed to an Agent, whose objectType may be left out).
pub fn is_group(agent: &Value) -> bool {
    agent.get("objectType").and_then(Value::as_str) == Some("Group")
}

/// The members of a Group, or nothing for an Agent.
pub fn members(agent: &Value) -> &[Value] {
    if !is_group(agent) {
        return &[];
    }
    agent
        .get("member")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The name given to the agent with this IFI anywhere in a statement (actor, object, authority,
/// context agents, Group members, a SubStatement's agents), for the Agents resource's Person.
pub fn name_in(statement: &Value, ifi: &Ifi) -> Option<String> {
    match statement {
        Value::Object(map) => {
            if Ifi::of(statement).as_ref() == Some(ifi)
                && let Some(name) = map.get("name").and_then(Value::as_str)
            {
                return Some(name.to_string());
            }
            map.values().find_map(|v| name_in(v, ifi))
        }
        Value::Array(list) => list.iter().find_map(|v| name_in(v, ifi)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_domain_is_case_insensitive_d_2_3_1() {
        let a = Ifi::of(&json!({"mbox": "mailto:Ann@Example.COM"})).map(|i| i.key());
        let b = Ifi::of(&json!({"mbox": "mailto:Ann@example.com"})).map(|i| i.key());
        let c = Ifi::of(&json!({"mbox": "mailto:ann@example.com"})).map(|i| i.key());
        assert_eq!(a, b);
        assert_ne!(a, c, "the local part keeps its case");
    }

    #[test]
    fn account_ifi_needs_both_parts_d_2_4_2_4() {
        assert_eq!(
            Ifi::of(&json!({"account": {"homePage": "https://hr.example", "name": "E123"}})),
            Some(Ifi::Account {
                home_page: "https://hr.example".into(),
                name: "E123".into()
            })
        );
        assert_eq!(Ifi::of(&json!({"account": {"name": "E123"}})), None);
        assert_eq!(Ifi::of(&json!({"objectType": "Group", "member": []})), None);
    }

    #[test]
    fn a_key_gives_back_its_identifier() {
        for agent in [
            json!({"mbox": "mailto:ann@example.com"}),
            json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
            json!({"openid": "https://id.example/ann"}),
            json!({"account": {"homePage": "https://hr.example", "name": "E123"}}),
        ] {
            let ifi = Ifi::of(&agent).expect("an identifier");
            assert_eq!(Ifi::from_key(&ifi.key()), Some(ifi));
        }
        assert_eq!(Ifi::from_key("account:https://hr.example"), None);
        assert_eq!(Ifi::from_key("phone:123"), None);
    }
}
