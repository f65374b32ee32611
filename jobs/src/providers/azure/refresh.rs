//! The head commit of a repository's default branch.

use super::{AzureDevOps, OrganizationUrl, api_version};
use crate::http::{FetchError, Fetcher};
use crate::providers::head_commit::{HeadCommit, RepoRef, conditional_sha};
use crate::providers::{Credential, segment};

/// `GET {project}/_apis/git/repositories/{id}/refs?filter=heads/{branch}`, conditional on the
/// last ETag.
pub(super) async fn head_commit(
    azure: &AzureDevOps,
    org: &OrganizationUrl,
    credential: &Credential,
    http: &Fetcher,
    repo: RepoRef<'_>,
) -> Result<HeadCommit, FetchError> {
    let endpoint = azure.endpoint(org);
    let project = repo.full_name.split('/').next().unwrap_or_default();
    let url = format!(
        "{}/{}/_apis/git/repositories/{}/refs?filter=heads/{}&api-version={}",
        endpoint.base,
        segment(project),
        repo.external_id,
        segment(repo.default_branch),
        api_version(org)
    );
    let request = endpoint.get(&url, credential);
    conditional_sha(http, request, repo.etag, "/value/0/objectId").await
}
