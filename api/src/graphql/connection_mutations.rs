//! Connection mutations: parse inputs into domain types, then hand over to the service.

use super::context::{connection_manager, state};
use super::errors::ApiResult;
use super::ids::{self, Kind};
use super::types::{ConnectionNode, UserError, UserErrorCode};
use crate::auth::Viewer;
use crate::config::github::APP_NEEDS;
use crate::services::Failure;
use crate::services::connections::{self, EmailChange, NewConnection};
use crate::services::github_flow::FlowError;
use crate::services::linked_accounts;
use crate::state::AppState;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use jobs::providers::Credential;
use jobs::providers::azure::OrganizationUrl;
use jobs::providers::bitbucket::WorkspaceId;
use jobs::providers::github::InstallationId;
use jobs::providers::gitlab::{GitlabGroup, GroupPath, InstanceUrl};
use jobs::{AccessToken, AccountEmail, Scope};

/// Input of `createGitLabConnection`.
#[derive(InputObject)]
pub struct CreateGitLabConnectionInput {
    /// Group path, e.g. `ghost/mygroup` for https://gitlab.com/ghost/mygroup.
    pub group_path: String,
    /// Self-managed instance URL; omit for the default instance.
    pub instance_url: Option<String>,
    /// Access token with `read_api` and `read_repository`, role Reporter or higher.
    pub token: String,
    /// Display name (defaults to the group's name).
    pub name: Option<String>,
}

/// Input of `createBitbucketConnection`.
#[derive(InputObject)]
pub struct CreateBitbucketConnectionInput {
    /// Workspace ID, e.g. `ghost` for https://bitbucket.org/ghost.
    pub workspace_id: String,
    /// A workspace/project access token, or an Atlassian API token (with `email`).
    pub token: String,
    /// The Atlassian account email, when `token` is an API token.
    pub email: Option<String>,
    /// Display name (defaults to the workspace ID).
    pub name: Option<String>,
}

/// Input of `createAzureDevOpsConnection`.
#[derive(InputObject)]
pub struct CreateAzureDevOpsConnectionInput {
    /// `https://dev.azure.com/{org}`, `https://{org}.visualstudio.com` or a collection URL.
    pub organization_url: String,
    /// Personal access token with Code (read) and Project and Team (read).
    pub token: String,
    /// Display name (defaults to the organization name).
    pub name: Option<String>,
}

/// Input of `createGitHubConnection`.
#[derive(InputObject)]
pub struct CreateGitHubConnectionInput {
    /// The Tether GitHub App installation id.
    pub installation_id: ID,
    /// Display name (defaults to the installation's account).
    pub name: Option<String>,
}

/// Input of `updateConnectionCredential`.
#[derive(InputObject)]
pub struct UpdateConnectionCredentialInput {
    /// The connection.
    pub id: ID,
    /// The new token.
    pub token: String,
    /// Bitbucket only: the account email for an API token; omit to keep the stored one,
    /// `""` to drop it (for a workspace access token).
    pub email: Option<String>,
}

/// Input of `syncConnection` and `deleteConnection`.
#[derive(InputObject)]
pub struct ConnectionIdInput {
    /// The connection.
    pub id: ID,
}

/// Result of the mutations that return a connection.
#[derive(SimpleObject, Default)]
pub struct ConnectionPayload {
    /// The connection, when the mutation succeeded.
    pub connection: Option<ConnectionNode>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Result of `deleteConnection`.
#[derive(SimpleObject, Default)]
pub struct DeleteConnectionPayload {
    /// The deleted connection's id.
    pub deleted_connection_id: Option<ID>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

impl ConnectionPayload {
    fn from_result(result: Result<entities::connection::Model, Failure>) -> ApiResult<Self> {
        match result {
            Ok(model) => Ok(Self {
                connection: Some(ConnectionNode(model)),
                user_errors: vec![],
            }),
            Err(Failure::User(err)) => Ok(Self::invalid(err)),
            Err(Failure::Api(err)) => Err(err),
        }
    }

    fn invalid(err: impl Into<UserError>) -> Self {
        Self {
            connection: None,
            user_errors: vec![err.into()],
        }
    }
}

/// Collects every input error at once, so a form can show them together.
fn parsed<A, B>(
    a: Result<A, jobs::InvalidInput>,
    b: Result<B, jobs::InvalidInput>,
) -> Result<(A, B), Vec<UserError>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err([a.err(), b.err()]
            .into_iter()
            .flatten()
            .map(UserError::from)
            .collect()),
    }
}

async fn create(
    state: &AppState,
    viewer: &Viewer,
    new: Result<NewConnection, Vec<UserError>>,
) -> ApiResult<ConnectionPayload> {
    match new {
        Ok(new) => ConnectionPayload::from_result(connections::create(state, viewer, new).await),
        Err(errors) => Ok(ConnectionPayload {
            connection: None,
            user_errors: errors,
        }),
    }
}

fn name_of(raw: Option<&str>) -> Result<Option<String>, Vec<UserError>> {
    connections::parse_name(raw).map_err(|e| vec![e])
}

/// Connection mutations (admins and owners).
#[derive(Default)]
pub struct ConnectionMutations;

#[Object]
impl ConnectionMutations {
    /// Connects a GitLab group (and its subgroups) after checking the token live.
    #[graphql(name = "createGitLabConnection")]
    async fn create_gitlab_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateGitLabConnectionInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let instance = input
            .instance_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(InstanceUrl::parse)
            .transpose();
        let new = (|| {
            let name = name_of(input.name.as_deref())?;
            let ((group, token), instance) = match (
                parsed(
                    GroupPath::parse(&input.group_path),
                    AccessToken::parse(&input.token),
                ),
                instance,
            ) {
                (Ok(pair), Ok(instance)) => (pair, instance),
                (pair, instance) => {
                    let mut errors = pair.err().unwrap_or_default();
                    errors.extend(instance.err().map(UserError::from));
                    return Err(errors);
                }
            };
            Ok(NewConnection {
                scope: Scope::Gitlab(GitlabGroup { instance, group }),
                credential: Credential { token, email: None },
                store_credential: true,
                name,
            })
        })();
        create(state(ctx)?, viewer, new).await
    }

    /// Connects a Bitbucket Cloud workspace after checking the token live.
    async fn create_bitbucket_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateBitbucketConnectionInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let new = (|| {
            let name = name_of(input.name.as_deref())?;
            let email = input
                .email
                .as_deref()
                .filter(|e| !e.trim().is_empty())
                .map(|e| AccountEmail::parse(e, "email"))
                .transpose()
                .map_err(|e| vec![UserError::from(e)])?;
            let (workspace, token) = parsed(
                WorkspaceId::parse(&input.workspace_id),
                AccessToken::parse(&input.token),
            )?;
            Ok(NewConnection {
                scope: Scope::Bitbucket(workspace),
                credential: Credential { token, email },
                store_credential: true,
                name,
            })
        })();
        create(state(ctx)?, viewer, new).await
    }

    /// Connects an Azure DevOps organization (or Server collection) after checking the PAT live.
    #[graphql(name = "createAzureDevOpsConnection")]
    async fn create_azure_devops_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateAzureDevOpsConnectionInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let new = (|| {
            let name = name_of(input.name.as_deref())?;
            let (org, token) = parsed(
                OrganizationUrl::parse(&input.organization_url),
                AccessToken::parse(&input.token),
            )?;
            Ok(NewConnection {
                scope: Scope::AzureDevops(org),
                credential: Credential { token, email: None },
                store_credential: true,
                name,
            })
        })();
        create(state(ctx)?, viewer, new).await
    }

    /// Connects a Tether GitHub App installation; needs a linked GitHub account.
    #[graphql(name = "createGitHubConnection")]
    async fn create_github_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateGitHubConnectionInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let state = state(ctx)?;
        let installation = match InstallationId::parse(input.installation_id.as_str()) {
            Ok(id) => id,
            Err(err) => return Ok(ConnectionPayload::invalid(err)),
        };
        let name = match connections::parse_name(input.name.as_deref()) {
            Ok(name) => name,
            Err(err) => return Ok(ConnectionPayload::invalid(err)),
        };
        let missing = state.github.missing_of(&[APP_NEEDS]);
        if !missing.is_empty() {
            return Ok(ConnectionPayload::invalid(UserError::new(
                None,
                UserErrorCode::NotConfigured,
                FlowError::NotConfigured(missing).to_string(),
            )));
        }
        let Some(token) = linked_accounts::github_token(state, viewer).await? else {
            return Ok(ConnectionPayload::invalid(UserError::new(
                None,
                UserErrorCode::AccountNotLinked,
                "link your GitHub account first (githubLinkUrl, or GET /auth/github/link), then \
                 install the Tether GitHub App (githubAppInstallUrl)",
            )));
        };
        let new = NewConnection {
            scope: Scope::Github(installation),
            credential: Credential { token, email: None },
            store_credential: false,
            name,
        };
        create(state, viewer, Ok(new)).await
    }

    /// Replaces a connection's token after checking it live against the connection's scope.
    async fn update_connection_credential(
        &self,
        ctx: &Context<'_>,
        input: UpdateConnectionCredentialInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let id = ids::decode(&input.id, Kind::Connection)?;
        let token = match AccessToken::parse(&input.token) {
            Ok(token) => token,
            Err(err) => return Ok(ConnectionPayload::invalid(err)),
        };
        let email = match input.email.as_deref().map(str::trim) {
            None => EmailChange::Keep,
            Some("") => EmailChange::Clear,
            Some(raw) => match AccountEmail::parse(raw, "email") {
                Ok(email) => EmailChange::Set(email),
                Err(err) => return Ok(ConnectionPayload::invalid(err)),
            },
        };
        ConnectionPayload::from_result(
            connections::update_credential(state(ctx)?, viewer, id, token, email).await,
        )
    }

    /// Asks for a discovery now.
    async fn sync_connection(
        &self,
        ctx: &Context<'_>,
        input: ConnectionIdInput,
    ) -> ApiResult<ConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let id = ids::decode(&input.id, Kind::Connection)?;
        let model = connections::request_sync(state(ctx)?, viewer, id).await?;
        Ok(ConnectionPayload {
            connection: Some(ConnectionNode(model)),
            user_errors: vec![],
        })
    }

    /// Deletes a connection; its repositories and findings are kept, detached.
    async fn delete_connection(
        &self,
        ctx: &Context<'_>,
        input: ConnectionIdInput,
    ) -> ApiResult<DeleteConnectionPayload> {
        let viewer = connection_manager(ctx)?;
        let id = ids::decode(&input.id, Kind::Connection)?;
        connections::delete(state(ctx)?, viewer, id).await?;
        Ok(DeleteConnectionPayload {
            deleted_connection_id: Some(input.id),
            user_errors: vec![],
        })
    }
}
