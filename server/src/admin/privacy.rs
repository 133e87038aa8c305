//! An area's privacy settings (docs/privacy.md): its retention, with the
//! dry run that says what the nightly job (`crate::retention`) would remove
//! now, and whether its aggregated figures are public.

use kvo_api::admin::{
    AdminAction, PublicViewInfo, PublicViewSetting, RETENTION_MONTHS, RetentionSetting, RetentionSummary,
};
use serde_json::json;
use uuid::Uuid;

use super::{Admin, AdminError, areas::lock_live_area, audit, out_of_range};
use crate::retention;

impl Admin<'_> {
    /// What the retention would remove now.
    pub async fn retention(&self, area_id: Uuid) -> Result<RetentionSummary, AdminError> {
        self.who.check(area_id, AdminAction::EditArea)?;
        Ok(retention::run(self.pool, area_id, chrono::Utc::now(), true).await?)
    }

    /// Sets the retention (1–120 months); answers with its dry run.
    pub async fn set_retention(
        &self,
        area_id: Uuid,
        req: RetentionSetting,
    ) -> Result<RetentionSummary, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditArea)?;
        if !RETENTION_MONTHS.contains(&req.months) {
            return Err(out_of_range("months", "must be 1 to 120 months", "moet 1 tot 120 maanden zijn"));
        }
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let before: i32 = sqlx::query_scalar("SELECT retention_months FROM areas WHERE id = $1")
            .bind(area_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE areas SET retention_months = $2 WHERE id = $1")
            .bind(area_id)
            .bind(req.months as i32)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "retention.set",
            "bewaartermijn",
            Some(json!({"months": before})),
            Some(json!({"months": req.months})),
        )
        .await?;
        tx.commit().await?;
        self.retention(area_id).await
    }

    /// Whether the public view is on, and where.
    pub async fn public_view(&self, area_id: Uuid) -> Result<PublicViewInfo, AdminError> {
        self.who.check(area_id, AdminAction::EditArea)?;
        let (enabled, open311_descriptions, slug): (bool, bool, String) =
            sqlx::query_as("SELECT public_view, open311_descriptions, slug FROM areas WHERE id = $1")
                .bind(area_id)
                .fetch_optional(self.pool)
                .await?
                .ok_or(crate::error::Error::NotFound)?;
        Ok(PublicViewInfo { enabled, open311_descriptions, path: format!("/api/v1/public/{slug}"), slug })
    }

    /// Switches the public view, and Open311's public descriptions, on or off.
    pub async fn set_public_view(
        &self,
        area_id: Uuid,
        req: PublicViewSetting,
    ) -> Result<PublicViewInfo, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditArea)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let before: (bool, bool) =
            sqlx::query_as("SELECT public_view, open311_descriptions FROM areas WHERE id = $1")
                .bind(area_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("UPDATE areas SET public_view = $2, open311_descriptions = $3 WHERE id = $1")
            .bind(area_id)
            .bind(req.enabled)
            .bind(req.open311_descriptions)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "public_view.set",
            "openbaar overzicht",
            Some(json!({"enabled": before.0, "open311_descriptions": before.1})),
            Some(json!({"enabled": req.enabled, "open311_descriptions": req.open311_descriptions})),
        )
        .await?;
        tx.commit().await?;
        self.public_view(area_id).await
    }
}
