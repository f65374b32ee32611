//! The head commit of a project's default branch.

use super::{GitLab, GitlabGroup};
use crate::http::{FetchError, Fetcher};
use crate::providers::head_commit::{HeadCommit, RepoRef, conditional_sha};
use crate::providers::{Credential, segment};

/// `GET /projects/:id/repository/branches/:branch`, conditional on the last ETag.
pub(super) async fn head_commit(
    gitlab: &GitLab,
    scope: &GitlabGroup,
    credential: &Credential,
    http: &Fetcher,
    repo: RepoRef<'_>,
) -> Result<HeadCommit, FetchError> {
    let path = format!(
        "projects/{}/repository/branches/{}",
        repo.external_id,
        segment(repo.default_branch)
    );
    let request = gitlab.get(scope.instance.as_ref(), &path, credential);
    conditional_sha(http, request, repo.etag, "/commit/id").await
}
