//! The head commit of a repository's main branch.

use super::Bitbucket;
use crate::http::{FetchError, Fetcher};
use crate::providers::head_commit::{HeadCommit, RepoRef, conditional_sha};
use crate::providers::{Credential, segment};

/// `GET /repositories/{workspace}/{slug}/refs/branches/{branch}`, conditional on the last ETag.
pub(super) async fn head_commit(
    bitbucket: &Bitbucket,
    credential: &Credential,
    http: &Fetcher,
    repo: RepoRef<'_>,
) -> Result<HeadCommit, FetchError> {
    // full_name is `workspace/slug`; both parts are URL-safe slugs.
    let url = bitbucket.url(&format!(
        "repositories/{}/refs/branches/{}",
        repo.full_name,
        segment(repo.default_branch)
    ));
    let request = bitbucket.get(&url, credential);
    conditional_sha(http, request, repo.etag, "/target/hash").await
}
