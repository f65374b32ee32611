//! Connections, repositories, findings and discovery runs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    OrganizationId,
    Provider,
    Name,
    Status,
    StatusMessage,
    ScopeKey,
    Host,
    GroupPath,
    WorkspaceId,
    OrganizationUrl,
    InstanceUrl,
    InstallationId,
    Credential,
    CredentialEmail,
    TokenHint,
    LastDiscoveredAt,
    NextDiscoveryAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Id,
    OrganizationId,
    ConnectionId,
    ScopeKey,
    Provider,
    Host,
    ExternalId,
    Name,
    FullName,
    WebUrl,
    CloneUrl,
    DefaultBranch,
    Visibility,
    Archived,
    Fork,
    Language,
    SizeKb,
    Topics,
    LastPushedAt,
    HeadCommitSha,
    Etag,
    State,
    ScanEnabled,
    DetachedState,
    DetachedScanEnabled,
    FirstSeenAt,
    RefreshedAt,
}

#[derive(DeriveIden)]
enum Findings {
    Table,
    Id,
    OrganizationId,
    RepositoryId,
    Title,
    Severity,
    Path,
    Line,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DiscoveryRuns {
    Table,
    Id,
    OrganizationId,
    ConnectionId,
    Trigger,
    StartedAt,
    FinishedAt,
    Outcome,
    Added,
    Updated,
    Unchanged,
    Gone,
    ApiRequests,
    RateLimitWaits,
    Issues,
}

fn ts<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn ts_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}

fn counter<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Connections::Table)
                    .col(
                        ColumnDef::new(Connections::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Connections::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Connections::Provider)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Connections::Name).string().not_null())
                    .col(
                        ColumnDef::new(Connections::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(text_null(Connections::StatusMessage))
                    .col(ColumnDef::new(Connections::ScopeKey).string().not_null())
                    .col(ColumnDef::new(Connections::Host).string().not_null())
                    .col(text_null(Connections::GroupPath))
                    .col(text_null(Connections::WorkspaceId))
                    .col(text_null(Connections::OrganizationUrl))
                    .col(text_null(Connections::InstanceUrl))
                    .col(
                        ColumnDef::new(Connections::InstallationId)
                            .big_integer()
                            .null(),
                    )
                    .col(text_null(Connections::Credential))
                    .col(text_null(Connections::CredentialEmail))
                    .col(text_null(Connections::TokenHint))
                    .col(ts_null(Connections::LastDiscoveredAt))
                    .col(ts_null(Connections::NextDiscoveryAt))
                    .col(ts(Connections::CreatedAt))
                    .col(ts(Connections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_connections_organization",
                        (Connections::Table, Connections::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_connections_organization_scope",
                Connections::Table,
                &["organization_id", "scope_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_connections_next_discovery",
                Connections::Table,
                &["next_discovery_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Repositories::Table)
                    .col(
                        ColumnDef::new(Repositories::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Repositories::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Repositories::ConnectionId).uuid().null())
                    .col(ColumnDef::new(Repositories::ScopeKey).string().not_null())
                    .col(
                        ColumnDef::new(Repositories::Provider)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Repositories::Host).string().not_null())
                    .col(ColumnDef::new(Repositories::ExternalId).string().not_null())
                    .col(ColumnDef::new(Repositories::Name).string().not_null())
                    .col(ColumnDef::new(Repositories::FullName).string().not_null())
                    .col(text_null(Repositories::WebUrl))
                    .col(text_null(Repositories::CloneUrl))
                    .col(text_null(Repositories::DefaultBranch))
                    .col(
                        ColumnDef::new(Repositories::Visibility)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Repositories::Archived).boolean().not_null())
                    .col(ColumnDef::new(Repositories::Fork).boolean().not_null())
                    .col(text_null(Repositories::Language))
                    .col(ColumnDef::new(Repositories::SizeKb).big_integer().null())
                    .col(ColumnDef::new(Repositories::Topics).json().not_null())
                    .col(ts_null(Repositories::LastPushedAt))
                    .col(text_null(Repositories::HeadCommitSha))
                    .col(text_null(Repositories::Etag))
                    .col(
                        ColumnDef::new(Repositories::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Repositories::ScanEnabled)
                            .boolean()
                            .not_null(),
                    )
                    // What state and scan flag to restore when the scope is connected again.
                    .col(
                        ColumnDef::new(Repositories::DetachedState)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Repositories::DetachedScanEnabled)
                            .boolean()
                            .null(),
                    )
                    .col(ts(Repositories::FirstSeenAt))
                    .col(ts(Repositories::RefreshedAt))
                    .foreign_key(&mut fk(
                        "fk_repositories_organization",
                        (Repositories::Table, Repositories::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    // Deleting a connection detaches its repositories; it never deletes them.
                    .foreign_key(&mut fk(
                        "fk_repositories_connection",
                        (Repositories::Table, Repositories::ConnectionId),
                        (Connections::Table, Connections::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_repositories_organization_host_external",
                Repositories::Table,
                &["organization_id", "host", "external_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_repositories_connection",
                Repositories::Table,
                &["connection_id", "id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_repositories_organization_scope",
                Repositories::Table,
                &["organization_id", "scope_key"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Findings::Table)
                    .col(ColumnDef::new(Findings::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Findings::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Findings::RepositoryId).uuid().not_null())
                    .col(ColumnDef::new(Findings::Title).string().not_null())
                    .col(ColumnDef::new(Findings::Severity).string_len(16).not_null())
                    .col(text_null(Findings::Path))
                    .col(ColumnDef::new(Findings::Line).integer().null())
                    .col(text_null(Findings::Detail))
                    .col(ts(Findings::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_findings_organization",
                        (Findings::Table, Findings::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_findings_repository",
                        (Findings::Table, Findings::RepositoryId),
                        (Repositories::Table, Repositories::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_findings_repository",
                Findings::Table,
                &["repository_id", "id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DiscoveryRuns::Table)
                    .col(
                        ColumnDef::new(DiscoveryRuns::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DiscoveryRuns::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DiscoveryRuns::ConnectionId).uuid().null())
                    .col(
                        ColumnDef::new(DiscoveryRuns::Trigger)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ts(DiscoveryRuns::StartedAt))
                    .col(ts_null(DiscoveryRuns::FinishedAt))
                    .col(ColumnDef::new(DiscoveryRuns::Outcome).string_len(16).null())
                    .col(counter(DiscoveryRuns::Added))
                    .col(counter(DiscoveryRuns::Updated))
                    .col(counter(DiscoveryRuns::Unchanged))
                    .col(counter(DiscoveryRuns::Gone))
                    .col(counter(DiscoveryRuns::ApiRequests))
                    .col(counter(DiscoveryRuns::RateLimitWaits))
                    .col(ColumnDef::new(DiscoveryRuns::Issues).json().not_null())
                    .foreign_key(&mut fk(
                        "fk_discovery_runs_organization",
                        (DiscoveryRuns::Table, DiscoveryRuns::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_discovery_runs_connection",
                        (DiscoveryRuns::Table, DiscoveryRuns::ConnectionId),
                        (Connections::Table, Connections::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_discovery_runs_connection",
                DiscoveryRuns::Table,
                &["connection_id", "started_at"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DiscoveryRuns::Table.into_iden(),
            Findings::Table.into_iden(),
            Repositories::Table.into_iden(),
            Connections::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
