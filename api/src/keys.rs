//! The encryption keyring: from `TETHER_ENCRYPTION_KEYS`, or, when that is unset, from a key file
//! generated (mode 0600) on first start. `tether keys rotate` re-seals every credential.

use crate::config::KeySource;
use entities::{
    KeyId, Keyring, KeyringError, SealContext, SealedSecret, connection, linked_account,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::path::Path;

/// Why the keyring could not be loaded or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The keys are malformed.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// A stored credential does not open (wrong key set, or tampered row).
    #[error("{table} row {row} does not open with the configured keys: {source}")]
    Unreadable {
        /// Table.
        table: &'static str,
        /// Row id.
        row: uuid::Uuid,
        /// Cause.
        source: KeyringError,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// Rotation needs a key file; with `TETHER_ENCRYPTION_KEYS` the operator adds the new key.
    #[error("{0}")]
    Unsupported(String),
}

fn io(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the keyring, generating the key file when it does not exist yet.
pub fn load(source: &KeySource) -> Result<Keyring, KeyError> {
    match source {
        KeySource::Configured(spec) => Ok(Keyring::parse(spec)?),
        KeySource::File(path) => {
            if !path.exists() {
                let entry = Keyring::generate_entry(&new_key_id());
                write_key_file(path, entry.expose_secret())?;
                tracing::info!(path = %path.display(), "generated a new encryption key file");
            }
            warn_if_readable_by_others(path);
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            Ok(Keyring::parse(&SecretString::from(text))?)
        }
    }
}

fn new_key_id() -> KeyId {
    let id = format!("k{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    KeyId::parse(&id).unwrap_or_else(|_| unreachable!("generated key ids are valid"))
}

fn write_key_file(path: &Path, contents: &str) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "key file is readable by other users; chmod 600 it");
    }
}

/// What a rotation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// Credentials re-sealed under the newest key.
    pub resealed: usize,
    /// Credentials already under it.
    pub current: usize,
}

/// With a key file, adds a new key in front; then re-seals every credential under the newest key.
pub async fn rotate(
    db: &DatabaseConnection,
    source: &KeySource,
) -> Result<(Keyring, RotationReport), KeyError> {
    let ring = match source {
        KeySource::File(path) => {
            // Refuse to touch a key file that does not load.
            load(source)?;
            let existing = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            let entry = Keyring::generate_entry(&new_key_id());
            write_key_file(
                path,
                &format!("{}\n{}", entry.expose_secret(), existing.trim()),
            )?;
            load(source)?
        }
        KeySource::Configured(spec) => Keyring::parse(spec)?,
    };
    let report = reseal_all(db, &ring).await?;
    Ok((ring, report))
}

/// Re-seals every stored credential that is not under the keyring's primary key. Each write is
/// conditional on the row still holding the ciphertext that was read, so a credential updated
/// meanwhile is never overwritten with the old secret (it is already under the new key).
pub async fn reseal_all(
    db: &DatabaseConnection,
    ring: &Keyring,
) -> Result<RotationReport, KeyError> {
    let mut report = RotationReport::default();
    let connections = connection::Entity::find()
        .filter(connection::Column::Credential.is_not_null())
        .all(db)
        .await?;
    for row in connections {
        let Some(sealed) = row.credential else {
            continue;
        };
        let context = connection::credential_context(row.id);
        let Some(fresh) = reseal(ring, &sealed, context, "connections", row.id)? else {
            report.current += 1;
            continue;
        };
        let written = connection::Entity::update_many()
            .col_expr(connection::Column::Credential, Expr::value(fresh))
            .filter(connection::Column::Id.eq(row.id))
            .filter(connection::Column::Credential.eq(sealed))
            .exec(db)
            .await?;
        report.tally(written.rows_affected);
    }
    let accounts = linked_account::Entity::find()
        .filter(linked_account::Column::AccessToken.is_not_null())
        .all(db)
        .await?;
    for row in accounts {
        let Some(sealed) = row.access_token else {
            continue;
        };
        let context = SealContext::new(
            linked_account::SEAL_TABLE,
            row.id,
            linked_account::SEAL_COLUMN,
        );
        let Some(fresh) = reseal(ring, &sealed, context, "linked_accounts", row.id)? else {
            report.current += 1;
            continue;
        };
        let written = linked_account::Entity::update_many()
            .col_expr(linked_account::Column::AccessToken, Expr::value(fresh))
            .filter(linked_account::Column::Id.eq(row.id))
            .filter(linked_account::Column::AccessToken.eq(sealed))
            .exec(db)
            .await?;
        report.tally(written.rows_affected);
    }
    Ok(report)
}

impl RotationReport {
    fn tally(&mut self, rows_affected: u64) {
        if rows_affected == 1 {
            self.resealed += 1;
        } else {
            // Changed since it was read: whoever changed it sealed it under the current key.
            self.current += 1;
        }
    }
}

fn reseal(
    ring: &Keyring,
    sealed: &SealedSecret,
    context: SealContext,
    table: &'static str,
    row: uuid::Uuid,
) -> Result<Option<SealedSecret>, KeyError> {
    if ring.is_current(sealed) {
        return Ok(None);
    }
    let secret = ring
        .open(sealed, context)
        .map_err(|source| KeyError::Unreadable { table, row, source })?;
    ring.seal(&secret, context)
        .map(Some)
        .map_err(|source| KeyError::Unreadable { table, row, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tether-keys-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tether.key");
        let first = load(&KeySource::File(path.clone())).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load(&KeySource::File(path.clone())).unwrap();
        assert_eq!(first.primary_id(), again.primary_id());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
