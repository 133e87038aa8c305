//! The rights of the person (issue 16 §3, docs/privacy.md): everything the
//! installation holds about the signed-in person, as one JSON document with
//! links to their photos. Removal is `Admin::remove_myself`.

use serde_json::Value;
use sqlx::PgPool;

use crate::{auth::Principal, error::Result};

/// Everything stored about `p`'s person: the person, memberships, phones,
/// web sessions, reports (with their photos' links), comments, history lines,
/// confirmations, push subscriptions and preferences, and the audit entries
/// of their own administrative changes. Secrets (hashes) are left out.
pub async fn export(pool: &PgPool, p: &Principal) -> Result<Value> {
    let doc: Value = sqlx::query_scalar(
        "SELECT jsonb_build_object(
            'exported_at', now(),
            'person', (SELECT jsonb_build_object('id', id, 'display_name', display_name, 'email', email,
                                                 'has_password', password_hash IS NOT NULL, 'created_at', created_at)
                         FROM people WHERE id = $1),
            'memberships', coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', m.area_id, 'area', a.name,
                    'role', m.role, 'since', m.created_at, 'removed_at', m.removed_at) ORDER BY m.created_at)
                  FROM memberships m JOIN areas a ON a.id = m.area_id WHERE m.person_id = $1), '[]'),
            'phones', coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', area_id, 'id', id, 'name', device_name,
                    'created_at', created_at, 'revoked_at', revoked_at) ORDER BY created_at)
                  FROM device_tokens WHERE person_id = $1), '[]'),
            'web_sessions', coalesce((SELECT jsonb_agg(jsonb_build_object('created_at', created_at,
                    'expires_at', expires_at, 'revoked_at', revoked_at) ORDER BY created_at)
                  FROM web_sessions WHERE person_id = $1), '[]'),
            'reports', coalesce((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'area_id', i.area_id,
                    'category', i.category, 'lat', ST_Y(i.geom), 'lon', ST_X(i.geom), 'accuracy_m', i.accuracy_m,
                    'occurred_at', i.occurred_at, 'received_at', i.received_at, 'description', i.description,
                    'answers', i.answers, 'anonymous', i.anonymous, 'status', i.status,
                    'photos', coalesce((SELECT jsonb_agg('/api/v1/incidents/' || i.id || '/photos/' || ph.id ORDER BY ph.id)
                                          FROM photos ph WHERE ph.area_id = i.area_id AND ph.incident_id = i.id), '[]'))
                    ORDER BY i.received_at)
                  FROM incidents i WHERE i.reporter_id = $1), '[]'),
            'comments', coalesce((SELECT jsonb_agg(jsonb_build_object('incident_id', incident_id, 'body', body,
                    'created_at', created_at) ORDER BY created_at)
                  FROM incident_comments WHERE author_id = $1), '[]'),
            'history', coalesce((SELECT jsonb_agg(jsonb_build_object('incident_id', incident_id, 'action', action,
                    'status', status, 'at', changed_at, 'reason', reason, 'detail', detail) ORDER BY changed_at)
                  FROM incident_status_history WHERE changed_by = $1), '[]'),
            'confirmations', coalesce((SELECT jsonb_agg(jsonb_build_object('incident_id', incident_id,
                    'created_at', created_at) ORDER BY created_at)
                  FROM incident_confirmations WHERE person_id = $1), '[]'),
            'push_subscriptions', coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', area_id,
                    'endpoint', endpoint, 'created_at', created_at) ORDER BY created_at)
                  FROM push_subscriptions WHERE person_id = $1), '[]'),
            'push_preferences', coalesce((SELECT jsonb_agg(to_jsonb(pp) - 'person_id')
                  FROM push_preferences pp WHERE pp.person_id = $1), '[]'),
            'administrative_changes', coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', area_id, 'at', at,
                    'action', action, 'target', target) ORDER BY seq)
                  FROM audit_log WHERE actor_id = $1), '[]'))",
    )
    .bind(p.person_id)
    .fetch_one(pool)
    .await?;
    Ok(doc)
}

/// [`export`] with the person's photos, as one ZIP file: `mijn-gegevens.json`
/// and `fotos/<report>-<photo>.jpg`.
pub async fn export_zip(photos: &crate::photos::Photos, p: &Principal) -> Result<Vec<u8>> {
    use anyhow::Context;
    let doc = export(&photos.pool, p).await?;
    let rows: Vec<(uuid::Uuid, uuid::Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT ph.incident_id, ph.id, ph.sha256 FROM photos ph
           JOIN incidents i ON i.area_id = ph.area_id AND i.id = ph.incident_id
          WHERE i.reporter_id = $1 ORDER BY i.received_at, ph.id",
    )
    .bind(p.person_id)
    .fetch_all(&photos.pool)
    .await?;
    let store = photos.store.clone();
    let entries = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<crate::zip::Entry>> {
        let mut entries = vec![crate::zip::Entry {
            name: "mijn-gegevens.json".into(),
            bytes: serde_json::to_vec_pretty(&doc)?,
        }];
        for (incident, photo, sha) in rows {
            // A photo whose file the sweep already removed is left out.
            if let Some(bytes) = store.get(&hex::encode(&sha))? {
                entries.push(crate::zip::Entry { name: format!("fotos/{incident}-{photo}.jpg"), bytes });
            }
        }
        Ok(entries)
    })
    .await
    .context("export task")??;
    let at = crate::nl_time::local(chrono::Utc::now());
    Ok(crate::zip::archive(&entries, at).context("the export is larger than a ZIP file holds")?)
}
