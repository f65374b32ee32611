//! Parsing GitHub's documented sample payloads (the docs' "Webhook events and payloads", as
//! published in octokit/webhooks' payload examples), shortened to the fields around the ones
//! Tether reads; and payloads that must neither panic nor be half-understood.

use super::*;
use crate::providers::github::InstallationId;
use entities::Visibility;
use serde_json::{Value, json};

fn installation_id(id: i64) -> InstallationId {
    InstallationId::new(id).unwrap()
}

fn account(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "node_id": "MDQ6VXNlcjIxMDMxMDY3", "type": "User", "site_admin": false})
}

/// `installation.created` completing a request, as documented (timestamps as numbers).
fn installation_payload(action: &str) -> Value {
    json!({
        "action": action,
        "installation": {
            "id": 957387, "account": account("Codertocat", 21031067), "repository_selection": "selected",
            "access_tokens_url": "https://api.github.com/app/installations/957387/access_tokens",
            "app_id": 29310, "target_id": 21031067, "target_type": "User",
            "permissions": {"contents": "write", "metadata": "read"}, "events": [],
            "created_at": 1557933591, "updated_at": 1557933591, "single_file_name": null
        },
        "repositories": [{"id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
                          "name": "Hello-World", "full_name": "Codertocat/Hello-World", "private": false}],
        "requester": account("Codertocat", 21031067),
        "sender": account("Codertocat", 21031067)
    })
}

fn parsed(event: &str, payload: &Value) -> Event {
    parse(event, payload.to_string().as_bytes()).unwrap()
}

#[test]
fn installation_created_with_a_requester_names_the_requesting_user() {
    let Event::Installation(event) = parsed("installation", &installation_payload("created"))
    else {
        panic!("not an installation event");
    };
    assert_eq!(event.installation, installation_id(957387));
    assert_eq!(event.account.as_deref(), Some("Codertocat"));
    let InstallationAction::Created {
        requester: Some(requester),
    } = &event.action
    else {
        panic!("no requester: {event:?}");
    };
    assert_eq!(requester.user_id(), "21031067");
    assert_eq!(requester.login, "Codertocat");
}

#[test]
fn installation_actions_parse_and_others_are_ignored() {
    let mut plain = installation_payload("created");
    plain["requester"] = Value::Null;
    assert_eq!(
        parsed("installation", &plain),
        Event::Installation(InstallationEvent {
            installation: installation_id(957387),
            account: Some("Codertocat".into()),
            action: InstallationAction::Created { requester: None },
        })
    );
    for (action, expected) in [
        ("deleted", InstallationAction::Deleted),
        ("suspend", InstallationAction::Suspend),
        ("unsuspend", InstallationAction::Unsuspend),
        (
            "new_permissions_accepted",
            InstallationAction::NewPermissionsAccepted,
        ),
    ] {
        let mut payload = installation_payload(action);
        payload.as_object_mut().unwrap().remove("requester");
        let Event::Installation(event) = parsed("installation", &payload) else {
            panic!("{action} is not an installation event");
        };
        assert_eq!(event.action, expected);
        assert_eq!(
            parsed("installation", &payload).label(),
            format!("installation.{action}")
        );
    }
    assert_eq!(
        parsed("installation", &installation_payload("a_future_action")),
        Event::Ignored(Ignored {
            event: "installation".into(),
            action: Some("a_future_action".into()),
        })
    );
}

fn repositories_payload(action: &str, added: Value, removed: Value) -> Value {
    json!({
        "action": action,
        "installation": {"id": 2, "account": account("octocat", 1), "app_id": 5725,
                         "created_at": 1525109898, "updated_at": 1525109899},
        "repository_selection": "selected",
        "repositories_added": added,
        "repositories_removed": removed,
        "requester": null,
        "sender": account("octocat", 1)
    })
}

fn hello_world() -> Value {
    json!({"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "Hello-World",
           "full_name": "octocat/Hello-World", "private": false})
}

#[test]
fn installation_repositories_carry_exactly_the_repositories_added_or_removed() {
    let removed = parsed(
        "installation_repositories",
        &repositories_payload("removed", json!([]), json!([hello_world()])),
    );
    let expected = AnnouncedRepository {
        id: 1296269,
        name: "Hello-World".into(),
        full_name: "octocat/Hello-World".into(),
        private: false,
    };
    assert_eq!(
        removed,
        Event::Repositories(RepositoriesEvent {
            installation: installation_id(2),
            action: RepositoriesAction::Removed,
            added: Vec::new(),
            removed: vec![expected.clone()],
        })
    );
    let mut secret = hello_world();
    secret["private"] = json!(true);
    let Event::Repositories(added) = parsed(
        "installation_repositories",
        &repositories_payload("added", json!([secret]), Value::Null),
    ) else {
        panic!("not installation_repositories");
    };
    assert_eq!(added.action, RepositoriesAction::Added);
    assert!(added.removed.is_empty(), "null reads as none");
    let remote = added.added[0].to_remote(&url::Url::parse("https://github.com").unwrap());
    assert_eq!(remote.external_id, "1296269");
    assert_eq!(remote.visibility, Visibility::Private);
    assert_eq!(
        remote.web_url.as_deref(),
        Some("https://github.com/octocat/Hello-World")
    );
    assert_eq!(
        remote.clone_url.as_deref(),
        Some("https://github.com/octocat/Hello-World.git")
    );
    let enterprise =
        added.added[0].to_remote(&url::Url::parse("https://ghe.example.com/").unwrap());
    assert_eq!(
        enterprise.web_url.as_deref(),
        Some("https://ghe.example.com/octocat/Hello-World")
    );
}

/// A `repository` event as an app receives it (with `installation`), as documented.
fn repository_payload(action: &str) -> Value {
    json!({
        "action": action,
        "repository": {
            "id": 186853261, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMyNjE=", "name": "Hello-World",
            "full_name": "Octocoders/Hello-World", "private": false, "owner": account("Octocoders", 38302899),
            "html_url": "https://github.com/Octocoders/Hello-World", "description": null, "fork": true,
            "created_at": "2019-05-15T15:20:42Z", "pushed_at": "2019-05-15T15:20:33Z",
            "clone_url": "https://github.com/Octocoders/Hello-World.git", "size": 0, "language": null,
            "archived": false, "disabled": false, "license": null, "default_branch": "master",
            "topics": [], "visibility": "public"
        },
        "organization": {"login": "Octocoders", "id": 38302899},
        "sender": account("Codertocat", 21031067),
        "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    })
}

fn change(payload: &Value) -> RepositoryChange {
    match parsed("repository", payload) {
        Event::Repository(event) => {
            assert_eq!(event.installation, installation_id(1));
            assert_eq!(event.repository_id, 186853261);
            event.change
        }
        other => panic!("not a repository event: {other:?}"),
    }
}

#[test]
fn repository_events_become_the_change_they_make() {
    let mut renamed = repository_payload("renamed");
    renamed["changes"] = json!({"repository": {"name": {"from": "Hello-World"}}});
    let names = RepositoryChange::Names {
        name: "Hello-World".into(),
        full_name: "Octocoders/Hello-World".into(),
        web_url: Some("https://github.com/Octocoders/Hello-World".into()),
        clone_url: Some("https://github.com/Octocoders/Hello-World.git".into()),
    };
    assert_eq!(change(&renamed), names);
    let mut transferred = repository_payload("transferred");
    transferred["changes"] = json!({"owner": {"from": {"user": account("octocat", 1)}}});
    assert_eq!(change(&transferred), names);
    assert_eq!(
        parsed("repository", &transferred).label(),
        "repository.transferred"
    );
    assert_eq!(
        change(&repository_payload("archived")),
        RepositoryChange::Archived(true)
    );
    assert_eq!(
        change(&repository_payload("unarchived")),
        RepositoryChange::Archived(false)
    );
    assert_eq!(
        change(&repository_payload("publicized")),
        RepositoryChange::Visibility(Visibility::Public)
    );
    let mut privatized = repository_payload("privatized");
    privatized["repository"]["private"] = json!(true);
    privatized["repository"]["visibility"] = json!("private");
    assert_eq!(
        change(&privatized),
        RepositoryChange::Visibility(Visibility::Private)
    );
    privatized["repository"]["visibility"] = json!("internal");
    assert_eq!(
        change(&privatized),
        RepositoryChange::Visibility(Visibility::Internal)
    );
    assert_eq!(
        change(&repository_payload("deleted")),
        RepositoryChange::Deleted
    );
    let mut edited = repository_payload("edited");
    edited["changes"] = json!({"default_branch": {"from": "main"}});
    assert_eq!(
        change(&edited),
        RepositoryChange::DefaultBranch("master".into())
    );
}

#[test]
fn repository_events_tether_does_not_act_on_are_ignored() {
    let mut description = repository_payload("edited");
    description["changes"] = json!({"description": {"from": "old"}});
    for payload in [
        description,
        repository_payload("edited"),
        repository_payload("created"),
        repository_payload("a_future_action"),
    ] {
        assert!(
            matches!(parsed("repository", &payload), Event::Ignored(_)),
            "{payload}"
        );
    }
    let mut no_installation = repository_payload("renamed");
    no_installation
        .as_object_mut()
        .unwrap()
        .remove("installation");
    assert!(matches!(
        parsed("repository", &no_installation),
        Event::Ignored(_)
    ));
}

/// A `push` as documented (the repository's timestamps as numbers).
fn push_payload(reference: &str, after: &str) -> Value {
    json!({
        "ref": reference, "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "after": after,
        "created": false, "deleted": false, "forced": false, "base_ref": null,
        "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...000000000000",
        "commits": [], "head_commit": null,
        "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World",
                       "private": false, "created_at": 1557933565, "pushed_at": 1557933657,
                       "default_branch": "master", "master_branch": "master"},
        "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": account("Codertocat", 21031067),
        "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    })
}

#[test]
fn a_push_to_the_default_branch_carries_its_new_head_and_other_pushes_are_ignored() {
    let head = "0D1A26E67D8F5EAF1F6BA5C57FC3C7D91AC0FD1C";
    assert_eq!(
        parsed("push", &push_payload("refs/heads/master", head)),
        Event::Push(PushEvent {
            installation: installation_id(1),
            repository_id: 186853002,
            head: head.to_ascii_lowercase(),
        })
    );
    let zero = "0000000000000000000000000000000000000000";
    let mut deleted = push_payload("refs/heads/master", zero);
    deleted["deleted"] = json!(true);
    for payload in [
        push_payload("refs/heads/feature", head),
        push_payload("refs/tags/master", head),
        push_payload("refs/tags/simple-tag", zero),
        deleted,
    ] {
        assert!(
            matches!(parsed("push", &payload), Event::Ignored(_)),
            "{payload}"
        );
    }
    assert!(
        parse(
            "push",
            push_payload("refs/heads/master", "not-a-sha")
                .to_string()
                .as_bytes()
        )
        .is_err()
    );
}

#[test]
fn unknown_events_are_ignored_without_reading_the_body() {
    let event = parse("issues\n\u{1b}[31m", b"not even json").unwrap();
    assert_eq!(
        event,
        Event::Ignored(Ignored {
            event: "issues[31m".into(),
            action: None
        })
    );
    assert_eq!(parse("ping", b"{}").unwrap().label(), "ping");
    let long = "x".repeat(500);
    assert!(parse(&long, b"").unwrap().label().len() <= 64);
}

#[test]
fn malformed_payloads_are_errors_never_panics() {
    let mut negative = installation_payload("deleted");
    negative["installation"]["id"] = json!(-4);
    let mut stringly = installation_payload("deleted");
    stringly["installation"]["id"] = json!("957387");
    let mut huge = repository_payload("renamed");
    huge["repository"]["id"] = json!(1e300);
    for (event, body) in [
        ("installation", negative.to_string()),
        ("installation", stringly.to_string()),
        ("installation", "[]".to_owned()),
        (
            "installation_repositories",
            r#"{"action": "added"}"#.to_owned(),
        ),
        ("repository", huge.to_string()),
        ("push", "null".to_owned()),
        ("push", String::new()),
    ] {
        assert!(parse(event, body.as_bytes()).is_err(), "{event}: {body}");
    }
    // Every prefix of every sample, and arbitrary bytes, parse or fail: none panics.
    let samples = [
        ("installation", installation_payload("created")),
        (
            "installation_repositories",
            repositories_payload("added", json!([hello_world()]), json!([])),
        ),
        ("repository", repository_payload("renamed")),
        ("push", push_payload("refs/heads/master", &"a".repeat(40))),
    ];
    for (event, payload) in samples {
        let body = payload.to_string();
        for end in 0..body.len() {
            let _ = parse(event, &body.as_bytes()[..end]);
        }
        let _ = parse(event, &[0xff, 0x00, 0x7b]);
    }
}

#[test]
fn delivery_ids_are_short_visible_ascii() {
    let guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    assert_eq!(DeliveryId::parse(guid.as_bytes()).unwrap().as_str(), guid);
    for bad in [
        &b""[..],
        b"has space",
        b"new\nline",
        "é".as_bytes(),
        &[b'a'; 129],
    ] {
        assert_eq!(DeliveryId::parse(bad), None, "{bad:?}");
    }
    assert!(DeliveryId::parse(&[b'a'; 128]).is_some());
}
