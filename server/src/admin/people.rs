//! People in an area: invites for phones, web accounts whose password the
//! person sets through a one-time link, members and their roles, removing a
//! person, and revoking a lost phone. An area always keeps a beheerder.

use chrono::{DateTime, Duration, Utc};
use kvo_api::{
    Role,
    admin::{
        AdminAction, CreatedAccount, CreatedApiKey, CreatedInvite, DeviceInfo, Grant, InviteInfo,
        InviteState, MAX_INVITE_DAYS, MAX_INVITE_USES, MemberInfo, NewAccount, NewApiKey, NewInviteRequest,
        PasswordLink, SetPassword, grantable,
    },
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Actor, Admin, AdminError, Length, Who, audit, out_of_range, text};
use crate::{
    auth::{self, hash_secret, new_token},
    column,
    error::Error,
    invites,
};

/// How long a password link stays valid.
pub const PASSWORD_LINK_TTL: Duration = Duration::days(7);
/// Passwords are at least this long (and at most 200 characters).
pub const MIN_PASSWORD_CHARS: usize = 10;

fn invite_state(revoked: bool, uses: i32, max_uses: i32, expires_at: DateTime<Utc>) -> InviteState {
    if revoked {
        InviteState::Revoked
    } else if uses >= max_uses {
        InviteState::UsedUp
    } else if expires_at <= Utc::now() {
        InviteState::Expired
    } else {
        InviteState::Open
    }
}

/// Locks the area's row: changes of its members happen one at a time, so the
/// last-beheerder check cannot race.
async fn lock_area(tx: &mut PgConnection, area_id: Uuid) -> Result<bool, AdminError> {
    let archived: Option<bool> =
        sqlx::query_scalar("SELECT archived_at IS NOT NULL FROM areas WHERE id = $1 FOR UPDATE")
            .bind(area_id)
            .fetch_optional(&mut *tx)
            .await?;
    archived.ok_or_else(|| Error::NotFound.into())
}

/// A live member's role.
async fn role_of(tx: &mut PgConnection, area_id: Uuid, person_id: Uuid) -> Result<Role, AdminError> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM memberships WHERE area_id = $1 AND person_id = $2 AND removed_at IS NULL",
    )
    .bind(area_id)
    .bind(person_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(column::code(&role.ok_or(Error::NotFound)?, Role::from_code)?)
}

/// Whether the person signs in on the web (has an e-mail address), rather
/// than only with a phone's invite.
async fn has_web_account(tx: &mut PgConnection, person_id: Uuid) -> Result<bool, AdminError> {
    Ok(sqlx::query_scalar("SELECT email IS NOT NULL FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut *tx)
        .await?)
}

/// Refuses a change that would take the area's last beheerder away.
async fn keep_a_beheerder(tx: &mut PgConnection, area_id: Uuid, person_id: Uuid) -> Result<(), AdminError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM memberships
          WHERE area_id = $1 AND person_id <> $2 AND role = 'beheerder' AND removed_at IS NULL",
    )
    .bind(area_id)
    .bind(person_id)
    .fetch_one(&mut *tx)
    .await?;
    if others == 0 { Err(AdminError::LastBeheerder) } else { Ok(()) }
}

/// Makes a one-time password link for `person_id`; earlier open links of the
/// person stop working.
async fn password_link(
    tx: &mut PgConnection,
    base_url: &str,
    person_id: Uuid,
    purpose: &str,
) -> Result<PasswordLink, sqlx::Error> {
    sqlx::query("UPDATE password_links SET expires_at = now() WHERE person_id = $1 AND used_at IS NULL AND expires_at > now()")
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
    let token = new_token("kvop");
    let expires_at = Utc::now() + PASSWORD_LINK_TTL;
    sqlx::query(
        "INSERT INTO password_links (id, person_id, token_hash, purpose, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(person_id)
    .bind(hash_secret(&token))
    .bind(purpose)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    // The token travels in the fragment, so it never reaches a server log.
    Ok(PasswordLink {
        link: format!("{}/wachtwoord/#token={token}", base_url.trim_end_matches('/')),
        expires_at,
    })
}

fn email(raw: &str) -> Result<String, AdminError> {
    let e = raw.trim();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if !ok {
        return Err(out_of_range("email", "is not an e-mail address", "is geen e-mailadres"));
    }
    Ok(e.to_string())
}

impl Admin<'_> {
    /// Creates an invite for phones; the code and link are shown this once.
    pub async fn create_invite(
        &self,
        area_id: Uuid,
        req: NewInviteRequest,
    ) -> Result<CreatedInvite, AdminError> {
        let actor = self.who.check(area_id, AdminAction::Invite)?;
        if !grantable(req.role, Grant::Invite) {
            return Err(AdminError::NotGrantable(req.role, Grant::Invite));
        }
        if !(1..=MAX_INVITE_USES).contains(&req.uses) {
            return Err(out_of_range("uses", "must be between 1 and 500", "moet tussen 1 en 500 liggen"));
        }
        if !(1..=MAX_INVITE_DAYS).contains(&req.days) {
            return Err(out_of_range("days", "must be between 1 and 90", "moet tussen 1 en 90 liggen"));
        }
        let mut tx = self.pool.begin().await?;
        if lock_area(&mut tx, area_id).await? {
            return Err(AdminError::Archived);
        }
        let code = auth::new_invite_code();
        let id = Uuid::new_v4();
        let expires_at = Utc::now() + Duration::days(i64::from(req.days));
        let created_at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO invites (area_id, id, code_hash, role, max_uses, expires_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at",
        )
        .bind(area_id)
        .bind(id)
        .bind(hash_secret(&auth::normalize_invite_code(&code)))
        .bind(req.role.code())
        .bind(req.uses as i32)
        .bind(expires_at)
        .bind(actor.person_id)
        .fetch_one(&mut *tx)
        .await?;
        let invite = InviteInfo {
            id,
            role: req.role,
            max_uses: req.uses,
            uses: 0,
            expires_at,
            created_at,
            state: InviteState::Open,
        };
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "invite.create",
            &id.to_string(),
            None::<()>,
            Some(&invite),
        )
        .await?;
        tx.commit().await?;
        let link = invites::link(self.base_url, &code);
        let qr_svg = invites::qr_svg(&link, 300)?;
        Ok(CreatedInvite { invite, code, link, qr_svg })
    }

    /// The area's invites, newest first.
    pub async fn invites(&self, area_id: Uuid) -> Result<Vec<InviteInfo>, AdminError> {
        self.who.check(area_id, AdminAction::Invite)?;
        let rows = sqlx::query!(
            "SELECT id, role, max_uses, uses, expires_at, created_at, revoked_at FROM invites
              WHERE area_id = $1 ORDER BY created_at DESC, id",
            area_id
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(InviteInfo {
                    id: r.id,
                    role: column::code(&r.role, Role::from_code)?,
                    max_uses: r.max_uses as u32,
                    uses: r.uses as u32,
                    expires_at: r.expires_at,
                    created_at: r.created_at,
                    state: invite_state(r.revoked_at.is_some(), r.uses, r.max_uses, r.expires_at),
                })
            })
            .collect()
    }

    /// Revokes an invite: it cannot be redeemed any more.
    pub async fn revoke_invite(&self, area_id: Uuid, invite_id: Uuid) -> Result<(), AdminError> {
        let actor = self.who.check(area_id, AdminAction::Invite)?;
        let mut tx = self.pool.begin().await?;
        let found: Option<Uuid> = sqlx::query_scalar(
            "UPDATE invites SET revoked_at = coalesce(revoked_at, now()) WHERE area_id = $1 AND id = $2 RETURNING id",
        )
        .bind(area_id)
        .bind(invite_id)
        .fetch_optional(&mut *tx)
        .await?;
        found.ok_or(Error::NotFound)?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "invite.revoke",
            &invite_id.to_string(),
            None::<()>,
            Some(json!({"revoked": true})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The area's members with their phones, by name.
    pub async fn members(&self, area_id: Uuid) -> Result<Vec<MemberInfo>, AdminError> {
        self.who.check(area_id, AdminAction::ManagePeople)?;
        let rows = sqlx::query!(
            r#"SELECT p.id, p.display_name, p.email, m.role, m.created_at, p.password_hash IS NOT NULL AS "has_password!"
                 FROM memberships m JOIN people p ON p.id = m.person_id
                WHERE m.area_id = $1 AND m.removed_at IS NULL
                ORDER BY lower(p.display_name), p.id"#,
            area_id
        )
        .fetch_all(self.pool)
        .await?;
        let devices = sqlx::query!(
            "SELECT person_id, id, device_name, created_at, revoked_at FROM device_tokens
              WHERE area_id = $1 ORDER BY created_at",
            area_id
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(MemberInfo {
                    devices: devices
                        .iter()
                        .filter(|d| d.person_id == r.id)
                        .map(|d| DeviceInfo {
                            id: d.id,
                            name: d.device_name.clone(),
                            created_at: d.created_at,
                            revoked_at: d.revoked_at,
                        })
                        .collect(),
                    person_id: r.id,
                    display_name: r.display_name,
                    email: r.email,
                    role: column::code(&r.role, Role::from_code)?,
                    since: r.created_at,
                    has_password: r.has_password,
                })
            })
            .collect()
    }

    /// Gives a member another role. Beheerder needs a web account (a phone
    /// never carries it), and the last beheerder stays one.
    pub async fn change_role(&self, area_id: Uuid, person_id: Uuid, role: Role) -> Result<(), AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        let mut tx = self.pool.begin().await?;
        lock_area(&mut tx, area_id).await?;
        let before = role_of(&mut tx, area_id, person_id).await?;
        if before == role {
            return Ok(());
        }
        if before == Role::Beheerder {
            keep_a_beheerder(&mut tx, area_id, person_id).await?;
        }
        if !grantable(role, Grant::Invite) && !has_web_account(&mut tx, person_id).await? {
            return Err(AdminError::NotGrantable(role, Grant::Invite));
        }
        sqlx::query("UPDATE memberships SET role = $3 WHERE area_id = $1 AND person_id = $2")
            .bind(area_id)
            .bind(person_id)
            .bind(role.code())
            .execute(&mut *tx)
            .await?;
        let target = person_id.to_string();
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "member.role",
            &target,
            Some(json!({"role": before})),
            Some(json!({"role": role})),
        )
        .await?;
        tx.commit().await?;
        self.forget_credentials();
        Ok(())
    }

    /// Removes a person from the area: their phones there stop working and
    /// their push subscriptions go; their reports stay.
    pub async fn remove_member(&self, area_id: Uuid, person_id: Uuid) -> Result<(), AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        let mut tx = self.pool.begin().await?;
        lock_area(&mut tx, area_id).await?;
        let role = role_of(&mut tx, area_id, person_id).await?;
        if role == Role::Beheerder {
            keep_a_beheerder(&mut tx, area_id, person_id).await?;
        }
        sqlx::query("UPDATE memberships SET removed_at = now() WHERE area_id = $1 AND person_id = $2")
            .bind(area_id)
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query(
            "UPDATE device_tokens SET revoked_at = now() WHERE area_id = $1 AND person_id = $2 AND revoked_at IS NULL",
        )
        .bind(area_id)
        .bind(person_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM push_subscriptions WHERE area_id = $1 AND person_id = $2")
            .bind(area_id)
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        let target = person_id.to_string();
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "member.remove",
            &target,
            Some(json!({"role": role})),
            Some(json!({"removed": true, "devices_revoked": revoked})),
        )
        .await?;
        tx.commit().await?;
        self.forget_credentials();
        Ok(())
    }

    /// The signed-in person asks to be removed (AVG, docs/privacy.md): they
    /// leave every area (refused while they are an area's last beheerder),
    /// every phone, session and push subscription stops, the personal data
    /// of their reports goes as with the retention (the reports stay,
    /// anonymised, so every count stays), and the person record keeps no
    /// name, e-mail address or password. One transaction; an audit entry per area.
    pub async fn remove_myself(&self) -> Result<(), AdminError> {
        let Who::Person(p) = self.who else { return Err(Error::NotFound.into()) };
        let person_id = p.person_id;
        let mut tx = self.pool.begin().await?;
        let areas: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT area_id, role FROM memberships WHERE person_id = $1 AND removed_at IS NULL ORDER BY area_id",
        )
        .bind(person_id)
        .fetch_all(&mut *tx)
        .await?;
        for (area_id, role) in &areas {
            lock_area(&mut tx, *area_id).await?;
            if role == Role::Beheerder.code() {
                keep_a_beheerder(&mut tx, *area_id, person_id).await?;
            }
        }
        sqlx::query("UPDATE memberships SET removed_at = now() WHERE person_id = $1 AND removed_at IS NULL")
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        for statement in [
            "UPDATE device_tokens SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL",
            "UPDATE web_sessions SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL",
            "DELETE FROM push_subscriptions WHERE person_id = $1",
            "DELETE FROM push_preferences WHERE person_id = $1",
            "UPDATE password_links SET expires_at = now() WHERE person_id = $1 AND expires_at > now()",
        ] {
            sqlx::query(statement).bind(person_id).execute(&mut *tx).await?;
        }
        let reports = sqlx::query(
            "CREATE TEMP TABLE kvo_strip ON COMMIT DROP AS
             SELECT area_id, id, reporter_id, category FROM incidents WHERE reporter_id = $1",
        )
        .bind(person_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        crate::retention::strip(&mut tx, chrono::Utc::now()).await?;
        sqlx::query(
            "UPDATE people SET display_name = 'Verwijderd', email = NULL, password_hash = NULL WHERE id = $1",
        )
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
        for (area_id, _) in &areas {
            let actor = Actor { person_id: Some(person_id) };
            let after = json!({"removed": true, "reports_anonymised": reports});
            audit::record(
                &mut tx,
                Some(*area_id),
                actor,
                "person.remove",
                &person_id.to_string(),
                None::<()>,
                Some(after),
            )
            .await?;
        }
        tx.commit().await?;
        self.forget_credentials();
        Ok(())
    }

    /// Revokes one phone's token (lost or stolen): its next request is refused.
    pub async fn revoke_device(&self, area_id: Uuid, device_id: Uuid) -> Result<(), AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        let mut tx = self.pool.begin().await?;
        let person: Option<Uuid> = sqlx::query_scalar(
            "UPDATE device_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE area_id = $1 AND id = $2
             RETURNING person_id",
        )
        .bind(area_id)
        .bind(device_id)
        .fetch_optional(&mut *tx)
        .await?;
        let person = person.ok_or(Error::NotFound)?;
        let after = json!({"revoked": true, "person_id": person});
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "device.revoke",
            &device_id.to_string(),
            None::<()>,
            Some(after),
        )
        .await?;
        tx.commit().await?;
        self.forget_credentials();
        Ok(())
    }

    /// An Open311 API key for a partner organisation's system: a member of
    /// the area with the organisation's role, holding one device token (the
    /// key, shown once). Revoking that token revokes the key.
    pub async fn create_api_key(&self, area_id: Uuid, req: NewApiKey) -> Result<CreatedApiKey, AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        let name = text(&req.name, "name", Length::Label)?;
        let role = req.organisation.role();
        let mut tx = self.pool.begin().await?;
        if lock_area(&mut tx, area_id).await? {
            return Err(AdminError::Archived);
        }
        let person_id = Uuid::new_v4();
        let (device_id, api_key) = auth::new_member_device(
            &mut tx,
            area_id,
            person_id,
            &format!("Open311: {name}"),
            role,
            Some("Open311"),
            "kvo311",
        )
        .await?;
        let after = json!({"name": name, "organisation": req.organisation, "person_id": person_id});
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "api_key.create",
            &device_id.to_string(),
            None::<()>,
            Some(after),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiKey { api_key, person_id, device_id })
    }

    /// A web account for a werkgroep member or a partner: the person gets a
    /// link to set their own password. Someone who already has an account
    /// simply gains the membership.
    pub async fn create_account(&self, area_id: Uuid, req: NewAccount) -> Result<CreatedAccount, AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        if !grantable(req.role, Grant::Account) {
            return Err(AdminError::NotGrantable(req.role, Grant::Account));
        }
        let email = email(&req.email)?;
        let display_name = text(&req.display_name, "display_name", Length::Name)?;
        let display_name = display_name.as_str();
        let mut tx = self.pool.begin().await?;
        if lock_area(&mut tx, area_id).await? {
            return Err(AdminError::Archived);
        }
        let existing: Option<(Uuid, bool)> =
            sqlx::query_as("SELECT id, password_hash IS NOT NULL FROM people WHERE lower(email) = lower($1)")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
        let (person_id, has_password) = match existing {
            Some(p) => p,
            None => {
                let id = Uuid::new_v4();
                sqlx::query("INSERT INTO people (id, display_name, email) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(display_name)
                    .bind(&email)
                    .execute(&mut *tx)
                    .await?;
                (id, false)
            }
        };
        let joined = sqlx::query(
            "INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (area_id, person_id) DO UPDATE SET role = EXCLUDED.role, removed_at = NULL, created_at = now()
              WHERE memberships.removed_at IS NOT NULL",
        )
        .bind(area_id)
        .bind(person_id)
        .bind(req.role.code())
        .execute(&mut *tx)
        .await?;
        if joined.rows_affected() == 0 {
            return Err(AdminError::AlreadyMember);
        }
        let password_link = if has_password {
            None
        } else {
            Some(password_link(&mut tx, self.base_url, person_id, "set").await?)
        };
        let after = json!({"email": email, "display_name": display_name, "role": req.role});
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "account.create",
            &person_id.to_string(),
            None::<()>,
            Some(after),
        )
        .await?;
        tx.commit().await?;
        self.forget_credentials();
        Ok(CreatedAccount { person_id, password_link })
    }

    /// A new one-time link for a member with a web account who forgot their
    /// password; earlier links stop working.
    pub async fn reset_link(&self, area_id: Uuid, person_id: Uuid) -> Result<PasswordLink, AdminError> {
        let actor = self.who.check(area_id, AdminAction::ManagePeople)?;
        let mut tx = self.pool.begin().await?;
        role_of(&mut tx, area_id, person_id).await?;
        if !has_web_account(&mut tx, person_id).await? {
            return Err(out_of_range(
                "person_id",
                "this person uses the app with an invite and has no web account",
                "deze persoon gebruikt de app met een uitnodiging en heeft geen webaccount",
            ));
        }
        let link = password_link(&mut tx, self.base_url, person_id, "reset").await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "account.reset_link",
            &person_id.to_string(),
            None::<()>,
            None::<()>,
        )
        .await?;
        tx.commit().await?;
        Ok(link)
    }
}

/// `kvo user create` on the server: creates a web user (or sets the
/// password of an existing one with that e-mail) and gives them `role` in
/// `area_id`. The way the first beheerder of an installation comes to be;
/// after that, accounts are made in the console ([`Admin::create_account`]).
pub async fn upsert_web_user(
    pool: &PgPool,
    email: &str,
    display_name: &str,
    password: &str,
    area_id: Uuid,
    role: Role,
) -> anyhow::Result<Uuid> {
    if password.chars().count() < 10 {
        anyhow::bail!("a password needs at least 10 characters");
    }
    let phc = auth::hash_password(password.to_string()).await?;
    let mut tx = pool.begin().await?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO people (id, display_name, email, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT (lower(email)) WHERE email IS NOT NULL
         DO UPDATE SET password_hash = EXCLUDED.password_hash, display_name = EXCLUDED.display_name
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(display_name)
    .bind(email.trim())
    .bind(phc)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (area_id, person_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(area_id)
    .bind(id)
    .bind(role.code())
    .execute(&mut *tx)
    .await?;
    let after = json!({"email": email.trim(), "display_name": display_name, "role": role});
    audit::record(
        &mut tx,
        Some(area_id),
        Actor { person_id: None },
        "account.set_on_server",
        &id.to_string(),
        None::<()>,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The person sets their password with a link's token. The link works once;
/// every earlier session of the person ends.
pub async fn set_password(
    pool: &sqlx::PgPool,
    cache: &auth::AuthCache,
    req: SetPassword,
) -> Result<(), AdminError> {
    let n = req.password.chars().count();
    if !(MIN_PASSWORD_CHARS..=200).contains(&n) {
        return Err(out_of_range(
            "password",
            "must have 10 to 200 characters",
            "moet 10 tot 200 tekens hebben",
        ));
    }
    // The link first: a wrong token costs no password hashing (a public endpoint).
    let mut tx = pool.begin().await?;
    let link: Option<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE password_links SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING id, person_id",
    )
    .bind(hash_secret(req.token.trim()))
    .fetch_optional(&mut *tx)
    .await?;
    let (link_id, person_id) = link.ok_or(AdminError::PasswordLink)?;
    let phc = auth::hash_password(req.password).await?;
    sqlx::query("UPDATE people SET password_hash = $2 WHERE id = $1")
        .bind(person_id)
        .bind(phc)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE web_sessions SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL")
        .bind(person_id)
        .execute(&mut *tx)
        .await?;
    let actor = Actor { person_id: Some(person_id) };
    audit::record(&mut tx, None, actor, "account.password_set", &link_id.to_string(), None::<()>, None::<()>)
        .await?;
    tx.commit().await?;
    cache.forget_all();
    Ok(())
}
