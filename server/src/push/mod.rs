//! Web Push (RFC 8030, 8291 aes128gcm, 8292 VAPID): the server's key,
//! subscriptions and preferences. What to send is decided from events that
//! the triggers of migration 0007 write in the transaction of the change;
//! [`worker`] expands and sends them, never on a request's path.

pub mod worker;

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use kvo_api::push::{NewSubscription, PushPreferences, Subscription};
use sqlx::PgPool;
use uuid::Uuid;
use web_push::{PartialVapidSignatureBuilder, VapidSignatureBuilder};

use crate::{
    auth::{AreaAccess, Principal},
    error::{Error, Result, module_error},
};

/// Why a subscription or a preference is refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("endpoint is not a URL")]
    Endpoint,
    #[error("endpoint is not a push service this server knows")]
    Service,
    #[error("p256dh is not a P-256 key")]
    Key,
    #[error("auth is not 16 bytes")]
    Auth,
    /// Following new reports needs a role that sees every report.
    #[error("this role cannot follow new reports")]
    FollowNewReports,
    #[error("unknown category `{0}` in this area")]
    UnknownCategory(String),
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(PushError);

/// The server's VAPID key pair, generated on first start and kept in the data
/// directory (`vapid-private.key`, base64url of the P-256 scalar, mode 0600).
#[derive(Clone)]
pub struct Vapid {
    signer: PartialVapidSignatureBuilder,
    public: Vec<u8>,
}

impl Vapid {
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Vapid> {
        let path = data_dir.join("vapid-private.key");
        let encoded = match std::fs::read_to_string(&path) {
            Ok(s) => s.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                // A random 32-byte scalar; the rare value outside the curve order is drawn again.
                let encoded = loop {
                    let candidate = B64.encode(rand::random::<[u8; 32]>());
                    if VapidSignatureBuilder::from_base64_no_sub(&candidate).is_ok() {
                        break candidate;
                    }
                };
                let tmp = path.with_extension("tmp");
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)?;
                f.write_all(encoded.as_bytes())?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                tracing::info!(path = %path.display(), "generated the VAPID key pair for Web Push");
                encoded
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let signer = VapidSignatureBuilder::from_base64_no_sub(&encoded)
            .map_err(|e| anyhow::anyhow!("{} holds no valid VAPID key: {e:?}", path.display()))?;
        let public = signer.get_public_key();
        Ok(Vapid { signer, public })
    }

    /// The public key for browsers, base64url.
    pub fn public_key(&self) -> String {
        B64.encode(&self.public)
    }

    pub(crate) fn signer(&self) -> PartialVapidSignatureBuilder {
        self.signer.clone()
    }
}

/// Checks a subscription: an endpoint at an allowed push service, and keys
/// that decode to a P-256 point and a 16-byte secret.
fn check(push_hosts: &[String], s: &NewSubscription) -> Result<(), PushError> {
    reqwest::Url::parse(&s.endpoint).map_err(|_| PushError::Endpoint)?;
    if !crate::config::may_call(push_hosts, &s.endpoint) || s.endpoint.len() > 2000 {
        return Err(PushError::Service);
    }
    let p256dh = B64.decode(s.keys.p256dh.trim_end_matches('=')).unwrap_or_default();
    if p256dh.len() != 65 || p256dh[0] != 4 {
        return Err(PushError::Key);
    }
    let auth = B64.decode(s.keys.auth.trim_end_matches('=')).unwrap_or_default();
    if auth.len() != 16 {
        return Err(PushError::Auth);
    }
    Ok(())
}

/// Stores a subscription for the principal in its area; the same endpoint
/// again replaces its keys (browsers renew them). Returns it and whether it is new.
pub async fn subscribe(
    pool: &PgPool,
    push_hosts: &[String],
    p: &Principal,
    s: NewSubscription,
) -> Result<(Subscription, bool), PushError> {
    let a = p.access(s.area_id)?;
    check(push_hosts, &s)?;
    let (p256dh, auth) = (s.keys.p256dh.trim_end_matches('='), s.keys.auth.trim_end_matches('='));
    // A subscription moves to whoever subscribes with it last (one browser, one person).
    let row = sqlx::query!(
        r#"INSERT INTO push_subscriptions (area_id, id, person_id, endpoint, p256dh, auth)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (area_id, endpoint) DO UPDATE
              SET person_id = EXCLUDED.person_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
           RETURNING id, (xmax = 0) AS "new!""#,
        a.area_id,
        Uuid::new_v4(),
        a.person_id,
        &s.endpoint,
        p256dh,
        auth
    )
    .fetch_one(pool)
    .await?;
    Ok((Subscription { id: row.id, area_id: a.area_id, endpoint: s.endpoint }, row.new))
}

/// Removes one of the principal's subscriptions (404 for anyone else's).
pub async fn unsubscribe(pool: &PgPool, p: &Principal, id: Uuid) -> Result<()> {
    let areas: Vec<Uuid> = p.areas().map(|a| a.area_id).collect();
    let gone =
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND person_id = $2 AND area_id = ANY($3)")
            .bind(id)
            .bind(p.person_id)
            .bind(&areas)
            .execute(pool)
            .await?
            .rows_affected();
    if gone == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// The principal's preferences in an area (the defaults when none are stored).
pub async fn preferences(pool: &PgPool, a: &AreaAccess) -> Result<PushPreferences> {
    let row = sqlx::query!(
        "SELECT new_categories, urgent, own_status, on_duty FROM push_preferences
          WHERE area_id = $1 AND person_id = $2",
        a.area_id,
        a.person_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or_else(PushPreferences::default, |r| PushPreferences {
        new_categories: r.new_categories,
        urgent: r.urgent,
        own_status: r.own_status,
        on_duty: r.on_duty,
    }))
}

/// Stores the principal's preferences in an area. Following new reports is
/// for roles that see every report; categories must be the area's.
pub async fn set_preferences(
    pool: &PgPool,
    areas: &crate::areas::AreaCache,
    a: &AreaAccess,
    mut prefs: PushPreferences,
) -> Result<PushPreferences, PushError> {
    prefs.new_categories.sort();
    prefs.new_categories.dedup();
    if !prefs.new_categories.is_empty() && !a.role.sees_all_incidents() {
        return Err(PushError::FollowNewReports);
    }
    let area = areas.get(pool, a.area_id).await?;
    if let Some(unknown) = prefs.new_categories.iter().find(|c| area.category(c).is_none()) {
        return Err(PushError::UnknownCategory(kvo_api::validate::shown(unknown)));
    }
    sqlx::query(
        "INSERT INTO push_preferences (area_id, person_id, new_categories, urgent, own_status, on_duty)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (area_id, person_id) DO UPDATE
            SET new_categories = EXCLUDED.new_categories, urgent = EXCLUDED.urgent,
                own_status = EXCLUDED.own_status, on_duty = EXCLUDED.on_duty",
    )
    .bind(a.area_id)
    .bind(a.person_id)
    .bind(&prefs.new_categories)
    .bind(prefs.urgent)
    .bind(prefs.own_status)
    .bind(prefs.on_duty)
    .execute(pool)
    .await?;
    Ok(prefs)
}
