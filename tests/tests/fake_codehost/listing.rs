//! Each provider lists exactly a scope's repositories, page by page, with its own headers.

use crate::{azure, github_installation_token, gitlab, header, link, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
async fn a_gitlab_group_lists_exactly_its_projects_with_pagination_headers() {
    let host = start(250).await;
    let mut next = Some(format!(
        "{}/api/v4/groups/ghost%2Fmygroup/projects?include_subgroups=true&order_by=id&sort=asc\
         &statistics=true&with_shared=false&per_page=100&page=1",
        host.url()
    ));
    let mut ids = HashSet::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let response = gitlab(&url, "glpat-any").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        pages += 1;
        assert_eq!(header(&headers, "x-total"), "250");
        assert_eq!(header(&headers, "x-total-pages"), "3");
        assert_eq!(header(&headers, "x-per-page"), "100");
        assert_eq!(header(&headers, "x-page"), pages.to_string());
        assert_eq!(header(&headers, "ratelimit-limit"), "2000");
        assert!(
            header(&headers, "ratelimit-remaining")
                .parse::<u64>()
                .unwrap()
                > 0
        );
        assert!(link(&headers, "first").is_some() && link(&headers, "last").is_some());
        let projects: Vec<Value> = response.json().await.unwrap();
        for p in &projects {
            assert!(ids.insert(p["id"].as_u64().unwrap()));
            assert!(
                p["path_with_namespace"]
                    .as_str()
                    .unwrap()
                    .starts_with("ghost/mygroup/")
            );
            assert_eq!(p["default_branch"], "main");
            assert!(p["statistics"]["repository_size"].as_u64().unwrap() > 0);
        }
        match header(&headers, "x-next-page") {
            "" => assert!(link(&headers, "next").is_none()),
            n => {
                assert_eq!(n, (pages + 1).to_string());
                next = link(&headers, "next");
            }
        }
    }
    assert_eq!((pages, ids.len()), (3, 250));
}

#[tokio::test]
async fn a_gitlab_group_past_ten_thousand_projects_has_no_totals_but_a_next_page() {
    let host = start(10_001).await;
    let page = |n: u64| {
        format!(
            "{}/api/v4/groups/ghost%2Fmygroup/projects?include_subgroups=true&order_by=id&sort=asc\
             &per_page=100&page={n}",
            host.url()
        )
    };
    let response = gitlab(&page(1), "glpat-any").await;
    let headers = response.headers().clone();
    // As GitLab: past 10,000 records, no x-total, no x-total-pages, no `last` link.
    assert!(headers.get("x-total").is_none() && headers.get("x-total-pages").is_none());
    assert!(link(&headers, "last").is_none());
    assert_eq!(header(&headers, "x-next-page"), "2");
    let last = gitlab(&page(101), "glpat-any").await;
    assert_eq!(header(last.headers(), "x-next-page"), "");
    let projects: Vec<Value> = last.json().await.unwrap();
    assert_eq!(projects.len(), 1);
}

#[tokio::test]
async fn gitlab_token_group_and_membership_checks_answer_like_gitlab() {
    let host = start(1).await;
    let base = format!("{}/api/v4", host.url());
    let me: Value = gitlab(&format!("{base}/personal_access_tokens/self"), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scopes"], json!(["read_api", "read_repository"]));
    assert_eq!(
        (me["active"].clone(), me["user_id"].clone()),
        (json!(true), json!(1))
    );
    let group: Value = gitlab(&format!("{base}/groups/ghost%2Fmygroup"), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["full_path"], "ghost/mygroup");
    let member: Value = gitlab(&format!("{base}/groups/{}/members/all/1", group["id"]), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(member["access_level"], 30);
}

#[tokio::test]
async fn a_bitbucket_workspace_lists_exactly_its_repositories_following_next() {
    let host = start(250).await;
    let mut next = Some(format!("{}/2.0/repositories/ghost?pagelen=100", host.url()));
    let mut uuids = HashSet::new();
    while let Some(url) = next.take() {
        let response = reqwest::Client::new()
            .get(&url)
            .basic_auth("me@example.com", Some("ATATT-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(response.headers(), "x-ratelimit-limit"), "10000");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["size"], 250);
        assert_eq!(page["pagelen"], 100);
        for repo in page["values"].as_array().unwrap() {
            assert!(uuids.insert(repo["uuid"].as_str().unwrap().to_owned()));
            assert_eq!(repo["type"], "repository");
            assert!(repo["full_name"].as_str().unwrap().starts_with("ghost/"));
            assert_eq!(repo["mainbranch"]["name"], "main");
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(uuids.len(), 250);
}

#[tokio::test]
async fn an_azure_organization_lists_its_repositories_project_by_project() {
    let host = start(120).await;
    let base = format!("{}/ghost", host.url());
    let mut projects = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let mut url = format!("{base}/_apis/projects?api-version=7.1&$top=2");
        if let Some(token) = &continuation {
            url.push_str(&format!("&continuationToken={token}"));
        }
        let response = azure(&url, "pat").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("x-ratelimit-remaining"));
        continuation = response
            .headers()
            .get("x-ms-continuationtoken")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        projects.extend(page["value"].as_array().unwrap().iter().cloned());
        if continuation.is_none() {
            break;
        }
    }
    assert_eq!(projects.len(), 3, "120 repositories at 50 per project");
    let mut ids = HashSet::new();
    for project in &projects {
        assert_eq!(project["state"], "wellFormed");
        let url = format!(
            "{base}/{}/_apis/git/repositories?api-version=7.1",
            project["id"].as_str().unwrap()
        );
        let list: Value = azure(&url, "pat").await.json().await.unwrap();
        for repo in list["value"].as_array().unwrap() {
            assert_eq!(repo["project"]["id"], project["id"]);
            assert_eq!(repo["defaultBranch"], "refs/heads/main");
            assert!(ids.insert(repo["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(ids.len(), 120);
    let all: Value = azure(
        &format!("{base}/_apis/git/repositories?api-version=7.1"),
        "pat",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all["count"], 120);
}

#[tokio::test]
async fn a_github_installation_lists_exactly_its_repositories_following_link() {
    let host = start(250).await;
    let token = github_installation_token(&host.url(), 42).await;
    let client = reqwest::Client::new();
    let mut next = Some(format!(
        "{}/installation/repositories?per_page=100",
        host.url()
    ));
    let mut ids = HashSet::new();
    while let Some(url) = next.take() {
        let response = client
            .get(&url)
            .header("authorization", format!("token {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "x-ratelimit-limit"), "15000");
        next = link(&headers, "next");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["total_count"], 250);
        for repo in page["repositories"].as_array().unwrap() {
            assert!(ids.insert(repo["id"].as_u64().unwrap()));
            assert_eq!(repo["owner"]["login"], "org-42");
        }
    }
    assert_eq!(ids.len(), 250);

    let installations: Value = client
        .get(format!("{}/user/installations?per_page=100", host.url()))
        .bearer_auth("ghu_user")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<u64> = installations["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![1, 42]);
}

#[tokio::test]
async fn an_installation_token_that_was_never_minted_is_refused() {
    let host = start(1).await;
    let response = reqwest::Client::new()
        .get(format!("{}/installation/repositories", host.url()))
        .bearer_auth("ghs_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = reqwest::Client::new()
        .post(format!("{}/app/installations/1/access_tokens", host.url()))
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
