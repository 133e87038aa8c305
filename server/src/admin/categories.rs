//! Categories as the beheerder tunes them: enabled, urgent, the "al gemeld
//! in de buurt" radius and window, the extra questions, and the area's own
//! categories mapped to a KVO theme and to schoon, heel or veilig.

use kvo_api::{
    Dimension, Theme,
    admin::{AdminAction, CategoryChange, CategorySettings, NewCategory},
    questions::{Question, check_questions, is_code},
};
use serde_json::json;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use super::{Admin, AdminError, Length, audit, out_of_range, text};
use crate::column;

/// The widest "al gemeld in de buurt" radius (m) and window (weeks).
pub const MAX_DUPLICATE_RADIUS_M: u32 = 5_000;
pub const MAX_DUPLICATE_WEEKS: u32 = 104;

async fn read(
    conn: &mut PgConnection,
    area_id: Uuid,
    code: Option<&str>,
) -> Result<Vec<CategorySettings>, AdminError> {
    let rows = sqlx::query!(
        r#"SELECT code, label_nl, label_en, theme, dimension, enabled, urgent, duplicate_radius_m,
                  duplicate_weeks, questions AS "questions: Json<Vec<Question>>", custom
             FROM categories WHERE area_id = $1 AND ($2::text IS NULL OR code = $2)
            ORDER BY sort_order, code"#,
        area_id,
        code
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(CategorySettings {
                theme: column::code_opt(r.theme.as_deref(), Theme::from_code)?,
                dimension: column::code_opt(r.dimension.as_deref(), Dimension::from_code)?,
                code: r.code,
                label_nl: r.label_nl,
                label_en: r.label_en,
                enabled: r.enabled,
                urgent: r.urgent,
                duplicate_radius_m: r.duplicate_radius_m as u32,
                duplicate_weeks: r.duplicate_weeks as u32,
                questions: r.questions.0,
                custom: r.custom,
            })
        })
        .collect::<Result<_, anyhow::Error>>()
        .map_err(Into::into)
}

async fn read_one(
    conn: &mut PgConnection,
    area_id: Uuid,
    code: &str,
) -> Result<CategorySettings, AdminError> {
    read(conn, area_id, Some(code)).await?.pop().ok_or_else(|| AdminError::UnknownCategory(code.to_string()))
}

impl Admin<'_> {
    /// Every category of the area with all its settings, in display order.
    pub async fn category_settings(&self, area_id: Uuid) -> Result<Vec<CategorySettings>, AdminError> {
        self.who.check(area_id, AdminAction::EditCategories)?;
        read(&mut *self.pool.acquire().await?, area_id, None).await
    }

    /// Changes a category's settings; absent fields stay.
    pub async fn change_category(
        &self,
        area_id: Uuid,
        code: &str,
        req: CategoryChange,
    ) -> Result<CategorySettings, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditCategories)?;
        if req.duplicate_radius_m.is_some_and(|r| r > MAX_DUPLICATE_RADIUS_M) {
            return Err(out_of_range(
                "duplicate_radius_m",
                "must be between 0 and 5000",
                "moet tussen 0 en 5000 liggen",
            ));
        }
        if req.duplicate_weeks.is_some_and(|w| !(1..=MAX_DUPLICATE_WEEKS).contains(&w)) {
            return Err(out_of_range(
                "duplicate_weeks",
                "must be between 1 and 104",
                "moet tussen 1 en 104 liggen",
            ));
        }
        if let Some(q) = &req.questions {
            check_questions(q)?;
        }
        let mut tx = self.pool.begin().await?;
        let before = read_one(&mut tx, area_id, code).await?;
        sqlx::query(
            "UPDATE categories SET enabled = coalesce($3, enabled), urgent = coalesce($4, urgent),
                    duplicate_radius_m = coalesce($5, duplicate_radius_m),
                    duplicate_weeks = coalesce($6, duplicate_weeks), questions = coalesce($7, questions)
              WHERE area_id = $1 AND code = $2",
        )
        .bind(area_id)
        .bind(code)
        .bind(req.enabled)
        .bind(req.urgent)
        .bind(req.duplicate_radius_m.map(|r| r as i32))
        .bind(req.duplicate_weeks.map(|w| w as i32))
        .bind(req.questions.as_ref().map(Json))
        .execute(&mut *tx)
        .await?;
        let after = read_one(&mut tx, area_id, code).await?;
        audit::record(&mut tx, Some(area_id), actor, "category.update", code, Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(after)
    }

    /// Adds the area's own category, after the others, enabled.
    pub async fn add_category(
        &self,
        area_id: Uuid,
        req: NewCategory,
    ) -> Result<CategorySettings, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditCategories)?;
        if !is_code(&req.code) {
            return Err(out_of_range(
                "code",
                "must match ^[a-z0-9_]{1,40}$",
                "moet aan ^[a-z0-9_]{1,40}$ voldoen (kleine letters, cijfers, _)",
            ));
        }
        let (nl, en) = (
            text(&req.label_nl, "label_nl", Length::Label)?,
            text(&req.label_en, "label_en", Length::Label)?,
        );
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO categories (area_id, code, label_nl, label_en, theme, dimension, sort_order, urgent, custom)
             VALUES ($1, $2, $3, $4, $5, $6,
                     (SELECT coalesce(max(sort_order), 0) + 1 FROM categories WHERE area_id = $1), $7, true)
             ON CONFLICT (area_id, code) DO NOTHING",
        )
        .bind(area_id)
        .bind(&req.code)
        .bind(&nl)
        .bind(&en)
        .bind(req.theme.code())
        .bind(req.dimension.code())
        .bind(req.urgent)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(AdminError::CategoryExists(req.code));
        }
        let after = read_one(&mut tx, area_id, &req.code).await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "category.create",
            &req.code,
            None::<()>,
            Some(json!(&after)),
        )
        .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(after)
    }
}
