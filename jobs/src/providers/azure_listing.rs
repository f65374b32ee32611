//! Listing an Azure DevOps organization: one request to the organization-level repositories
//! endpoint returns every Git repository of every project (it has no paging), each with its
//! project reference.

use super::super::deliver;
use crate::fetch::{FetchError, Fetcher};
use crate::listing::{PageSink, RemoteRepository, strip_user};
use entities::Visibility;
use serde::Deserialize;

/// Repositories handed to the writer at once.
const PAGE: usize = 100;

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct List<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
}

#[derive(Deserialize)]
struct Project {
    id: String,
    name: String,
    visibility: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    id: String,
    name: String,
    project: Project,
    default_branch: Option<String>,
    size: Option<i64>,
    remote_url: Option<String>,
    web_url: Option<String>,
    #[serde(default)]
    is_disabled: bool,
    #[serde(default)]
    is_fork: bool,
}

pub(super) struct OrganizationLister<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub api_version: &'a str,
    pub pat: &'a str,
    pub fetcher: &'a Fetcher,
}

fn to_remote(project: &Project, r: Repository) -> RemoteRepository {
    RemoteRepository {
        external_id: r.id,
        full_name: format!("{}/{}", project.name, r.name),
        name: r.name,
        web_url: r.web_url,
        clone_url: r.remote_url.map(|u| strip_user(&u)),
        default_branch: r
            .default_branch
            .map(|b| b.trim_start_matches("refs/heads/").to_owned()),
        visibility: match project.visibility.as_deref() {
            Some("public") => Visibility::Public,
            _ => Visibility::Private,
        },
        archived: r.is_disabled,
        fork: r.is_fork,
        language: None,
        size_kb: r.size.map(|b| b / 1024),
        topics: Vec::new(),
        last_pushed_at: None,
    }
}

impl OrganizationLister<'_> {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
    ) -> Result<(T, reqwest::header::HeaderMap), FetchError> {
        let request = self
            .client
            .get(url)
            .basic_auth("", Some(self.pat))
            .header(reqwest::header::ACCEPT, "application/json");
        let response = self.fetcher.send(request).await?;
        // A bad PAT gets a 203 sign-in page rather than a 401.
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        if response.status() == reqwest::StatusCode::NON_AUTHORITATIVE_INFORMATION || html {
            return Err(FetchError::Unauthorized(
                "Azure DevOps no longer accepts the personal access token: update it".into(),
            ));
        }
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|_| FetchError::Transient("Azure DevOps dropped the response".into()))?;
        let value = serde_json::from_slice(&body).map_err(|e| {
            FetchError::Protocol(format!("Azure DevOps answered unexpected JSON: {e}"))
        })?;
        Ok((value, headers))
    }

    pub async fn run(&self, pages: &PageSink) -> Result<(), FetchError> {
        let url = format!(
            "{}/_apis/git/repositories?api-version={}",
            self.base, self.api_version
        );
        let (list, _): (List<Repository>, _) = self.get(url).await?;
        // Handed over in pages so the writer batches them like every other provider's.
        let mut repositories = list.value.into_iter().peekable();
        while repositories.peek().is_some() {
            let page: Vec<RemoteRepository> = repositories
                .by_ref()
                .take(PAGE)
                .map(|r| {
                    let project = Project {
                        id: r.project.id.clone(),
                        name: r.project.name.clone(),
                        visibility: r.project.visibility.clone(),
                    };
                    to_remote(&project, r)
                })
                .collect();
            deliver(pages, page).await?;
        }
        Ok(())
    }
}
