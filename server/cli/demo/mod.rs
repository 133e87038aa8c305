//! The demo: a winkelgebied (Binnenstad Deventer, KVO-W) and a
//! bedrijventerrein (Lage Weide, Utrecht, KVO-B) with zones, people and about
//! 5,000 incidents over two years that follow the patterns a werkgroep would
//! recognise: shoplifting in opening hours, break-ins at night, a horeca
//! hotspot on weekend nights, a lighting problem that stops after its repair,
//! and break-ins that fall after cameras were placed; streets, lamp posts and
//! waste bins, the lighting reports linked to their post. Deterministic (seeded).
//!
//! The boundaries are drawn by hand around the real places; they are
//! believable, not cadastral.

use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use geo::{Intersects, Point};
use kvo_api::{Role, wire::AreaKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::{
    admin::{on_server, people},
    areas,
    nl_time::offset_hours,
};

pub mod registers;
pub mod rounds;

/// The demo web user (werkgroep in both demo areas).
pub const DEMO_EMAIL: &str = "werkgroep@example.org";
/// Its password; the demo is for trying the system on one's own machine.
pub const DEMO_PASSWORD: &str = "demo-werkgroep-2026";
/// The demo beheerder (both demo areas), with the same password: the console.
pub const DEMO_BEHEERDER: &str = "beheerder@example.org";
/// The demo gemeente (both demo areas), with the same password: the work list.
pub const DEMO_GEMEENTE: &str = "gemeente@example.org";

/// What the demo created.
#[derive(Debug, Clone)]
pub struct Demo {
    pub winkelgebied: Uuid,
    pub bedrijventerrein: Uuid,
    pub incidents: usize,
}

const DEVENTER: &str = r#"{"type":"Polygon","coordinates":[[[6.1505,52.2520],[6.1530,52.2565],[6.1585,52.2580],[6.1650,52.2560],[6.1668,52.2510],[6.1640,52.2470],[6.1570,52.2458],[6.1520,52.2478],[6.1505,52.2520]]]}"#;
const DEVENTER_ZONES: [(&str, [f64; 4]); 4] = [
    ("Brink", [6.1565, 52.2495, 6.1615, 52.2530]),
    ("Lange Bisschopstraat", [6.1545, 52.2530, 6.1600, 52.2568]),
    ("Bergkwartier", [6.1530, 52.2478, 6.1565, 52.2515]),
    ("Oostelijke binnenstad", [6.1615, 52.2480, 6.1655, 52.2550]),
];
const LAGE_WEIDE: &str = r#"{"type":"Polygon","coordinates":[[[5.0560,52.1000],[5.0640,52.1175],[5.0800,52.1185],[5.0905,52.1120],[5.0880,52.0985],[5.0720,52.0960],[5.0560,52.1000]]]}"#;
const LAGE_WEIDE_ZONES: [(&str, [f64; 4]); 3] = [
    ("Lage Weide Noord", [5.0640, 52.1110, 5.0860, 52.1175]),
    ("Lage Weide Midden", [5.0600, 52.1045, 5.0885, 52.1110]),
    ("Lage Weide Zuid (havens)", [5.0590, 52.0985, 5.0875, 52.1045]),
];

fn rect(b: [f64; 4]) -> geo::MultiPolygon<f64> {
    let [x0, y0, x1, y1] = b;
    geo::MultiPolygon(vec![geo::Polygon::new(
        geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

/// One recurring kind of incident: how many, where, when.
struct Pattern {
    category: &'static str,
    count: usize,
    /// Hotspot centre (lon, lat) and spread in metres; `None` spreads over the area.
    hotspot: Option<((f64, f64), f64)>,
    /// Relative weight per local hour 0..24.
    hours: [u8; 24],
    /// Relative weight Monday..Sunday.
    days: [u8; 7],
    /// Before this many days ago the pattern runs at full rate; after it, at `after_rate`.
    change: Option<(i64, f64)>,
    descriptions: &'static [&'static str],
}

const SHOP_HOURS: [u8; 24] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 4, 5, 6, 6, 6, 7, 8, 8, 5, 1, 1, 0, 0, 0];
const NIGHT: [u8; 24] = [8, 8, 7, 6, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 6, 8];
const EVENING: [u8; 24] = [6, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7];
const MORNING: [u8; 24] = [0, 0, 0, 0, 0, 0, 1, 5, 8, 8, 6, 4, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const DAYTIME: [u8; 24] = [0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 6, 6, 5, 5, 6, 6, 5, 4, 2, 1, 0, 0, 0, 0];
const ANY: [u8; 24] = [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 2, 2, 1];
const WEEK: [u8; 7] = [5, 5, 5, 5, 6, 4, 2];
const SHOP_WEEK: [u8; 7] = [4, 5, 5, 6, 7, 10, 3];
const WEEKEND: [u8; 7] = [2, 2, 2, 3, 6, 8, 5];
const FLAT: [u8; 7] = [1, 1, 1, 1, 1, 1, 1];
const WORK_WEEK: [u8; 7] = [6, 6, 6, 6, 5, 1, 1];

fn p(
    category: &'static str,
    count: usize,
    hotspot: Option<((f64, f64), f64)>,
    hours: [u8; 24],
    days: [u8; 7],
    descriptions: &'static [&'static str],
) -> Pattern {
    Pattern { category, count, hotspot, hours, days, change: None, descriptions }
}

fn winkelgebied_patterns() -> Vec<Pattern> {
    let brink = (6.1592, 52.2512);
    let bisschop = (6.1570, 52.2548);
    let berg = (6.1548, 52.2494);
    vec![
        p(
            "diefstal",
            520,
            Some((brink, 60.0)),
            SHOP_HOURS,
            SHOP_WEEK,
            &[
                "Winkeldiefstal, dader weggerend richting Brink",
                "Diefstal van cosmetica, camerabeelden beschikbaar",
                "Tas gestolen van terras",
                "Poging winkeldiefstal, dader aangehouden",
            ],
        ),
        p(
            "diefstal",
            380,
            Some((bisschop, 70.0)),
            SHOP_HOURS,
            SHOP_WEEK,
            &[
                "Winkeldiefstal kleding",
                "Twee jongeren met gevulde tas naar buiten",
                "Diefstal uit kassa tijdens drukte",
            ],
        ),
        p(
            "zwerfvuil",
            330,
            None,
            MORNING,
            WEEKEND,
            &[
                "Afval naast volle container",
                "Zwerfvuil na het weekend",
                "Vuilniszakken opengescheurd door meeuwen",
            ],
        ),
        p(
            "graffiti",
            190,
            Some((berg, 45.0)),
            MORNING,
            FLAT,
            &["Nieuwe tags op gevel", "Graffiti op rolluik", "Wildplakken op elektriciteitskast"],
        ),
        p(
            "overlast_personen",
            340,
            Some((brink, 40.0)),
            EVENING,
            WEEKEND,
            &[
                "Luidruchtige groep bij horeca",
                "Groep jongeren hangt bij portiek",
                "Dronken persoon valt bezoekers lastig",
            ],
        ),
        p(
            "vandalisme",
            240,
            Some((brink, 80.0)),
            NIGHT,
            WEEKEND,
            &["Fietsenrek vernield", "Ruit ingegooid", "Bloembak omgetrapt"],
        ),
        Pattern {
            change: Some((200, 0.05)),
            ..p(
                "kapotte_verlichting",
                150,
                Some((berg, 25.0)),
                EVENING,
                FLAT,
                &[
                    "Straatlantaarn in steeg brandt niet",
                    "Verlichting in de steeg al dagen uit",
                    "Lamp knippert",
                ],
            )
        },
        p(
            "agressie",
            80,
            Some((brink, 60.0)),
            EVENING,
            WEEKEND,
            &["Klant bedreigt personeel", "Vechtpartij voor café", "Verbale agressie bij kassa"],
        ),
        p(
            "verdachte_situatie",
            190,
            None,
            ANY,
            FLAT,
            &[
                "Persoon kijkt langdurig naar kassa",
                "Man probeert deuren van fietsen",
                "Onbekende bus staat lang stil",
            ],
        ),
        p(
            "inbraak",
            60,
            None,
            NIGHT,
            FLAT,
            &["Inbraak via achterdeur", "Poging tot inbraak, braaksporen aan deur"],
        ),
        p(
            "verloedering",
            120,
            None,
            DAYTIME,
            WEEK,
            &["Losliggende tegels", "Kapotte bank op plein", "Leeg pand met dichtgetimmerde ramen"],
        ),
        p(
            "overval",
            6,
            Some((bisschop, 80.0)),
            SHOP_HOURS,
            FLAT,
            &["Overval op winkel, politie ter plaatse"],
        ),
        p(
            "brandgevaar",
            40,
            None,
            DAYTIME,
            FLAT,
            &["Nooduitgang geblokkeerd door dozen", "Rook uit afvalbak"],
        ),
        p(
            "verkeersonveilig",
            80,
            Some((bisschop, 60.0)),
            SHOP_HOURS,
            WEEK,
            &[
                "Bevoorrading in voetgangersgebied tijdens openingstijden",
                "Scooters rijden hard door winkelstraat",
            ],
        ),
        p("leegstand", 30, None, DAYTIME, WEEK, &["Winkelpand staat al maanden leeg"]),
        p("overig", 100, None, ANY, FLAT, &["Anders, zie foto", "Melding van bezoeker doorgegeven"]),
    ]
}

fn bedrijventerrein_patterns() -> Vec<Pattern> {
    let haven = (5.0700, 52.1010);
    let rand_west = (5.0600, 52.1060);
    let noord = (5.0760, 52.1150);
    // A stretch of Isotopenweg whose lamps keep failing (old cabling).
    let isotopenweg = (5.0760, 52.1100);
    vec![
        Pattern {
            change: Some((300, 0.35)),
            ..p(
                "inbraak",
                450,
                Some((haven, 150.0)),
                NIGHT,
                WEEKEND,
                &[
                    "Inbraak in bedrijfshal, gereedschap weg",
                    "Hek opengeknipt",
                    "Poging tot inbraak, alarm ging af",
                    "Inbraak in bedrijfsbus",
                ],
            )
        },
        p(
            "verdachte_situatie",
            340,
            None,
            NIGHT,
            FLAT,
            &[
                "Auto zonder verlichting rijdt rondjes",
                "Personen bij hek na sluitingstijd",
                "Busje staat 's nachts met draaiende motor",
            ],
        ),
        p(
            "illegale_dump",
            290,
            Some((rand_west, 90.0)),
            NIGHT,
            WEEKEND,
            &[
                "Bouwafval gedumpt langs de weg",
                "Vaten met onbekende vloeistof (mogelijk drugsafval)",
                "Grofvuil achtergelaten bij laadperron",
            ],
        ),
        p(
            "diefstal",
            290,
            Some((haven, 200.0)),
            NIGHT,
            FLAT,
            &["Diesel afgetapt uit vrachtwagen", "Koperen kabels gestolen", "Aanhanger gestolen van terrein"],
        ),
        p("vandalisme", 150, None, NIGHT, WEEKEND, &["Camera vernield", "Slagboom kapotgereden"]),
        p(
            "brandgevaar",
            100,
            None,
            DAYTIME,
            WORK_WEEK,
            &["Pallets tegen gevel opgestapeld", "Gasflessen onbeheerd buiten"],
        ),
        p(
            "verkeersonveilig",
            150,
            Some((noord, 120.0)),
            DAYTIME,
            WORK_WEEK,
            &["Vrachtwagens parkeren op fietspad", "Onoverzichtelijke kruising door geparkeerde trailers"],
        ),
        p("leegstand", 60, None, DAYTIME, WORK_WEEK, &["Bedrijfspand leeg, ramen kapot"]),
        p(
            "ondermijning",
            50,
            Some((rand_west, 150.0)),
            ANY,
            FLAT,
            &[
                "Loods verhuurd, maar er is nooit activiteit overdag",
                "Veel bezoek 's nachts bij afgeschermde unit",
            ],
        ),
        p(
            "cyberincident",
            40,
            None,
            DAYTIME,
            WORK_WEEK,
            &["Phishingmail namens leverancier", "Ransomware op administratiesysteem"],
        ),
        p(
            "kapotte_verlichting",
            100,
            Some((isotopenweg, 40.0)),
            EVENING,
            FLAT,
            &["Lantaarnpaal bij ingang brandt niet", "Terreinverlichting defect"],
        ),
        p("zwerfvuil", 100, None, DAYTIME, WORK_WEEK, &["Zwerfafval langs de sloot"]),
        p("overig", 50, None, ANY, FLAT, &["Overige melding"]),
    ]
}

fn pick(rng: &mut StdRng, weights: &[u8]) -> usize {
    let total: u32 = weights.iter().map(|&w| u32::from(w)).sum();
    let mut x = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < u32::from(w) {
            return i;
        }
        x -= u32::from(w);
    }
    weights.len() - 1
}

fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

struct Generated {
    at: DateTime<Utc>,
    lon: f64,
    lat: f64,
    category: &'static str,
    description: &'static str,
}

fn generate(
    rng: &mut StdRng,
    patterns: &[Pattern],
    boundary: &geo::MultiPolygon<f64>,
    bbox: [f64; 4],
    now: DateTime<Utc>,
) -> Vec<Generated> {
    let start = now - Duration::days(730);
    let mut out = Vec::new();
    for pat in patterns {
        let mut made = 0;
        while made < pat.count {
            let day = start.date_naive() + Duration::days(rng.random_range(0..730));
            if rng.random_range(0..10) >= pat.days[day.weekday().num_days_from_monday() as usize] {
                continue;
            }
            let hour = pick(rng, &pat.hours) as u32;
            let local =
                day.and_hms_opt(hour, rng.random_range(0..60), rng.random_range(0..60)).expect("valid time");
            let guess = Utc.from_utc_datetime(&local);
            let at = guess - Duration::hours(offset_hours(guess));
            if at > now - Duration::minutes(30) {
                continue;
            }
            if let Some((days_ago, rate)) = pat.change
                && at > now - Duration::days(days_ago)
                && rng.random::<f64>() > rate
            {
                continue;
            }
            let (lon, lat) = match pat.hotspot {
                Some(((x, y), sigma_m)) => {
                    let dx = gaussian(rng) * sigma_m / (111_320.0 * y.to_radians().cos());
                    let dy = gaussian(rng) * sigma_m / 110_574.0;
                    (x + dx, y + dy)
                }
                None => (rng.random_range(bbox[0]..bbox[2]), rng.random_range(bbox[1]..bbox[3])),
            };
            if !boundary.intersects(&Point::new(lon, lat)) {
                continue;
            }
            let description = pat.descriptions[rng.random_range(0..pat.descriptions.len())];
            out.push(Generated { at, lon, lat, category: pat.category, description });
            made += 1;
        }
    }
    out.sort_by_key(|g| g.at);
    out
}

/// Whether any area exists yet.
pub async fn has_areas(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM areas)").fetch_one(pool).await?)
}

/// Creates both demo areas with zones, people and incidents. `scale` multiplies
/// the number of incidents (1.0 gives about 5,000). Progress goes to stderr.
pub async fn seed(pool: &PgPool, scale: f64) -> anyhow::Result<Demo> {
    let now = Utc::now();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut total = 0;
    let mut ids = vec![];
    type Spec<'a> = (
        &'a str,
        AreaKind,
        &'a str,
        &'a str,
        &'a [(&'a str, [f64; 4])],
        Vec<Pattern>,
        &'a [&'a str],
        &'a rounds::Plan,
        &'a [registers::Street],
    );
    let specs: [Spec; 2] = [
        (
            "Binnenstad Deventer",
            AreaKind::KvoW,
            "Deventer",
            DEVENTER,
            &DEVENTER_ZONES,
            winkelgebied_patterns(),
            &[
                "Bakkerij Van Dijk",
                "Boekhandel De Brink",
                "Drogisterij Centrum",
                "Modehuis Jansen",
                "Café De Waag",
                "Juwelier Smit",
            ],
            &rounds::DEVENTER,
            registers::DEVENTER,
        ),
        (
            "Bedrijventerrein Lage Weide",
            AreaKind::KvoB,
            "Utrecht",
            LAGE_WEIDE,
            &LAGE_WEIDE_ZONES,
            bedrijventerrein_patterns(),
            &[
                "Transportbedrijf Vos",
                "Metaalbewerking Utrecht",
                "Groothandel Kanaal",
                "Bouwbedrijf De Haven",
            ],
            &rounds::LAGE_WEIDE,
            registers::LAGE_WEIDE,
        ),
    ];
    for (name, kind, municipality, boundary, zones, patterns, businesses, plan, streets) in specs {
        let boundary = areas::parse_polygon_geojson(boundary)?;
        let area_id = on_server::area(pool, name, kind, Some(municipality), &boundary).await?;
        for (zname, b) in zones {
            on_server::zone(pool, area_id, zname, &rect(*b)).await?;
        }
        let mut ondernemers = vec![];
        for b in businesses {
            ondernemers.push(add_person(pool, area_id, b, Role::Ondernemer).await?);
        }
        let guard = add_person(pool, area_id, "Beveiliging Regio (collectief)", Role::Beveiliger).await?;
        let werkgroep = people::upsert_web_user(
            pool,
            DEMO_EMAIL,
            "Werkgroep demo",
            DEMO_PASSWORD,
            area_id,
            Role::Werkgroep,
        )
        .await?;
        people::upsert_web_user(pool, DEMO_GEMEENTE, "Gemeente demo", DEMO_PASSWORD, area_id, Role::Gemeente)
            .await?;
        people::upsert_web_user(
            pool,
            DEMO_BEHEERDER,
            "Beheerder demo",
            DEMO_PASSWORD,
            area_id,
            Role::Beheerder,
        )
        .await?;

        let scaled: Vec<Pattern> = patterns
            .into_iter()
            .map(|p| Pattern { count: (p.count as f64 * scale).round() as usize, ..p })
            .collect();
        let bbox = bbox_of(&boundary);
        let events = generate(&mut rng, &scaled, &boundary, bbox, now);
        let index = kvo_server::areas::AreaCache::default()
            .get(pool, area_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        insert_incidents(pool, &mut rng, area_id, &index, &events, &ondernemers, guard, now, name).await?;
        assign_to_gemeente(pool, area_id, werkgroep).await?;
        let walked = rounds::seed(pool, &mut rng, area_id, guard, plan).await?;
        eprintln!("  {name}: {walked} surveillancerondes");
        let (lamps, linked) = registers::seed(pool, area_id, streets).await?;
        eprintln!("  {name}: {lamps} lichtmasten, {linked} verlichtingsmeldingen gekoppeld");
        // The werkgroep's nul-meting: the first quarter of the two years of data.
        let first = kvo_server::nl_time::local_date(now - Duration::days(730));
        areas::set_baseline(pool, area_id, Some((first, first + Duration::days(90)))).await?;
        total += events.len();
        ids.push(area_id);
    }
    Ok(Demo { winkelgebied: ids[0], bedrijventerrein: ids[1], incidents: total })
}

/// The werkgroep has given the gemeente twelve of the newest open reports,
/// due from five days ago to nine days ahead: the gemeente's work list, some
/// of it overdue.
async fn assign_to_gemeente(pool: &PgPool, area_id: Uuid, werkgroep: Uuid) -> anyhow::Result<()> {
    let today = kvo_server::nl_time::today();
    sqlx::query(
        "WITH picked AS (
            SELECT id, status, row_number() OVER (ORDER BY occurred_at DESC, id) AS n FROM incidents
             WHERE area_id = $1 AND status IN ('nieuw', 'in_behandeling', 'heropend') AND merged_into IS NULL
             ORDER BY occurred_at DESC, id LIMIT 12),
          assigned AS (
            UPDATE incidents i SET assigned_to = 'gemeente', due_date = $2::date + (picked.n::int - 6)
              FROM picked WHERE i.area_id = $1 AND i.id = picked.id
            RETURNING i.id, i.status, i.due_date)
         INSERT INTO incident_status_history (area_id, incident_id, status, changed_by, action, detail)
         SELECT $1, id, status, $3, 'assign', 'gemeente (uiterlijk ' || to_char(due_date, 'DD-MM-YYYY') || ')' FROM assigned",
    )
    .bind(area_id)
    .bind(today)
    .bind(werkgroep)
    .execute(pool)
    .await?;
    Ok(())
}

fn bbox_of(mp: &geo::MultiPolygon<f64>) -> [f64; 4] {
    use geo::BoundingRect;
    let r = mp.bounding_rect().expect("a non-empty polygon");
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

async fn add_person(pool: &PgPool, area_id: Uuid, name: &str, role: Role) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, $3)")
        .bind(area_id)
        .bind(id)
        .bind(role.code())
        .execute(pool)
        .await?;
    Ok(id)
}

/// A plausible follow-up for an incident of this age: (status, changes after
/// the report, each with its delay).
fn follow_up(rng: &mut StdRng, age: Duration) -> Vec<(&'static str, Duration)> {
    let r: f64 = rng.random();
    let take = Duration::hours(rng.random_range(2..96));
    let solve = take + Duration::hours(rng.random_range(4..24 * 21));
    let mut steps = if age > Duration::days(30) {
        match r {
            r if r < 0.72 => vec![("in_behandeling", take), ("opgelost", solve)],
            r if r < 0.80 => vec![("afgewezen", take)],
            r if r < 0.92 => vec![("in_behandeling", take)],
            _ => vec![],
        }
    } else {
        match r {
            r if r < 0.2 => vec![("in_behandeling", take), ("opgelost", solve)],
            r if r < 0.5 => vec![("in_behandeling", take)],
            _ => vec![],
        }
    };
    steps.retain(|(_, d)| *d < age);
    steps
}

#[allow(clippy::too_many_arguments)]
async fn insert_incidents(
    pool: &PgPool,
    rng: &mut StdRng,
    area_id: Uuid,
    index: &areas::AreaIndex,
    events: &[Generated],
    ondernemers: &[Uuid],
    guard: Uuid,
    now: DateTime<Utc>,
    label: &str,
) -> anyhow::Result<()> {
    const BATCH: usize = 500;
    for (n, chunk) in events.chunks(BATCH).enumerate() {
        let mut tx = pool.begin().await?;
        for g in chunk {
            let id = Uuid::new_v4();
            let hour_local = (g.at + Duration::hours(offset_hours(g.at))).time().format("%H").to_string();
            let night = !(7..20).contains(&hour_local.parse::<u32>().unwrap_or(12));
            let reporter = if night || rng.random::<f64>() < 0.15 {
                guard
            } else {
                ondernemers[rng.random_range(0..ondernemers.len())]
            };
            let received = g.at + Duration::minutes(rng.random_range(1..90));
            let received = received.min(now);
            let zone = index.place(g.category, g.lat, g.lon, 1_000.0).ok().and_then(|p| p.zone_id);
            let steps = follow_up(rng, now - g.at);
            let status = steps.last().map_or("nieuw", |(s, _)| *s);
            let resolved_at =
                steps.last().filter(|(s, _)| *s == "opgelost").map(|(_, d)| (received + *d).min(now));
            sqlx::query(
                "INSERT INTO incidents (area_id, id, category, geom, accuracy_m, occurred_at, received_at,
                                        description, reporter_id, zone_id, status, request_hash, cell, resolved_at)
                 VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, $9, $10, $11, $12,
                         '\\x00', $13, $14)",
            )
            .bind(area_id)
            .bind(id)
            .bind(g.category)
            .bind(g.lon)
            .bind(g.lat)
            .bind(rng.random_range(4.0f32..35.0))
            .bind(g.at)
            .bind(received)
            .bind(g.description)
            .bind(reporter)
            .bind(zone)
            .bind(status)
            .bind(kvo_server::analytics::cells::cell_of(g.lat, g.lon))
            .bind(resolved_at)
            .execute(&mut *tx)
            .await
            .context("inserting demo incident")?;
            let mut history = vec![("nieuw", received, reporter)];
            history.extend(steps.iter().map(|(s, d)| (*s, received + *d, guard)));
            for (s, at, by) in history {
                sqlx::query(
                    "INSERT INTO incident_status_history (area_id, incident_id, status, changed_by, changed_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(area_id)
                .bind(id)
                .bind(s)
                .bind(by)
                .bind(at.min(now))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        let done = ((n + 1) * BATCH).min(events.len());
        eprint!("\r  {label}: {done}/{} meldingen ({}%)   ", events.len(), done * 100 / events.len().max(1));
        let _ = std::io::stderr().flush();
    }
    eprintln!();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_incidents_follow_their_pattern() {
        let boundary = areas::parse_polygon_geojson(LAGE_WEIDE).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let now = Utc::now();
        let events =
            generate(&mut rng, &bedrijventerrein_patterns()[..1], &boundary, bbox_of(&boundary), now);
        assert_eq!(events.len(), 450);
        assert!(events.iter().all(|e| boundary.intersects(&Point::new(e.lon, e.lat))));
        let local_hour =
            |e: &Generated| (e.at + Duration::hours(offset_hours(e.at))).format("%H").to_string();
        let night =
            events.iter().filter(|e| !(7..19).contains(&local_hour(e).parse::<u32>().unwrap())).count();
        assert!(night as f64 > 0.9 * events.len() as f64, "{night} of {} at night", events.len());
        // Break-ins fall after the cameras (300 days ago): the rate per day drops.
        let cut = now - Duration::days(300);
        let before = events.iter().filter(|e| e.at < cut).count() as f64 / 430.0;
        let after = events.iter().filter(|e| e.at >= cut).count() as f64 / 300.0;
        assert!(after < 0.5 * before, "before {before:.2}/day, after {after:.2}/day");
    }
}
