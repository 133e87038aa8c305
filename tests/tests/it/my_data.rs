//! The rights of the person (issue 16 §3): a member downloads everything
//! stored about them, and asks for removal, which anonymises their reports
//! (the incidents and every count stay) and leaves no name, e-mail address,
//! password or working credential. The last beheerder of an area cannot go.

use kvo_api::{
    Role,
    wire::{Incident, NewIncident},
};
use kvo_server::{admin::people, retention::ANONYMOUS};
use kvo_tests::{DEVENTER, TestApp, jpeg, report};
use serde_json::{Value, json};
use uuid::Uuid;

/// The files of a ZIP archive of stored entries (name, bytes), each CRC checked.
fn unzip(z: &[u8]) -> Vec<(String, Vec<u8>)> {
    let (mut files, mut at) = (vec![], 0);
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([z[i], z[i + 1]]));
    let u32_at = |i: usize| u32::from_le_bytes(z[i..i + 4].try_into().unwrap());
    while z[at..at + 4] == *b"PK\x03\x04" {
        assert_eq!(u16_at(at + 8), 0, "stored");
        let (crc, size, name_len, extra) =
            (u32_at(at + 14), u32_at(at + 18) as usize, u16_at(at + 26), u16_at(at + 28));
        let name = String::from_utf8(z[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra;
        let bytes = z[start..start + size].to_vec();
        assert_eq!(crc32(&bytes), crc, "{name}");
        files.push((name, bytes));
        at = start + size;
    }
    assert_eq!(&z[at..at + 4], b"PK\x01\x02", "the directory follows");
    files
}

/// CRC-32 (IEEE), bit by bit: the test's own, not the server's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
        }
    }
    !c
}

#[tokio::test]
async fn a_member_downloads_their_data_and_is_removed_with_their_reports_anonymised() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let ondernemer = app.device(area, Role::Ondernemer).await;
    people::upsert_web_user(
        &app.pool,
        "bakker@example.org",
        "Bakker Jansen",
        "wachtwoord-van-de-bakker",
        area,
        Role::Ondernemer,
    )
    .await
    .unwrap();
    let cookie = app.web_session("bakker@example.org", "wachtwoord-van-de-bakker").await;
    let baker: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE email = 'bakker@example.org'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // A report by the phone, with a photo; one by the werkgroep.
    let mine = NewIncident { description: Some("Bij de bakkerij van Jansen".into()), ..report(area) };
    let res = app.post(&ondernemer.token, "/api/v1/incidents", &mine).await;
    let id = res.json::<Incident>().await.unwrap().id;
    let photo = format!("/api/v1/incidents/{id}/photos/{}", Uuid::new_v4());
    assert_eq!(app.put_bytes(&ondernemer.token, &photo, jpeg(64, 48)).await.status(), 201);
    let theirs = NewIncident { description: Some("Werkgroep zag het zelf".into()), ..report(area) };
    assert!(app.post(&werkgroep.token, "/api/v1/incidents", &theirs).await.status().is_success());

    // The export: what is stored about me, and nothing of anyone else.
    let res = app.get(&ondernemer.token, "/api/v1/me/export").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["person"]["id"], ondernemer.person_id.to_string());
    assert_eq!(doc["memberships"][0]["role"], "ondernemer");
    assert_eq!(doc["phones"].as_array().unwrap().len(), 1);
    let reports = doc["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["description"], "Bij de bakkerij van Jansen");
    let link = reports[0]["photos"][0].as_str().unwrap();
    let res = app.get(&ondernemer.token, link).await;
    assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    assert!(!doc.to_string().contains("Werkgroep zag het zelf"));
    assert!(!doc.to_string().contains("token_hash"), "no secrets");
    // A web user's export carries their e-mail address; nobody can ask for another's.
    let res = app.client.get(app.url("/api/v1/me/export")).header("cookie", &cookie).send().await.unwrap();
    let web: Value = res.json().await.unwrap();
    assert_eq!(web["person"]["email"], "bakker@example.org");
    assert_eq!(app.client.get(app.url("/api/v1/me/export")).send().await.unwrap().status(), 401);
    assert_eq!(app.get(&ondernemer.token, &format!("/api/v1/people/{baker}/export")).await.status(), 404);

    // The same with the photos, as one ZIP file.
    let res = app.get(&ondernemer.token, "/api/v1/me/export.zip").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let files = unzip(&res.bytes().await.unwrap());
    assert_eq!(files.len(), 2);
    let json: Value = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(
        (files[0].0.as_str(), json["reports"][0]["description"].as_str()),
        ("mijn-gegevens.json", Some("Bij de bakkerij van Jansen"))
    );
    let stored = app.get(&ondernemer.token, link).await.bytes().await.unwrap();
    assert!(files[1].0.starts_with(&format!("fotos/{id}-")), "{}", files[1].0);
    assert_eq!(files[1].1, stored.to_vec(), "the stored photo");

    // The last beheerder cannot go; nothing changes.
    let res = app.client.delete(app.url("/api/v1/me")).bearer_auth(&beheerder.token).send().await.unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(app.get(&beheerder.token, "/api/v1/me").await.status(), 200);

    let counts = |token: String| {
        let app = &app;
        async move {
            let v: Value =
                app.get(&token, &format!("/api/v1/areas/{area}/analysis")).await.json().await.unwrap();
            v["totals"].clone()
        }
    };
    let before = counts(werkgroep.token.clone()).await;
    assert_eq!(before["current"], 2);

    // Removal: credentials stop, the report stays anonymised, the person is empty.
    let res = app.client.delete(app.url("/api/v1/me")).bearer_auth(&ondernemer.token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get(&ondernemer.token, "/api/v1/me").await.status(), 401);
    let (reporter, description, anonymised): (Uuid, Option<String>, bool) = sqlx::query_as(
        "SELECT reporter_id, description, anonymised_at IS NOT NULL FROM incidents WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((reporter, description, anonymised), (ANONYMOUS, None, true));
    let photos: i64 = sqlx::query_scalar("SELECT count(*) FROM photos WHERE incident_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(photos, 0);
    let person: (String, Option<String>, Option<String>, i64) = sqlx::query_as(
        "SELECT display_name, email, password_hash,
                (SELECT count(*) FROM memberships WHERE person_id = p.id AND removed_at IS NULL) FROM people p WHERE id = $1",
    )
    .bind(ondernemer.person_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(person, ("Verwijderd".into(), None, None, 0));
    assert_eq!(counts(werkgroep.token.clone()).await, before, "every count stays");
    let logged: String = sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'person.remove'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logged, "Verwijderd", "the log keeps no name either");

    // A web user: the e-mail address and password go, signing in fails.
    let res = app
        .client
        .delete(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .header("x-kvo-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "bakker@example.org", "password": "wachtwoord-van-de-bakker"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(baker)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(email, None);
}
