//! The head commit of a repository's default branch.

use super::GitHub;
use crate::http::{FetchError, Fetcher};
use crate::providers::head_commit::{HeadCommit, RepoRef, conditional_sha};
use crate::providers::segment;
use secrecy::{ExposeSecret, SecretString};

/// `GET /repos/{owner}/{repo}/branches/{branch}`, conditional on the last ETag: a conditional
/// request answered 304 does not count against GitHub's rate limit.
pub(super) async fn head_commit(
    github: &GitHub,
    token: &SecretString,
    http: &Fetcher,
    repo: RepoRef<'_>,
) -> Result<HeadCommit, FetchError> {
    let url = format!(
        "{}/repos/{}/branches/{}",
        github.api(),
        repo.full_name,
        segment(repo.default_branch)
    );
    let request = github.request(reqwest::Method::GET, &url, token.expose_secret());
    conditional_sha(http, request, repo.etag, "/commit/sha").await
}
