//! Who is asking: device tokens (phones), web sessions (werkgroep and
//! partners), invites, passwords, and the one place where area isolation is
//! enforced ([`Principal::access`]).

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use chrono::{DateTime, Utc};
use kvo_api::{
    Role,
    wire::{AreaKind, DeviceSession, Me, Membership},
};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    cache::Cache,
    error::{Error, Result, module_error},
};

/// Why signing in or redeeming an invite is refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invite code unknown, expired or used up")]
    InviteCode,
    #[error("wrong e-mail address or password")]
    Credentials,
    /// Too many failed sign-ins for this account: wait this many seconds.
    #[error("too many failed sign-ins; retry after {0} s")]
    Throttled(u64),
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(AuthError);

/// Failed sign-ins of an account before it is slowed down.
pub const FREE_SIGNIN_FAILURES: i32 = 5;
/// The longest an account waits after failed sign-ins, in seconds.
pub const MAX_SIGNIN_BLOCK_SECS: f64 = 900.0;

/// How long a web session lasts.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::days(14);
/// How long a resolved token is trusted from memory before it is looked up again.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Crockford's base32 alphabet: no I, L, O or U, so codes survive being read aloud.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The SHA-256 digest under which a secret is stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A fresh bearer secret with a recognisable prefix (256 random bits).
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// `len` random characters of Crockford's base32 (5 bits each).
pub fn random_code(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// A fresh invite code like `KVO-7Q4M-XR2D-9KTB` (60 random bits).
pub fn new_invite_code() -> String {
    let chars = random_code(12);
    format!("KVO-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
}

/// Normalises a typed invite code: case, spaces, dashes, and the letters
/// people confuse with digits.
pub fn normalize_invite_code(raw: &str) -> String {
    let up: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    let body = up.strip_prefix("KV0").unwrap_or(&up);
    body.to_string()
}

/// Hashes a password with argon2id (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::rng().random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Checks a password against a stored PHC string.
async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Device { token_id: Uuid },
    Session { session_id: Uuid },
}

/// An authenticated person and the areas this credential reaches. A device
/// token reaches the one area it was issued for; a web session reaches all
/// of the person's areas.
#[derive(Debug, Clone)]
pub struct Principal {
    pub person_id: Uuid,
    pub memberships: Arc<[(Uuid, Role)]>,
    pub via: Via,
}

/// Proof that a principal may act in one area, with the role it holds there.
#[derive(Debug, Clone, Copy)]
pub struct AreaAccess {
    pub area_id: Uuid,
    pub person_id: Uuid,
    pub role: Role,
}

impl Principal {
    /// The one place area isolation is enforced: a person with no membership in
    /// `area_id` gets 404, exactly as if the area did not exist.
    pub fn access(&self, area_id: Uuid) -> Result<AreaAccess> {
        self.memberships
            .iter()
            .find(|(a, _)| *a == area_id)
            .map(|&(area_id, role)| AreaAccess { area_id, person_id: self.person_id, role })
            .ok_or(Error::NotFound)
    }

    /// Every area this credential reaches.
    pub fn areas(&self) -> impl Iterator<Item = AreaAccess> + '_ {
        self.memberships.iter().map(|&(area_id, role)| AreaAccess {
            area_id,
            person_id: self.person_id,
            role,
        })
    }
}

/// Resolved credentials, kept briefly in memory so the hot path (a phone
/// posting a report) does not look its token up every time. Revocation in
/// this process is immediate; in another process it takes at most `CACHE_TTL`.
pub struct AuthCache(Cache<Vec<u8>, Principal>);

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache(Cache::with_ttl(CACHE_TTL, 100_000))
    }
}

impl AuthCache {
    /// Forgets every resolved credential (after a change of memberships).
    pub fn forget_all(&self) {
        self.0.clear();
    }
}

/// The principal of a device token.
pub async fn device_principal(pool: &PgPool, cache: &AuthCache, token: &str) -> Result<Principal> {
    let key = hash_secret(token);
    if let Some(p) = cache.0.get(&key) {
        return Ok(p);
    }
    let row = sqlx::query!(
        "SELECT t.id, t.area_id, t.person_id, m.role
           FROM device_tokens t
           JOIN memberships m ON m.area_id = t.area_id AND m.person_id = t.person_id AND m.removed_at IS NULL
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        &key
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    let role = Role::from_code(&row.role).context("unknown role in database")?;
    let p = Principal {
        person_id: row.person_id,
        memberships: Arc::from([(row.area_id, role)]),
        via: Via::Device { token_id: row.id },
    };
    cache.0.put(key, p.clone());
    Ok(p)
}

/// The principal of a web session token.
pub async fn session_principal(pool: &PgPool, cache: &AuthCache, token: &str) -> Result<Principal> {
    let key = hash_secret(token);
    if let Some(p) = cache.0.get(&key) {
        return Ok(p);
    }
    let row = sqlx::query!(
        "SELECT id, person_id FROM web_sessions
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        &key
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    let (session_id, person_id) = (row.id, row.person_id);
    let memberships = memberships_of(pool, person_id).await?;
    let p = Principal {
        person_id,
        memberships: memberships.into_iter().map(|m| (m.area_id, m.role)).collect(),
        via: Via::Session { session_id },
    };
    cache.0.put(key, p.clone());
    Ok(p)
}

/// A person's memberships with the areas' names, sorted by area name.
pub async fn memberships_of(pool: &PgPool, person_id: Uuid) -> anyhow::Result<Vec<Membership>> {
    let rows = sqlx::query!(
        "SELECT a.id, a.name, a.kind, m.role FROM memberships m JOIN areas a ON a.id = m.area_id
          WHERE m.person_id = $1 AND m.removed_at IS NULL ORDER BY a.name",
        person_id
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Membership {
                area_id: r.id,
                area_name: r.name,
                area_kind: AreaKind::from_code(&r.kind).context("unknown area kind")?,
                role: Role::from_code(&r.role).context("unknown role")?,
            })
        })
        .collect()
}

/// `GET /api/v1/me` for a principal.
pub async fn me(pool: &PgPool, p: &Principal) -> Result<Me> {
    let display_name: String = sqlx::query_scalar("SELECT display_name FROM people WHERE id = $1")
        .bind(p.person_id)
        .fetch_one(pool)
        .await?;
    let memberships = memberships_of(pool, p.person_id)
        .await?
        .into_iter()
        .filter(|m| p.access(m.area_id).is_ok())
        .collect();
    Ok(Me { person_id: p.person_id, display_name, memberships })
}

/// Redeems an invite: creates the person, their membership and a device token.
pub async fn redeem_invite(
    pool: &PgPool,
    code: &str,
    display_name: Option<&str>,
    device_name: Option<&str>,
) -> Result<DeviceSession, AuthError> {
    let mut tx = pool.begin().await?;
    let Some(invite) = sqlx::query!(
        "SELECT i.area_id, i.id, i.role, a.name FROM invites i JOIN areas a ON a.id = i.area_id
          WHERE i.code_hash = $1 AND i.expires_at > now() AND i.uses < i.max_uses
            AND i.revoked_at IS NULL AND a.archived_at IS NULL
          FOR UPDATE OF i",
        hash_secret(&normalize_invite_code(code))
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Err(AuthError::InviteCode);
    };
    let (area_id, invite_id, area_name) = (invite.area_id, invite.id, invite.name);
    let role = Role::from_code(&invite.role).context("unknown role in invite")?;
    let person_id = Uuid::new_v4();
    let name = display_name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(role.code());
    let name: String = name.chars().take(200).collect();
    let device: Option<String> = device_name.map(|d| d.chars().take(200).collect());
    sqlx::query("UPDATE invites SET uses = uses + 1 WHERE area_id = $1 AND id = $2")
        .bind(area_id)
        .bind(invite_id)
        .execute(&mut *tx)
        .await?;
    let (_, token) =
        new_member_device(&mut tx, area_id, person_id, &name, role, device.as_deref(), "kvod").await?;
    tx.commit().await?;
    Ok(DeviceSession { token, person_id, area_id, area_name, role })
}

/// A new person `person_id` named `name`, a member of `area_id` with `role`,
/// holding one new device token (a phone joining, an Open311 key). Returns
/// the device's id and its token, shown once.
pub(crate) async fn new_member_device(
    tx: &mut sqlx::PgConnection,
    area_id: Uuid,
    person_id: Uuid,
    name: &str,
    role: Role,
    device_name: Option<&str>,
    token_prefix: &str,
) -> sqlx::Result<(Uuid, String)> {
    let (device_id, token) = (Uuid::new_v4(), new_token(token_prefix));
    sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, $2)")
        .bind(person_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, $3)")
        .bind(area_id)
        .bind(person_id)
        .bind(role.code())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO device_tokens (area_id, id, person_id, token_hash, device_name) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(area_id)
    .bind(device_id)
    .bind(person_id)
    .bind(hash_secret(&token))
    .bind(device_name)
    .execute(&mut *tx)
    .await?;
    Ok((device_id, token))
}

/// Where the principal's person is signed in: live phones and web sessions, newest first.
pub async fn signed_in(pool: &PgPool, p: &Principal) -> Result<Vec<kvo_api::wire::SignedIn>> {
    let current = match p.via {
        Via::Device { token_id } => token_id,
        Via::Session { session_id } => session_id,
    };
    type Row = (String, Uuid, Option<String>, Option<Uuid>, DateTime<Utc>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT 'phone', t.id, t.device_name, t.area_id, t.created_at, NULL::timestamptz FROM device_tokens t
           JOIN memberships m ON m.area_id = t.area_id AND m.person_id = t.person_id AND m.removed_at IS NULL
          WHERE t.person_id = $1 AND t.revoked_at IS NULL
         UNION ALL
         SELECT 'web', id, NULL, NULL, created_at, expires_at FROM web_sessions
          WHERE person_id = $1 AND revoked_at IS NULL AND expires_at > now()
         ORDER BY 5 DESC",
    )
    .bind(p.person_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, id, name, area_id, since, expires_at)| kvo_api::wire::SignedIn {
            kind,
            id,
            name,
            area_id,
            since,
            expires_at,
            current: id == current,
        })
        .collect())
}

/// Signs the principal's person out everywhere: every phone and web
/// session, this one too. Returns how many were signed out.
pub async fn sign_out_everywhere(pool: &PgPool, cache: &AuthCache, p: &Principal) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let phones = sqlx::query(
        "UPDATE device_tokens SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL",
    )
    .bind(p.person_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let web =
        sqlx::query("UPDATE web_sessions SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL")
            .bind(p.person_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    tx.commit().await?;
    cache.forget_all();
    Ok(phones + web)
}

/// Revokes the credential a request was made with (sign out).
pub async fn revoke(pool: &PgPool, cache: &AuthCache, p: &Principal, raw_token: &str) -> Result<()> {
    match p.via {
        Via::Device { token_id } => {
            sqlx::query("UPDATE device_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
                .bind(token_id)
                .execute(pool)
                .await?;
        }
        Via::Session { session_id } => {
            sqlx::query("UPDATE web_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
                .bind(session_id)
                .execute(pool)
                .await?;
        }
    }
    cache.0.remove(&hash_secret(raw_token));
    Ok(())
}

/// A PHC string no password matches, verified when the e-mail is unknown so
/// that response times do not reveal which addresses exist.
const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Z8b3MW0ihJbqjpgRY3uVE2fJ7YbLw1C3kS9vcbXjv2Q";

/// Signs a web user in; returns the new session token and its principal.
pub async fn login(pool: &PgPool, email: &str, password: &str) -> Result<(String, Principal), AuthError> {
    let row =
        sqlx::query!("SELECT id, password_hash FROM people WHERE lower(email) = lower($1)", email.trim())
            .fetch_optional(pool)
            .await?;
    let (person_id, phc) = match row.map(|r| (r.id, r.password_hash)) {
        Some((id, Some(phc))) => (Some(id), phc),
        _ => (None, DUMMY_PHC.to_string()),
    };
    if let Some(id) = person_id {
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM signin_blocked_until - now())::float8 FROM people
              WHERE id = $1 AND signin_blocked_until > now()",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        if let Some(w) = wait {
            return Err(AuthError::Throttled(w.ceil().max(1.0) as u64));
        }
    }
    let ok = verify_password(password.to_string(), phc).await;
    let person_id = match (ok, person_id) {
        (true, Some(id)) => id,
        (false, Some(id)) => {
            // After FREE_SIGNIN_FAILURES, each failure doubles the wait (to at most MAX_SIGNIN_BLOCK).
            sqlx::query(
                "UPDATE people SET signin_failures = signin_failures + 1,
                        signin_blocked_until = CASE WHEN signin_failures + 1 > $2
                            THEN now() + make_interval(secs => least($3, power(2, signin_failures + 1 - $2 - 1)))
                        END
                  WHERE id = $1",
            )
            .bind(id)
            .bind(FREE_SIGNIN_FAILURES)
            .bind(MAX_SIGNIN_BLOCK_SECS)
            .execute(pool)
            .await?;
            return Err(AuthError::Credentials);
        }
        _ => return Err(AuthError::Credentials),
    };
    sqlx::query("UPDATE people SET signin_failures = 0, signin_blocked_until = NULL WHERE id = $1 AND signin_failures > 0")
        .bind(person_id)
        .execute(pool)
        .await?;
    let token = new_token("kvos");
    let session_id = Uuid::new_v4();
    sqlx::query("INSERT INTO web_sessions (id, person_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(session_id)
        .bind(person_id)
        .bind(hash_secret(&token))
        .bind(Utc::now() + SESSION_TTL)
        .execute(pool)
        .await?;
    let memberships = memberships_of(pool, person_id).await?;
    let p = Principal {
        person_id,
        memberships: memberships.into_iter().map(|m| (m.area_id, m.role)).collect(),
        via: Via::Session { session_id },
    };
    Ok((token, p))
}

/// Whether a web user with this e-mail address exists.
pub async fn web_user_exists(pool: &PgPool, email: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM people WHERE lower(email) = lower($1))")
        .bind(email.trim())
        .fetch_one(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_normalise_typing_mistakes() {
        let code = new_invite_code();
        // KVO- and three groups of four characters.
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups[0], "KVO", "{code}");
        assert_eq!(groups[1..].iter().map(|g| g.chars().count()).collect::<Vec<_>>(), [4, 4, 4], "{code}");
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalize_invite_code(&typed), normalize_invite_code(&code));
        assert_eq!(normalize_invite_code("kvo-0ab1-..."), normalize_invite_code("KVO-OAB1"));
        assert_eq!(normalize_invite_code("KVO-IL00"), "1100");
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = new_token("kvod");
        assert!(a.starts_with("kvod_") && a.len() == 5 + 64);
        assert_ne!(a, new_token("kvod"));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let phc = hash_password("correct horse".into()).await.unwrap();
        assert!(verify_password("correct horse".into(), phc.clone()).await);
        assert!(!verify_password("wrong".into(), phc).await);
        assert!(!verify_password("x".into(), DUMMY_PHC.into()).await);
    }
}
