//! Listing an Azure DevOps organization: one request to the organization-level repositories
//! endpoint returns every Git repository of every project (it has no paging), each with its
//! project reference. Where that endpoint is not found (older Azure DevOps Server, proxies that
//! only route project URLs), the projects are listed (`$top` pages following
//! `x-ms-continuationtoken`) and then each project's repositories, a few projects at a time.

use super::{Endpoint, is_sign_in_page};
use crate::http::{FetchError, Fetcher};
use crate::providers::repository::{deliver, strip_user};
use crate::providers::{Credential, PageSink, RemoteRepository};
use entities::Visibility;
use serde::Deserialize;

/// Repositories handed to the writer at once.
const PAGE: usize = 100;
/// Projects per page of the project list.
const PROJECTS_PER_PAGE: usize = 100;
/// Projects whose repositories are asked for at once.
const CONCURRENT_PROJECTS: usize = 4;

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

/// One listing of one organization.
pub(super) struct OrganizationLister<'a> {
    pub endpoint: Endpoint<'a>,
    pub api_version: &'a str,
    pub credential: &'a Credential,
    pub http: &'a Fetcher,
}

/// `listed_in`, when known, supplies the visibility the repository's own project reference lacks.
fn to_remote(r: Repository, listed_in: Option<&Project>) -> RemoteRepository {
    let public = r
        .project
        .visibility
        .as_deref()
        .or_else(|| listed_in.and_then(|p| p.visibility.as_deref()))
        == Some("public");
    RemoteRepository {
        external_id: r.id,
        full_name: format!("{}/{}", r.project.name, r.name),
        name: r.name,
        web_url: r.web_url,
        clone_url: r.remote_url.map(|u| strip_user(&u)),
        default_branch: r
            .default_branch
            .map(|b| b.trim_start_matches("refs/heads/").to_owned()),
        visibility: if public {
            Visibility::Public
        } else {
            Visibility::Private
        },
        // Azure DevOps has no archive; a disabled repository is one nobody can read.
        archived: false,
        disabled: r.is_disabled,
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
        let response = self
            .http
            .send(self.endpoint.get(&url, self.credential))
            .await?;
        // A bad PAT gets a 203 sign-in page rather than a 401.
        if is_sign_in_page(&response) {
            return Err(FetchError::Unauthorized(
                "Azure DevOps no longer accepts the personal access token: update it".into(),
            ));
        }
        let headers = response.headers().clone();
        Ok((self.http.read_json(response).await?, headers))
    }

    pub async fn run(&self, pages: &PageSink) -> Result<(), FetchError> {
        let url = format!(
            "{}/_apis/git/repositories?api-version={}",
            self.endpoint.base, self.api_version
        );
        match self.get::<List<Repository>>(url).await {
            Ok((list, _)) => deliver_all(pages, list.value, None).await,
            // Not routed (older servers, proxies), or too big to read at once: per project.
            Err(FetchError::NotFound(_) | FetchError::TooLarge(_)) => {
                self.project_by_project(pages).await
            }
            Err(err) => Err(err),
        }
    }

    async fn project_by_project(&self, pages: &PageSink) -> Result<(), FetchError> {
        use futures::StreamExt;
        let mut continuation: Option<String> = None;
        loop {
            let mut url = url::Url::parse(&format!("{}/_apis/projects", self.endpoint.base))
                .map_err(|e| FetchError::Protocol(format!("bad organization URL: {e}")))?;
            url.query_pairs_mut()
                .append_pair("api-version", self.api_version)
                .append_pair("$top", &PROJECTS_PER_PAGE.to_string());
            if let Some(token) = &continuation {
                url.query_pairs_mut()
                    .append_pair("continuationToken", token);
            }
            let (projects, headers): (List<Project>, _) = self.get(url.into()).await?;
            let mut listings = futures::stream::iter(projects.value)
                .map(|project| async move {
                    let url = format!(
                        "{}/{}/_apis/git/repositories?api-version={}",
                        self.endpoint.base, project.id, self.api_version
                    );
                    (self.get::<List<Repository>>(url).await, project)
                })
                .buffer_unordered(CONCURRENT_PROJECTS);
            while let Some((listing, project)) = listings.next().await {
                match listing {
                    Ok((list, _)) => deliver_all(pages, list.value, Some(&project)).await?,
                    // Deleted since the project list was read: nothing of it is left to list.
                    Err(FetchError::NotFound(_)) => {}
                    Err(err) => return Err(err),
                }
            }
            continuation = headers
                .get("x-ms-continuationtoken")
                .and_then(|v| v.to_str().ok())
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if continuation.is_none() {
                return Ok(());
            }
        }
    }
}

/// Hands `repositories` to the writer in pages, so it batches them like every other provider's;
/// `project` is the project they were listed in, when known.
async fn deliver_all(
    pages: &PageSink,
    repositories: Vec<Repository>,
    project: Option<&Project>,
) -> Result<(), FetchError> {
    let mut repositories = repositories.into_iter().peekable();
    while repositories.peek().is_some() {
        let page: Vec<RemoteRepository> = repositories
            .by_ref()
            .take(PAGE)
            .map(|r| to_remote(r, project))
            .collect();
        deliver(pages, page).await?;
    }
    Ok(())
}
