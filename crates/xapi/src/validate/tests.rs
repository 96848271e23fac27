//! One test (or more) per rule, positive and negative, named after the section it checks:
//! `d_` is xAPI 1.0.3 Data, `s_` the 2.0 LRS document (IEEE 9274.1.1 section 4). Many cases are
//! those of the ADL LRS conformance suite.
use serde_json::{Value, json};

use super::{validate_agent, validate_statement};
use crate::Version::{self, V1_0_3, V2_0_0};

const BOTH: [Version; 2] = [V1_0_3, V2_0_0];

fn base() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "https://example.com/sop/42"}
    })
}

/// `statement` with `value` at the JSON pointer `at`; objects on the way are created.
fn set(mut statement: Value, at: &str, value: Value) -> Value {
    let mut current = &mut statement;
    let segments: Vec<&str> = at.trim_start_matches('/').split('/').collect();
    let (last, parents) = segments.split_last().unwrap_or((&"", &[]));
    for segment in parents {
        current = match current {
            Value::Array(list) => match segment.parse::<usize>().ok().and_then(|i| list.get_mut(i))
            {
                Some(next) => next,
                None => panic!("no item {segment} in {at}"),
            },
            Value::Object(map) => map.entry(segment.to_string()).or_insert_with(|| json!({})),
            _ => panic!("cannot go into {segment} of {at}"),
        };
    }
    match current {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
        }
        Value::Array(list) => match last.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
            Some(slot) => *slot = value,
            None => list.push(value),
        },
        _ => panic!("cannot set {at}"),
    }
    statement
}

/// `statement` without the member at the JSON pointer `at`.
fn without(mut statement: Value, at: &str) -> Value {
    let (parent, key) = at.rsplit_once('/').unwrap_or(("", at));
    if let Some(Value::Object(map)) = statement.pointer_mut(parent) {
        map.shift_remove(key);
    }
    statement
}

/// The base statement with `value` at `at`.
fn with(at: &str, value: Value) -> Value {
    set(base(), at, value)
}

#[track_caller]
fn accepted(statement: &Value, version: Version) {
    if let Err(error) = validate_statement(statement, version) {
        panic!("rejected under {version}: {error}\n{statement:#}");
    }
}

#[track_caller]
fn accepted_in_both(statement: &Value) {
    for version in BOTH {
        accepted(statement, version);
    }
}

/// Asserts the statement is refused with an error at `path`; returns the message.
#[track_caller]
fn rejected(statement: &Value, version: Version, path: &str) -> String {
    match validate_statement(statement, version) {
        Ok(()) => panic!("accepted under {version}; expected an error at {path:?}\n{statement:#}"),
        Err(error) => {
            assert_eq!(error.path, path, "under {version}: {error}");
            error.message
        }
    }
}

/// As [`rejected`], under both versions; returns the 2.0 message.
#[track_caller]
fn rejected_in_both(statement: &Value, path: &str) -> String {
    rejected(statement, V1_0_3, path);
    rejected(statement, V2_0_0, path)
}

// --- Data 2.2, 2.4: formatting and the statement's own properties ---------------------------------

#[test]
fn accepts_a_minimal_statement_d_2_4() {
    accepted_in_both(&json!({
        "actor": {"mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/created"},
        "object": {"id": "http://example.adlnet.gov/xapi/example/activity"}
    }));
    accepted_in_both(&base());
}

#[test]
fn rejects_a_statement_that_is_not_an_object_d_2_2() {
    for not_object in [json!([]), json!("statement"), json!(null), json!(1)] {
        rejected_in_both(&not_object, "");
    }
}

#[test]
fn rejects_a_statement_without_actor_verb_or_object_d_2_2() {
    for required in ["actor", "verb", "object"] {
        let message = rejected_in_both(&without(base(), &format!("/{required}")), required);
        assert!(message.contains("missing"), "{message}");
    }
}

#[test]
fn rejects_null_values_outside_extensions_d_2_2() {
    for (at, path) in [
        ("/actor/name", "actor.name"),
        ("/verb/display/en-US", "verb.display[\"en-US\"]"),
        ("/context/registration", "context.registration"),
        ("/object/definition/moreInfo", "object.definition.moreInfo"),
        ("/result", "result"),
        ("/timestamp", "timestamp"),
        ("/id", "id"),
    ] {
        let message = rejected_in_both(&with(at, Value::Null), path);
        assert!(message.contains("null"), "{message}");
    }
}

#[test]
fn accepts_null_values_inside_extensions_d_4_1() {
    let null_extension = json!({"http://example.com/null": null});
    accepted_in_both(&with("/result/extensions", null_extension.clone()));
    accepted_in_both(&with("/context/extensions", null_extension.clone()));
    accepted_in_both(&with("/object/definition/extensions", null_extension));
    accepted_in_both(&with(
        "/context/extensions",
        json!({"http://example.com/any": {"id": null, "Actor": [1, "x", {"mbox": 5}]}}),
    ));
}

#[test]
fn rejects_wrong_json_types_d_2_2() {
    let result = json!({"score": {"min": 0, "max": 100}});
    rejected_in_both(
        &with("/result", set(result.clone(), "/score/max", json!("100"))),
        "result.score.max",
    );
    rejected_in_both(
        &with(
            "/result",
            set(result.clone(), "/score/max", json!("one hundred")),
        ),
        "result.score.max",
    );
    rejected_in_both(&with("/result/success", json!("true")), "result.success");
    rejected_in_both(
        &with("/result/completion", json!("false")),
        "result.completion",
    );
    rejected_in_both(&with("/result/response", json!(42)), "result.response");
    rejected_in_both(&with("/actor/name", json!(123)), "actor.name");
    rejected_in_both(
        &with("/actor/objectType", json!({"key": "value"})),
        "actor.objectType",
    );
    rejected_in_both(
        &with("/verb", json!("http://adlnet.gov/expapi/verbs/completed")),
        "verb",
    );
}

#[test]
fn rejects_property_names_in_the_wrong_case_d_2_2() {
    for (wrong, right) in [
        ("Actor", "actor"),
        ("iD", "id"),
        ("veRb", "verb"),
        ("oBject", "object"),
        ("RESULT", "result"),
        ("conText", "context"),
        ("timeStamp", "timestamp"),
        ("STOred", "stored"),
        ("auTHORity", "authority"),
        ("Version", "version"),
        ("attachmentS", "attachments"),
    ] {
        let message = rejected_in_both(&with(&format!("/{wrong}"), json!("x")), wrong);
        assert!(
            message.contains(&format!("did you mean \"{right}\"")),
            "{message}"
        );
    }
    rejected_in_both(
        &with("/actor/Mbox", json!("mailto:b@example.com")),
        "actor.Mbox",
    );
    rejected_in_both(
        &with("/object/definition/Name", json!({"en": "x"})),
        "object.definition.Name",
    );
}

#[test]
fn rejects_additional_properties_at_every_level_d_2_2_s_4_2_1() {
    let activity_statement = with("/object/definition/interactionType", json!("choice"));
    for (statement, at, path) in [
        (base(), "/extra", "extra"),
        (base(), "/actor/extra", "actor.extra"),
        (base(), "/actor/account", "actor"),
        (base(), "/verb/extra", "verb.extra"),
        (base(), "/object/extra", "object.extra"),
        (
            base(),
            "/object/definition/extra",
            "object.definition.extra",
        ),
        (
            activity_statement,
            "/object/definition/choices",
            "object.definition.choices[0].extra",
        ),
        (base(), "/result/extra", "result.extra"),
        (base(), "/result/score/extra", "result.score.extra"),
        (base(), "/context/extra", "context.extra"),
        (
            base(),
            "/context/contextActivities/extra",
            "context.contextActivities.extra",
        ),
        (base(), "/context/statement", "context.statement.extra"),
    ] {
        let value = match at {
            "/actor/account" => json!({"homePage": "https://example.com", "name": "ann"}),
            "/object/definition/choices" => json!([{"id": "a", "extra": 1}]),
            "/context/statement" => {
                json!({"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "extra": 1})
            }
            _ => json!(1),
        };
        rejected_in_both(&set(statement, at, value), path);
    }
    let account = json!({"homePage": "https://example.com", "name": "ann", "extra": 1});
    rejected_in_both(
        &with("/actor", json!({"account": account})),
        "actor.account.extra",
    );
}

#[test]
fn rejects_enumerated_values_in_the_wrong_case_d_2_2() {
    rejected_in_both(
        &with("/actor/objectType", json!("agent")),
        "actor.objectType",
    );
    rejected_in_both(
        &with("/actor/objectType", json!("group")),
        "actor.objectType",
    );
    rejected_in_both(
        &with("/object/objectType", json!("activity")),
        "object.objectType",
    );
    rejected_in_both(
        &with("/object/objectType", json!("statementref")),
        "object.objectType",
    );
    for wrong in ["Choice", "true-faLse", "fill-iN", "Other", "nUmeric"] {
        let message = rejected_in_both(
            &with("/object/definition/interactionType", json!(wrong)),
            "object.definition.interactionType",
        );
        assert!(message.contains("case-sensitive"), "{message}");
    }
}

#[test]
fn rejects_empty_strings_where_a_format_is_required_d_2_2() {
    rejected_in_both(&with("/id", json!("")), "id");
    rejected_in_both(&with("/verb/id", json!("")), "verb.id");
    rejected_in_both(&with("/actor/mbox", json!("")), "actor.mbox");
    rejected_in_both(&with("/object/id", json!("")), "object.id");
    rejected_in_both(
        &with("/context/registration", json!("")),
        "context.registration",
    );
    rejected_in_both(&with("/timestamp", json!("")), "timestamp");
    rejected_in_both(&with("/result/duration", json!("")), "result.duration");
    rejected_in_both(&with("/context/language", json!("")), "context.language");
}

#[test]
fn accepts_a_uuid_id_in_any_case_d_2_4_1() {
    accepted_in_both(&with("/id", json!("6690e6c9-3ef0-4ed3-8b37-7f3964730bee")));
    accepted_in_both(&with("/id", json!("AA97B177-9383-4934-8543-0F91A7A02836")));
}

#[test]
fn rejects_an_id_that_is_not_a_uuid_d_2_4_1() {
    for id in [
        json!(12345),
        json!({"key": "should fail"}),
        json!("AA97B177-9383-4934-8543-0F91A7A028368"),
        json!("MA97B177-9383-4934-8543-0F91A7A02836"),
        json!("aa97b1779383493485430f91a7a02836"),
    ] {
        rejected_in_both(&with("/id", id), "id");
    }
}

// --- Data 2.4.2: actor --------------------------------------------------------------------------

#[test]
fn accepts_an_agent_with_each_kind_of_ifi_d_2_4_2_3() {
    for agent in [
        json!({"mbox": "mailto:xapi@adlnet.gov"}),
        json!({"objectType": "Agent", "mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"}),
        json!({"openid": "http://openid.example.org/12345"}),
        json!({"name": "Ann", "account": {"homePage": "http://www.example.com", "name": "1625378"}}),
    ] {
        accepted_in_both(&with("/actor", agent));
    }
}

#[test]
fn rejects_agent_with_two_ifis_d_2_4_2() {
    let agent =
        json!({"mbox": "mailto:xapi@adlnet.gov", "openid": "http://openid.example.org/12345"});
    let message = rejected_in_both(&with("/actor", agent), "actor");
    assert!(
        message.contains("exactly one of mbox, mbox_sha1sum, openid, account; found 2"),
        "{message}"
    );
}

#[test]
fn rejects_agent_without_ifi_d_2_4_2_1() {
    let message = rejected_in_both(
        &with("/actor", json!({"objectType": "Agent", "name": "Ann"})),
        "actor",
    );
    assert!(message.contains("found none"), "{message}");
}

#[test]
fn rejects_an_mbox_that_is_not_a_mailto_iri_d_2_4_2_3() {
    for mbox in [
        json!("http://should.fail.com"),
        json!("mailto:should.fail.com"),
        json!("xapi@adlnet.gov"),
        json!(5),
    ] {
        rejected_in_both(&with("/actor/mbox", mbox), "actor.mbox");
    }
}

#[test]
fn rejects_a_malformed_mbox_sha1sum_or_openid_d_2_4_2_3() {
    let sha1 = |v: Value| with("/actor", json!({"mbox_sha1sum": v}));
    rejected_in_both(&sha1(json!({"key": "value"})), "actor.mbox_sha1sum");
    rejected_in_both(
        &sha1(json!("cd9b00a5611f94eaa7b1661edab976068e36497")),
        "actor.mbox_sha1sum",
    );
    rejected_in_both(
        &with("/actor", json!({"openid": "not a uri"})),
        "actor.openid",
    );
}

#[test]
fn rejects_a_malformed_account_d_2_4_2_4() {
    let account = |v: Value| with("/actor", json!({"account": v}));
    rejected_in_both(
        &account(json!({"homePage": "http://www.example.com"})),
        "actor.account.name",
    );
    rejected_in_both(&account(json!({"name": "ann"})), "actor.account.homePage");
    rejected_in_both(
        &account(json!({"homePage": "http://www.example.com", "name": {"key": "should fail"}})),
        "actor.account.name",
    );
    // A NUL cannot be stored as text (PostgreSQL refuses it): 400, not a database error.
    rejected_in_both(
        &account(json!({"homePage": "http://www.example.com", "name": "a\u{0}b"})),
        "actor.account.name",
    );
    rejected_in_both(
        &account(json!({"homePage": "ab=c://should.fail.com", "name": "ann"})),
        "actor.account.homePage",
    );
    rejected_in_both(&account(json!("ann")), "actor.account");
}

#[test]
fn accepts_identified_and_anonymous_groups_d_2_4_2_2() {
    let member = json!([{"mbox": "mailto:a@example.com"}, {"objectType": "Agent", "openid": "http://id.example.com/b"}]);
    accepted_in_both(&with(
        "/actor",
        json!({"objectType": "Group", "member": member}),
    ));
    accepted_in_both(&with(
        "/actor",
        json!({"objectType": "Group", "name": "QA", "mbox": "mailto:qa@example.com"}),
    ));
    accepted_in_both(&with(
        "/actor",
        json!({"objectType": "Group", "account": {"homePage": "https://example.com", "name": "qa"}, "member": member}),
    ));
}

#[test]
fn rejects_anonymous_group_without_members_d_2_4_2_2() {
    rejected_in_both(
        &with("/actor", json!({"objectType": "Group", "name": "QA"})),
        "actor.member",
    );
    rejected_in_both(
        &with("/actor", json!({"objectType": "Group", "member": []})),
        "actor.member",
    );
    rejected_in_both(
        &with(
            "/actor",
            json!({"objectType": "Group", "member": {"mbox": "mailto:a@b.c"}}),
        ),
        "actor.member",
    );
}

#[test]
fn rejects_group_with_two_ifis_d_2_4_2_2() {
    let group = json!({"objectType": "Group", "mbox": "mailto:qa@example.com", "openid": "http://id.example.com/qa"});
    let message = rejected_in_both(&with("/actor", group), "actor");
    assert!(message.contains("found 2"), "{message}");
}

#[test]
fn rejects_group_as_member_of_a_group_d_2_4_2_2() {
    let inner = json!({"objectType": "Group", "mbox": "mailto:inner@example.com"});
    let group = json!({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, inner]});
    rejected_in_both(&with("/actor", group), "actor.member[1].objectType");
    let bad_member = json!({"objectType": "Group", "mbox": "mailto:qa@example.com", "member": [{"name": "no ifi"}]});
    rejected_in_both(&with("/actor", bad_member), "actor.member[0]");
}

#[test]
fn rejects_an_actor_object_type_other_than_agent_or_group_d_2_4_2() {
    for object_type in [json!("Person"), json!("Activity"), json!(123)] {
        rejected_in_both(&with("/actor/objectType", object_type), "actor.objectType");
    }
    rejected_in_both(&with("/actor", json!("mailto:ann@example.com")), "actor");
}

// --- Data 2.4.3: verb ----------------------------------------------------------------------------

#[test]
fn accepts_a_verb_with_or_without_display_d_2_4_3() {
    accepted_in_both(&without(base(), "/verb/display"));
    accepted_in_both(&with(
        "/verb/display",
        json!({"en-US": "completed", "de": "abgeschlossen", "zh-Hant": "完成"}),
    ));
}

#[test]
fn rejects_a_verb_without_an_iri_id_d_2_4_3() {
    rejected_in_both(&without(base(), "/verb/id"), "verb.id");
    rejected_in_both(&with("/verb/id", json!("completed")), "verb.id");
}

#[test]
fn rejects_a_malformed_language_map_d_4_2() {
    let message = rejected_in_both(&with("/verb/display", json!({})), "verb.display");
    assert!(message.contains("empty"), "{message}");
    rejected_in_both(&with("/verb/display", json!("completed")), "verb.display");
    rejected_in_both(
        &with("/verb/display", json!({"de-419-DE": "besucht"})),
        "verb.display[\"de-419-DE\"]",
    );
    rejected_in_both(
        &with("/verb/display", json!({"something": "besucht"})),
        "verb.display.something",
    );
    rejected_in_both(
        &with("/verb/display", json!({"a12345": "x"})),
        "verb.display.a12345",
    );
    rejected_in_both(&with("/verb/display", json!({"en": 1})), "verb.display.en");
}

// --- Data 2.4.4: object --------------------------------------------------------------------------

#[test]
fn accepts_an_activity_without_object_type_d_2_4_4() {
    accepted_in_both(&with(
        "/object",
        json!({"id": "http://www.example.com/meetings/occurances/34534"}),
    ));
}

#[test]
fn rejects_an_activity_without_an_iri_id_d_2_4_4_1() {
    rejected_in_both(&without(base(), "/object/id"), "object.id");
    rejected_in_both(
        &with("/object/id", json!("ab=c://should.fail.com")),
        "object.id",
    );
    rejected_in_both(&with("/object/id", json!("relative/path")), "object.id");
}

#[test]
fn rejects_a_malformed_activity_definition_d_2_4_4_1() {
    rejected_in_both(
        &with("/object/definition", json!("should error")),
        "object.definition",
    );
    rejected_in_both(
        &with("/object/definition/name", json!("should error")),
        "object.definition.name",
    );
    rejected_in_both(
        &with("/object/definition/description", json!(12345)),
        "object.definition.description",
    );
    rejected_in_both(
        &with("/object/definition/type", json!("should error")),
        "object.definition.type",
    );
    rejected_in_both(
        &with("/object/definition/moreInfo", json!("should error")),
        "object.definition.moreInfo",
    );
    rejected_in_both(
        &with("/object/definition/extensions", json!("should error")),
        "object.definition.extensions",
    );
    rejected_in_both(
        &with(
            "/object/definition/extensions",
            json!({"id": "valid", "description": {"en-US": "valid"}}),
        ),
        "object.definition.extensions.id",
    );
}

fn interaction(interaction_type: &str, extra: Value) -> Value {
    let mut definition = json!({
        "name": {"en": "Question"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": interaction_type,
    });
    if let (Value::Object(definition), Value::Object(extra)) = (&mut definition, extra) {
        definition.extend(extra);
    }
    with("/object/definition", definition)
}

#[test]
fn accepts_every_interaction_type_with_its_components_d_2_4_4_1() {
    let list = json!([{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}]);
    for (interaction_type, extra) in [
        ("true-false", json!({"correctResponsesPattern": ["true"]})),
        (
            "choice",
            json!({"correctResponsesPattern": ["a[,]b"], "choices": list}),
        ),
        (
            "fill-in",
            json!({"correctResponsesPattern": ["{case_matters=false}{lang=en}to be"]}),
        ),
        ("long-fill-in", json!({"correctResponsesPattern": []})),
        (
            "matching",
            json!({"correctResponsesPattern": ["a[.]b"], "source": list, "target": list}),
        ),
        (
            "performance",
            json!({"correctResponsesPattern": ["a[.]1[:]3"], "steps": list}),
        ),
        (
            "sequencing",
            json!({"correctResponsesPattern": ["b[,]a"], "choices": list}),
        ),
        (
            "likert",
            json!({"correctResponsesPattern": ["a"], "scale": list}),
        ),
        ("numeric", json!({"correctResponsesPattern": ["4[:]"]})),
        (
            "other",
            json!({"correctResponsesPattern": ["(35.937432,-86.868896)"]}),
        ),
        ("likert", json!({})),
    ] {
        accepted_in_both(&interaction(interaction_type, extra));
    }
}

#[test]
fn rejects_an_unknown_interaction_type_d_2_4_4_1() {
    for wrong in [
        json!("essay"),
        json!("http://adlnet.gov/expapi/activities/cmi.interaction"),
        json!(12345),
        json!({"key": "x"}),
    ] {
        rejected_in_both(
            &with("/object/definition/interactionType", wrong),
            "object.definition.interactionType",
        );
    }
}

#[test]
fn rejects_a_component_list_the_interaction_type_does_not_have_d_2_4_4_1() {
    let list = json!([{"id": "a"}]);
    rejected_in_both(
        &interaction("true-false", json!({"choices": list})),
        "object.definition.choices",
    );
    rejected_in_both(
        &interaction("likert", json!({"choices": list})),
        "object.definition.choices",
    );
    rejected_in_both(
        &interaction("choice", json!({"scale": list})),
        "object.definition.scale",
    );
    rejected_in_both(
        &interaction("matching", json!({"steps": list})),
        "object.definition.steps",
    );
    rejected_in_both(
        &interaction("numeric", json!({"source": list})),
        "object.definition.source",
    );
}

#[test]
fn rejects_interaction_properties_without_an_interaction_type_d_2_4_4_1() {
    rejected_in_both(
        &with(
            "/object/definition",
            json!({"correctResponsesPattern": ["a"]}),
        ),
        "object.definition.correctResponsesPattern",
    );
    rejected_in_both(
        &with("/object/definition", json!({"choices": [{"id": "a"}]})),
        "object.definition.choices",
    );
}

#[test]
fn rejects_repeated_interaction_component_ids_d_2_4_4_1() {
    let choices = json!([{"id": "a"}, {"id": "b"}, {"id": "a"}]);
    let message = rejected_in_both(
        &interaction("choice", json!({"choices": choices})),
        "object.definition.choices[2].id",
    );
    assert!(
        message.contains("object.definition.choices[0]"),
        "{message}"
    );
    let source = json!([{"id": "a"}]);
    let target = json!([{"id": "a"}]);
    accepted_in_both(&interaction(
        "matching",
        json!({"source": source, "target": target}),
    ));
}

#[test]
fn rejects_malformed_interaction_components_d_2_4_4_1() {
    let choice = |list: Value| interaction("choice", json!({"choices": list}));
    rejected_in_both(
        &choice(json!([{"description": {"en": "A"}}])),
        "object.definition.choices[0].id",
    );
    rejected_in_both(
        &choice(json!([{"id": 1}])),
        "object.definition.choices[0].id",
    );
    rejected_in_both(
        &choice(json!([{"id": "a", "description": {"a12345": "x"}}])),
        "object.definition.choices[0].description.a12345",
    );
    rejected_in_both(&choice(json!({"id": "a"})), "object.definition.choices");
    rejected_in_both(
        &interaction("choice", json!({"correctResponsesPattern": "a"})),
        "object.definition.correctResponsesPattern",
    );
    rejected_in_both(
        &interaction("choice", json!({"correctResponsesPattern": ["a", 2]})),
        "object.definition.correctResponsesPattern[1]",
    );
}

#[test]
fn accepts_an_agent_or_group_object_with_object_type_d_2_4_4_2() {
    accepted_in_both(&with(
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"}),
    ));
    accepted_in_both(&with(
        "/object",
        json!({"objectType": "Group", "member": [{"mbox": "mailto:bob@example.com"}]}),
    ));
}

#[test]
fn rejects_an_agent_object_without_object_type_d_2_4_4_2() {
    // Without objectType the object is an Activity, which has no mbox.
    let message = rejected_in_both(
        &with("/object", json!({"mbox": "mailto:bob@example.com"})),
        "object.mbox",
    );
    assert!(message.contains("Activity"), "{message}");
    rejected_in_both(
        &with("/object", json!({"objectType": "Agent", "name": "Bob"})),
        "object",
    );
}

#[test]
fn accepts_a_statement_ref_object_d_2_4_4_3() {
    accepted_in_both(&with(
        "/object",
        json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}),
    ));
}

#[test]
fn rejects_a_malformed_statement_ref_d_2_4_4_3() {
    let statement_ref = |v: Value| with("/object", v);
    rejected_in_both(
        &statement_ref(json!({"objectType": "StatementRef"})),
        "object.id",
    );
    rejected_in_both(
        &statement_ref(json!({"objectType": "StatementRef", "id": 12345})),
        "object.id",
    );
    rejected_in_both(
        &statement_ref(
            json!({"objectType": "StatementRef", "id": "AA97B177-9383-4934-8543-0F91A7A028368"}),
        ),
        "object.id",
    );
    rejected_in_both(
        &statement_ref(
            json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0", "definition": {}}),
        ),
        "object.definition",
    );
}

fn substatement() -> Value {
    json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:test@example.com"},
        "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
        "object": {"objectType": "Activity", "id": "http://example.com/website"},
        "result": {"success": true},
        "context": {"platform": "web", "contextActivities": {"parent": {"id": "http://example.com/site"}}},
        "timestamp": "2099-01-01T00:00:00Z",
        "attachments": [attachment()]
    })
}

#[test]
fn accepts_a_substatement_d_2_4_4_3() {
    accepted_in_both(&with("/object", substatement()));
    let about_a_statement = set(
        substatement(),
        "/object",
        json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}),
    );
    accepted_in_both(&with(
        "/object",
        without(about_a_statement, "/context/platform"),
    ));
}

#[test]
fn rejects_a_substatement_with_lrs_owned_properties_d_2_4_4_3() {
    for (key, value) in [
        ("id", json!("8f87ccde-bb56-4c2e-ab83-44982ef22df0")),
        ("stored", json!("2024-01-01T00:00:00Z")),
        ("version", json!("1.0.0")),
        ("authority", json!({"mbox": "mailto:lrs@example.com"})),
    ] {
        let message = rejected_in_both(
            &with("/object", set(substatement(), &format!("/{key}"), value)),
            &format!("object.{key}"),
        );
        assert!(message.contains("SubStatement"), "{message}");
    }
}

#[test]
fn rejects_a_nested_substatement_d_2_4_4_3() {
    let nested = set(substatement(), "/object", substatement());
    rejected_in_both(
        &with("/object", without(nested, "/context")),
        "object.object.objectType",
    );
}

#[test]
fn validates_a_substatement_as_a_statement_d_2_4_4_3() {
    rejected_in_both(
        &with("/object", without(substatement(), "/verb")),
        "object.verb",
    );
    rejected_in_both(
        &with(
            "/object",
            set(substatement(), "/actor/mbox", json!("bob@example.com")),
        ),
        "object.actor.mbox",
    );
    rejected_in_both(
        &with(
            "/object",
            set(substatement(), "/timestamp", json!("01/011/2015")),
        ),
        "object.timestamp",
    );
    rejected_in_both(
        &with("/object", set(substatement(), "/extra", json!(1))),
        "object.extra",
    );
    rejected_in_both(
        &with(
            "/object",
            set(
                substatement(),
                "/object",
                json!({"objectType": "Agent", "mbox": "mailto:b@example.com"}),
            ),
        ),
        "object.context.platform",
    );
}

// --- Data 2.4.5: result --------------------------------------------------------------------------

#[test]
fn accepts_a_full_result_d_2_4_5() {
    accepted_in_both(&with(
        "/result",
        json!({
            "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
            "success": true,
            "completion": false,
            "response": "We agreed on some example actions.",
            "duration": "PT1H0M0S",
            "extensions": {"http://example.com/profiles/meetings/resultextensions/reporter": {"name": "Thomas"}}
        }),
    ));
    for scaled in [json!(1.0), json!(-1.0), json!(0), json!(0.6767676)] {
        accepted_in_both(&with("/result/score/scaled", scaled));
    }
    accepted_in_both(&with("/result/score", json!({"raw": -12.5})));
}

#[test]
fn rejects_a_scaled_score_outside_minus_one_to_one_d_2_4_5_1() {
    for scaled in [json!(1.01), json!(-1.00001), json!(100)] {
        rejected_in_both(&with("/result/score/scaled", scaled), "result.score.scaled");
    }
}

#[test]
fn rejects_a_raw_score_outside_min_and_max_d_2_4_5_1() {
    rejected_in_both(
        &with("/result/score", json!({"raw": 0.68, "max": 0.66})),
        "result.score.raw",
    );
    rejected_in_both(
        &with("/result/score", json!({"raw": 0.68, "min": 1.4})),
        "result.score.raw",
    );
    rejected_in_both(
        &with(
            "/result/score",
            json!({"min": 0.68, "max": 0.67, "raw": 0.675}),
        ),
        "result.score.min",
    );
    rejected_in_both(
        &with("/result/score", json!({"min": 5, "max": 5})),
        "result.score.min",
    );
    accepted_in_both(&with(
        "/result/score",
        json!({"min": 0, "max": 10, "raw": 10}),
    ));
    accepted_in_both(&with(
        "/result/score",
        json!({"min": 0, "max": 10, "raw": 0}),
    ));
}

#[test]
fn rejects_a_score_that_is_not_an_object_of_numbers_d_2_4_5_1() {
    rejected_in_both(&with("/result/score", json!(12345)), "result.score");
    rejected_in_both(&with("/result/score", json!("should fail")), "result.score");
    rejected_in_both(&with("/result/score/raw", json!("95")), "result.score.raw");
    rejected_in_both(
        &with("/result/score/scaled", json!(true)),
        "result.score.scaled",
    );
}

#[test]
fn accepts_iso_8601_durations_d_4_6() {
    for duration in [
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1H0M0.1S",
        "PT0.0001S",
    ] {
        accepted_in_both(&with("/result/duration", json!(duration)));
    }
}

#[test]
fn rejects_a_malformed_duration_d_4_6() {
    for duration in [
        json!("PA1H0M0S"),
        json!("should fail"),
        json!("P4W1D"),
        json!(12345),
        json!({"key": "invalid"}),
    ] {
        rejected_in_both(&with("/result/duration", duration), "result.duration");
    }
}

// --- Data 2.4.6: context -------------------------------------------------------------------------

fn full_context() -> Value {
    json!({
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "instructor": {"objectType": "Group", "mbox": "mailto:trainers@example.com"},
        "team": {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]},
        "contextActivities": {
            "parent": [{"id": "http://example.com/course"}],
            "grouping": {"objectType": "Activity", "id": "http://example.com/program"},
            "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}],
            "other": []
        },
        "revision": "rev_10_3_2",
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "extensions": {"http://example.com/profiles/meetings/contextextensions/airspeed": "600mph"}
    })
}

#[test]
fn accepts_a_full_context_d_2_4_6() {
    accepted_in_both(&with("/context", full_context()));
}

#[test]
fn rejects_a_malformed_registration_instructor_or_team_d_2_4_6() {
    rejected_in_both(
        &with("/context/registration", json!("should fail")),
        "context.registration",
    );
    rejected_in_both(
        &with("/context/instructor", json!({"key": "should fail"})),
        "context.instructor.key",
    );
    rejected_in_both(
        &with("/context/instructor", json!("should fail")),
        "context.instructor",
    );
    rejected_in_both(
        &with("/context/team", json!({"mbox": "mailto:ann@example.com"})),
        "context.team.objectType",
    );
    rejected_in_both(
        &with(
            "/context/team",
            json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"}),
        ),
        "context.team.objectType",
    );
}

#[test]
fn rejects_malformed_context_activities_d_2_4_6_2() {
    rejected_in_both(
        &with("/context/contextActivities", json!("should fail")),
        "context.contextActivities",
    );
    // An empty map is a map (Data 2.4.6.2 sets no minimum); tools send it.
    accepted_in_both(&with("/context/contextActivities", json!({})));
    rejected_in_both(
        &with(
            "/context/contextActivities",
            json!({"sibling": [{"id": "http://example.com/a"}]}),
        ),
        "context.contextActivities.sibling",
    );
    rejected_in_both(
        &with(
            "/context/contextActivities/parent",
            json!("http://example.com/a"),
        ),
        "context.contextActivities.parent",
    );
    rejected_in_both(
        &with(
            "/context/contextActivities/parent",
            json!([{"id": "http://example.com/a"}, {"id": "not an iri"}]),
        ),
        "context.contextActivities.parent[1].id",
    );
    rejected_in_both(
        &with(
            "/context/contextActivities/other",
            json!({"objectType": "Agent", "mbox": "mailto:a@example.com"}),
        ),
        "context.contextActivities.other.objectType",
    );
}

#[test]
fn rejects_revision_or_platform_unless_the_object_is_an_activity_d_2_4_6() {
    let agent_object = json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"});
    let reference =
        json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"});
    rejected_in_both(
        &set(
            with("/object", agent_object),
            "/context/revision",
            json!("r1"),
        ),
        "context.revision",
    );
    rejected_in_both(
        &set(
            with("/object", reference.clone()),
            "/context/platform",
            json!("web"),
        ),
        "context.platform",
    );
    rejected_in_both(
        &set(
            with("/object", substatement()),
            "/context/platform",
            json!("web"),
        ),
        "context.platform",
    );
    accepted_in_both(&with("/context/revision", json!("r1")));
    accepted_in_both(&set(
        with("/object", reference),
        "/context/language",
        json!("en"),
    ));
    rejected_in_both(&with("/context/revision", json!(2)), "context.revision");
}

#[test]
fn rejects_a_context_language_that_is_not_a_language_tag_d_2_4_6() {
    for tag in ["de", "cmn", "fr-CA", "zh-Hans-CN", "i-enochian"] {
        accepted_in_both(&with("/context/language", json!(tag)));
    }
    for tag in [
        json!("something"),
        json!("a12345"),
        json!("de-419-DE"),
        json!(12),
    ] {
        rejected_in_both(&with("/context/language", tag), "context.language");
    }
}

#[test]
fn rejects_a_context_statement_that_is_not_a_statement_ref_d_2_4_6() {
    rejected_in_both(
        &with(
            "/context/statement",
            json!({"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}),
        ),
        "context.statement.objectType",
    );
    rejected_in_both(
        &with(
            "/context/statement",
            json!({"objectType": "StatementRef", "id": 12345}),
        ),
        "context.statement.id",
    );
}

#[test]
fn rejects_extension_keys_that_are_not_iris_d_4_1() {
    rejected_in_both(
        &with("/context/extensions", json!({"airspeed": 600})),
        "context.extensions.airspeed",
    );
    rejected_in_both(
        &with("/result/extensions", json!({"my key": 1})),
        "result.extensions[\"my key\"]",
    );
    rejected_in_both(&with("/result/extensions", json!([])), "result.extensions");
    accepted_in_both(&with("/result/extensions", json!({})));
}

// --- 2.0 section 4.2.2.5: context agents and groups -----------------------------------------------

fn context_agents() -> Value {
    json!([{
        "objectType": "contextAgent",
        "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
        "relevantTypes": ["https://example.com/xapi/american-footbal/activity-types/personnel/player"]
    }, {
        "objectType": "contextAgent",
        "agent": {"account": {"homePage": "https://example.com", "name": "coach"}}
    }])
}

fn context_groups() -> Value {
    json!([{
        "objectType": "contextGroup",
        "group": {
            "objectType": "Group",
            "mbox": "mailto:team-1@example.com",
            "member": [{"objectType": "Agent", "mbox": "mailto:player-1@example.com"}]
        },
        "relevantTypes": ["https://example.com/xapi/american-footbal/activity-types/team/a"]
    }])
}

#[test]
fn accepts_context_agents_and_groups_under_2_0_s_4_2_2_5() {
    let statement = set(
        with("/context/contextAgents", context_agents()),
        "/context/contextGroups",
        context_groups(),
    );
    accepted(&statement, V2_0_0);
    accepted(
        &with(
            "/object",
            set(substatement(), "/context/contextAgents", context_agents()),
        ),
        V2_0_0,
    );
    accepted(&with("/context/contextAgents", json!([])), V2_0_0);
}

#[test]
fn rejects_context_agents_and_groups_under_1_0_3_d_2_4_6() {
    let message = rejected(
        &with("/context/contextAgents", context_agents()),
        V1_0_3,
        "context.contextAgents",
    );
    assert!(message.contains("2.0"), "{message}");
    rejected(
        &with("/context/contextGroups", context_groups()),
        V1_0_3,
        "context.contextGroups",
    );
    rejected(
        &with(
            "/object",
            set(substatement(), "/context/contextGroups", context_groups()),
        ),
        V1_0_3,
        "object.context.contextGroups",
    );
}

#[test]
fn rejects_a_malformed_context_agent_s_4_2_2_5() {
    let agents =
        |at: &str, value: Value| with("/context/contextAgents", set(context_agents(), at, value));
    rejected(
        &agents("/0/objectType", json!("Should fail")),
        V2_0_0,
        "context.contextAgents[0].objectType",
    );
    rejected(
        &agents("/0/objectType", json!("ContextAgent")),
        V2_0_0,
        "context.contextAgents[0].objectType",
    );
    rejected(
        &agents("/0/agent", json!({"key": "Should fail"})),
        V2_0_0,
        "context.contextAgents[0].agent.key",
    );
    rejected(
        &agents(
            "/0/agent",
            json!({"objectType": "Group", "mbox": "mailto:team@example.com"}),
        ),
        V2_0_0,
        "context.contextAgents[0].agent.objectType",
    );
    rejected(
        &agents("/1/relevantTypes", json!([])),
        V2_0_0,
        "context.contextAgents[1].relevantTypes",
    );
    rejected(
        &agents("/0/relevantTypes", json!(["abc"])),
        V2_0_0,
        "context.contextAgents[0].relevantTypes[0]",
    );
    rejected(
        &agents("/0/extra", json!(1)),
        V2_0_0,
        "context.contextAgents[0].extra",
    );
    rejected(
        &with(
            "/context/contextAgents",
            json!([{"objectType": "contextAgent"}]),
        ),
        V2_0_0,
        "context.contextAgents[0].agent",
    );
    rejected(
        &with(
            "/context/contextAgents",
            json!({"objectType": "contextAgent"}),
        ),
        V2_0_0,
        "context.contextAgents",
    );
}

#[test]
fn rejects_a_malformed_context_group_s_4_2_2_5() {
    let groups =
        |at: &str, value: Value| with("/context/contextGroups", set(context_groups(), at, value));
    rejected(
        &groups("/0/objectType", json!("Should fail")),
        V2_0_0,
        "context.contextGroups[0].objectType",
    );
    rejected(
        &groups("/0/group", json!({"key": "Should fail"})),
        V2_0_0,
        "context.contextGroups[0].group.objectType",
    );
    rejected(
        &groups("/0/group", json!({"mbox": "mailto:team@example.com"})),
        V2_0_0,
        "context.contextGroups[0].group.objectType",
    );
    rejected(
        &groups("/0/relevantTypes", json!([])),
        V2_0_0,
        "context.contextGroups[0].relevantTypes",
    );
    rejected(
        &groups("/0/relevantTypes", json!(["abc"])),
        V2_0_0,
        "context.contextGroups[0].relevantTypes[0]",
    );
}

// --- Data 2.4.7, 2.4.8, 4.5: timestamp and stored ---------------------------------------------------

#[test]
fn accepts_iso_8601_timestamps_d_2_4_7() {
    for timestamp in [
        "2013-05-18T05:32:34.804Z",
        "2008-09-15 15:53:00.601+00:00",
        "2008-09-15T15:53:00.601+05:30",
        "2099-12-31T23:59:59.999Z",
        "2008-09-15T15:53:00",
    ] {
        accepted_in_both(&with("/timestamp", json!(timestamp)));
        accepted_in_both(&with("/stored", json!(timestamp)));
    }
}

#[test]
fn rejects_negative_zero_offsets_d_4_5() {
    for timestamp in [
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
    ] {
        rejected_in_both(&with("/timestamp", json!(timestamp)), "timestamp");
        rejected_in_both(
            &with(
                "/object",
                set(substatement(), "/timestamp", json!(timestamp)),
            ),
            "object.timestamp",
        );
    }
}

#[test]
fn rejects_a_malformed_timestamp_or_stored_d_2_4_8() {
    for timestamp in [
        json!("should fail"),
        json!("01/011/2015"),
        json!(1_700_000_000),
        json!("2008-09-15"),
    ] {
        rejected_in_both(&with("/timestamp", timestamp.clone()), "timestamp");
        rejected_in_both(&with("/stored", timestamp), "stored");
    }
}

// --- Data 2.4.9: authority -------------------------------------------------------------------------

fn oauth_pair() -> Value {
    json!([
        {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}},
        {"mbox": "mailto:bob@example.com"}
    ])
}

#[test]
fn accepts_an_agent_or_oauth_pair_as_authority_d_2_4_9() {
    accepted_in_both(&with(
        "/authority",
        json!({"objectType": "Agent", "mbox": "mailto:lrs@example.com"}),
    ));
    accepted_in_both(&with(
        "/authority",
        json!({"objectType": "Group", "member": oauth_pair()}),
    ));
}

#[test]
fn rejects_an_identified_group_as_authority_d_2_4_9() {
    for (ifi, value) in [
        ("mbox", json!("mailto:bob@example.com")),
        (
            "mbox_sha1sum",
            json!("cd9b00a5611f94eaa7b1661edab976068e364975"),
        ),
        ("openid", json!("http://openid.example.org/12345")),
        (
            "account",
            json!({"homePage": "http://www.example.com", "name": "xAPI account name"}),
        ),
    ] {
        let group = set(
            json!({"objectType": "Group", "member": oauth_pair()}),
            &format!("/{ifi}"),
            value,
        );
        rejected_in_both(&with("/authority", group), &format!("authority.{ifi}"));
    }
}

#[test]
fn rejects_a_group_authority_without_exactly_two_members_d_2_4_9() {
    let one = json!([{"mbox": "mailto:bob@example.com"}]);
    let three = json!([{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}, {"mbox": "mailto:c@example.com"}]);
    for members in [one, three] {
        let message = rejected_in_both(
            &with(
                "/authority",
                json!({"objectType": "Group", "member": members}),
            ),
            "authority.member",
        );
        assert!(message.contains("exactly two"), "{message}");
    }
    rejected_in_both(
        &with("/authority", json!({"objectType": "Group"})),
        "authority.member",
    );
    rejected_in_both(
        &with(
            "/authority",
            json!({"objectType": "Agent", "name": "no ifi"}),
        ),
        "authority",
    );
}

// --- Data 2.4.10: version ---------------------------------------------------------------------------

#[test]
fn accepts_a_1_0_x_version_in_both_and_2_0_x_under_2_0_d_2_4_10() {
    for version in ["1.0", "1.0.0", "1.0.3", "1.0.9"] {
        accepted_in_both(&with("/version", json!(version)));
    }
    accepted(&with("/version", json!("2.0.0")), V2_0_0);
    accepted(&with("/version", json!("2.0")), V2_0_0);
}

#[test]
fn rejects_other_versions_d_2_4_10() {
    rejected(&with("/version", json!("2.0.0")), V1_0_3, "version");
    for version in [
        json!("should fail"),
        json!("0.9.9"),
        json!("1.1.0"),
        json!("2.1.0"),
        json!(1.0),
    ] {
        rejected_in_both(&with("/version", version), "version");
    }
}

// --- Data 2.4.11: attachments -----------------------------------------------------------------------

fn attachment() -> Value {
    json!({
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "description": {"en-US": "A test attachment (description)"},
        "contentType": "text/plain; charset=ascii",
        "length": 27,
        "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
        "fileUrl": "http://over.there.com/file.txt"
    })
}

#[test]
fn accepts_attachments_d_2_4_11() {
    accepted_in_both(&with(
        "/attachments",
        json!([attachment(), without(attachment(), "/fileUrl")]),
    ));
    accepted_in_both(&with(
        "/attachments",
        json!([without(attachment(), "/description")]),
    ));
    accepted_in_both(&with("/attachments", json!([])));
}

#[test]
fn rejects_an_attachment_without_a_required_property_d_2_4_11() {
    for key in ["usageType", "display", "contentType", "length", "sha2"] {
        rejected_in_both(
            &with(
                "/attachments",
                json!([without(attachment(), &format!("/{key}"))]),
            ),
            &format!("attachments[0].{key}"),
        );
    }
}

#[test]
fn rejects_malformed_attachment_properties_d_2_4_11() {
    for (key, value) in [
        ("usageType", json!("test")),
        ("display", json!({})),
        (
            "display",
            json!({"en-US": "A test attachment", "de-419-DE": "Ein Test"}),
        ),
        ("description", json!({"something": "x"})),
        ("contentType", json!("plain text")),
        ("length", json!(-1)),
        ("length", json!("27")),
        ("length", json!(27.5)),
        ("sha2", json!("not a hash")),
        ("sha2", json!(12)),
        ("fileUrl", json!("file.txt")),
    ] {
        let statement = with(
            "/attachments",
            json!([attachment(), set(attachment(), &format!("/{key}"), value)]),
        );
        for version in BOTH {
            match validate_statement(&statement, version) {
                // A language map's error is at the offending tag, under the map's own path.
                Err(error) => assert!(
                    error.path.starts_with(&format!("attachments[1].{key}")),
                    "{error}"
                ),
                Ok(()) => panic!("accepted a malformed attachment {key}"),
            }
        }
    }
    rejected_in_both(&with("/attachments", attachment()), "attachments");
    rejected_in_both(
        &with("/attachments", json!([attachment(), "x"])),
        "attachments[1]",
    );
}

// --- Data 2.3.2: voiding ------------------------------------------------------------------------------

#[test]
fn accepts_a_voiding_statement_with_a_statement_ref_d_2_3_2() {
    let voiding = set(
        with(
            "/verb",
            json!({"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}),
        ),
        "/object",
        json!({"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}),
    );
    accepted_in_both(&voiding);
}

#[test]
fn rejects_a_voiding_statement_without_a_statement_ref_d_2_3_2() {
    let voided = with("/verb/id", json!("http://adlnet.gov/expapi/verbs/voided"));
    rejected_in_both(&voided, "object.objectType");
    rejected_in_both(&without(voided.clone(), "/object/objectType"), "object");
    rejected_in_both(
        &set(
            voided,
            "/object",
            json!({"objectType": "Agent", "mbox": "mailto:a@example.com"}),
        ),
        "object.objectType",
    );
}

// --- validate_agent (a parameter, Data 2.2) -------------------------------------------------------

#[test]
fn validates_an_agent_parameter_d_2_4_2() {
    for version in BOTH {
        assert_eq!(
            validate_agent(&json!({"mbox": "mailto:ann@example.com"}), version),
            Ok(())
        );
        assert_eq!(
            validate_agent(
                &json!({"objectType": "Group", "member": [{"mbox": "mailto:ann@example.com"}]}),
                version
            ),
            Ok(())
        );
        let two = validate_agent(
            &json!({"mbox": "mailto:ann@example.com", "openid": "http://id.example.com/ann"}),
            version,
        );
        assert!(two.is_err_and(|e| e.path.is_empty() && e.message.contains("found 2")));
        let wrong = validate_agent(
            &json!({"objectType": "agent", "mbox": "mailto:ann@example.com"}),
            version,
        );
        assert!(wrong.is_err_and(|e| e.path == "objectType"));
        assert!(validate_agent(&json!("mailto:ann@example.com"), version).is_err());
        assert!(
            validate_agent(
                &json!({"mbox": "mailto:ann@example.com", "extra": 1}),
                version
            )
            .is_err_and(|e| e.path == "extra")
        );
    }
}
