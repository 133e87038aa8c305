//! `kvo`: runs the server and administers areas, zones, invites and users.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)] // a command-line tool talks on its terminal

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use kvo_api::{
    Role,
    admin::{CategoryChange, NewArea, NewInviteRequest, NewZone},
    wire::AreaKind,
};
use kvo_server::{
    AppState,
    admin::{Admin, AdminError, people},
    areas, auth,
    config::Config,
    db::Database,
    error::Error,
    http::problem::AppError,
};

mod bench;
mod demo;
use uuid::Uuid;

/// Prints a line on standard output. A reader that went away (`kvo … | head`)
/// is not an error: the rest is dropped, as other command-line tools do.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*)
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(e.into());
        }
    }};
}

#[derive(Parser)]
#[command(name = "kvo", version, about = "KVO meldingen: server en beheer / server and administration")]
struct Cli {
    /// A TOML configuration file (also `KVO_CONFIG`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        /// Create the demo areas when the database has none, and print a demo sign-in.
        #[arg(long)]
        demo: bool,
    },
    /// Areas (gebieden).
    #[command(subcommand)]
    Area(AreaCmd),
    /// Zones of an area.
    #[command(subcommand)]
    Zone(ZoneCmd),
    /// Enable or disable a category in an area.
    #[command(subcommand)]
    Category(CategoryCmd),
    /// Invites for phones.
    #[command(subcommand)]
    Invite(InviteCmd),
    /// Checkpoints of the beveiliger's rounds.
    #[command(subcommand)]
    Checkpoint(CheckpointCmd),
    /// Rounds agreed with the security company.
    #[command(subcommand)]
    Round(RoundCmd),
    /// The gemeente's asset registers (lamp posts, waste bins, cameras, benches).
    #[command(subcommand)]
    Register(RegisterCmd),
    /// The street centrelines that name places.
    #[command(subcommand)]
    Streets(StreetsCmd),
    /// Web users (werkgroep, partners).
    #[command(subcommand)]
    User(UserCmd),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCmd),
    /// Rebuild the heatmap rollup from the incidents (repair; normally never needed).
    RebuildRollup,
    /// Print the OpenAPI document (the map UI's types are generated from it).
    Openapi,
    /// Back up the database, the photos and the push key into a new directory
    /// (consistent while the server runs; docs/operations.md).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into this installation, whose database must be empty.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Benchmarks (run on a throw-away database).
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Reports per second and latency, through HTTP and straight into PostgreSQL.
    Ingest {
        /// Concurrent clients (phones).
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds per metadata-only phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds of the photo phase.
        #[arg(long, default_value_t = 10)]
        photo_seconds: u64,
    },
    /// Heatmap, tile and analysis latency at 1M and 10M incidents, next to the naive aggregate.
    Heatmap {
        /// Incident counts to measure at, ascending.
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        sizes: Vec<usize>,
        /// Number of areas (sizes follow a Zipf-like distribution).
        #[arg(long, default_value_t = 500)]
        areas: usize,
        /// Requests per filter mix and endpoint.
        #[arg(long, default_value_t = 40)]
        requests: usize,
    },
    /// 200 clients for 5 minutes against one `kvo serve`: latency per
    /// endpoint, errors, and the server's memory every 10 s.
    Soak {
        #[arg(long, default_value_t = 200)]
        clients: usize,
        #[arg(long, default_value_t = 300)]
        seconds: u64,
    },
    /// Compliance and coverage latency over a month of rounds in many areas,
    /// next to the naive queries over the raw route points.
    Rounds {
        #[arg(long, default_value_t = 50)]
        areas: usize,
        #[arg(long, default_value_t = 30)]
        nights: i64,
        /// Requests per endpoint.
        #[arg(long, default_value_t = 60)]
        requests: usize,
    },
    /// Peak memory while 16 of the largest legal photos arrive at once, with
    /// the configured budget and without a limit.
    PhotoMemory {
        #[arg(long, default_value_t = 16)]
        uploads: usize,
    },
    /// Fill the database with one area of synthetic incidents and a werkgroep
    /// user (for `./do bench map`); prints the area's id.
    LoadArea {
        #[arg(long, default_value_t = 1_000_000)]
        incidents: usize,
        #[arg(long)]
        email: String,
        /// The user's password (`KVO_PASSWORD`).
        #[arg(long, env = "KVO_PASSWORD")]
        password: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// Winkelgebied (KVO-W).
    KvoW,
    /// Bedrijventerrein (KVO-B).
    KvoB,
    /// Buitengebied.
    Buitengebied,
}

#[derive(Subcommand)]
enum AreaCmd {
    /// Create an area from a GeoJSON polygon file.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long)]
        boundary: PathBuf,
        #[arg(long)]
        municipality: Option<String>,
    },
    /// List areas.
    List,
    /// Set the nul-meting (baseline) period the analysis compares with.
    Baseline {
        area: Uuid,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (inclusive), YYYY-MM-DD.
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum ZoneCmd {
    /// Add a zone from a GeoJSON polygon file.
    Add {
        #[arg(long)]
        area: Uuid,
        #[arg(long)]
        name: String,
        #[arg(long)]
        geometry: PathBuf,
    },
}

#[derive(Subcommand)]
enum CategoryCmd {
    Enable {
        #[arg(long)]
        area: Uuid,
        code: String,
    },
    Disable {
        #[arg(long)]
        area: Uuid,
        code: String,
    },
    /// Set a category's extra questions from a JSON file (a list of
    /// questions; `[]` removes them). See docs/reporting-app.md.
    Questions {
        #[arg(long)]
        area: Uuid,
        code: String,
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum CheckpointCmd {
    /// Register a checkpoint; prints its tag id (for the QR code) and its id.
    Add {
        #[arg(long)]
        area: Uuid,
        #[arg(long)]
        name: String,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
    },
}

#[derive(Subcommand)]
enum RegisterCmd {
    /// Import (or re-import) a register from GeoJSON or CSV (`id`, optional
    /// `naam`, `lat`/`lon` or RD `x`/`y`); see docs/registers.md.
    Import {
        #[arg(long)]
        area: Uuid,
        /// lichtmast, afvalbak, camera or bank.
        #[arg(long, value_parser = parse_asset_kind)]
        kind: kvo_api::registers::AssetKind,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum StreetsCmd {
    /// Replace the area's street centrelines with those of a GeoJSON file.
    Import {
        #[arg(long)]
        area: Uuid,
        file: PathBuf,
    },
}

fn parse_asset_kind(raw: &str) -> Result<kvo_api::registers::AssetKind, String> {
    kvo_api::registers::AssetKind::from_code(raw).ok_or_else(|| {
        let kinds = kvo_api::registers::AssetKind::codes(kvo_api::registers::AssetKind::ALL).join(", ");
        format!("onbekende soort / unknown kind `{raw}` ({kinds})")
    })
}

#[derive(Subcommand)]
enum RoundCmd {
    /// Agree rounds: e.g. `--from 22:00 --to 06:00 --rounds 3 --checkpoint ID --checkpoint ID`.
    Agree {
        #[arg(long)]
        area: Uuid,
        #[arg(long)]
        name: String,
        /// Window start, Dutch local time (HH:MM).
        #[arg(long)]
        from: chrono::NaiveTime,
        /// Window end (HH:MM); before the start means the next morning.
        #[arg(long)]
        to: chrono::NaiveTime,
        #[arg(long)]
        rounds: u32,
        /// Minutes between the starts of two counted rounds.
        #[arg(long, default_value_t = 60)]
        gap: u32,
        /// The longest a round may take, in minutes.
        #[arg(long, default_value_t = 60)]
        max_minutes: u32,
        #[arg(long = "checkpoint", required = true)]
        checkpoints: Vec<Uuid>,
    },
}

#[derive(Subcommand)]
enum InviteCmd {
    /// Create an invite code for a role in an area.
    Create {
        #[arg(long)]
        area: Uuid,
        #[arg(long)]
        role: Role,
        /// How many phones may redeem it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Days until it expires.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// Also write the invite link as a QR code (SVG) to this file.
        #[arg(long)]
        qr: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a web user, or reset their password, with a role in an area.
    Create {
        #[arg(long)]
        area: Uuid,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// At least 10 characters.
        #[arg(long, env = "KVO_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
enum DemoCmd {
    /// Create the demo areas with about 5,000 incidents.
    Seed {
        /// Multiplies the number of incidents.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let cfg = Config::load(cli.config)?;
    init_tracing(&cfg);
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(cfg, demo).await,
        Command::Openapi => {
            out!("{}", serde_json::to_string_pretty(&kvo_server::http::openapi::document())?);
            Ok(())
        }
        Command::Bench(BenchCmd::Ingest { clients, seconds, photo_seconds }) => {
            bench::ingest(&cfg, bench::IngestBench { clients, seconds, photo_seconds }).await
        }
        Command::Bench(BenchCmd::Heatmap { sizes, areas, requests }) => {
            if sizes.is_empty() || sizes.windows(2).any(|w| w[0] >= w[1]) || areas < 10 {
                anyhow::bail!("--sizes must ascend and --areas must be at least 10");
            }
            bench::heatmap::run(&cfg, bench::heatmap::HeatmapBench { sizes, areas, requests }).await
        }
        Command::Backup { to } => {
            let (pool, url, pg) = open_as_is(&cfg).await?;
            let m = kvo_server::backup::backup(&pool, &url, &cfg.data_dir, &to).await;
            close_as_is(pool, pg).await?;
            let m = m?;
            out!(
                "back-up in / backup in {}: {} meldingen, {} foto's, {} bestanden, schema {}",
                to.display(),
                m.incidents,
                m.photos,
                m.blobs,
                m.schema_version
            );
            Ok(())
        }
        Command::Restore { from } => {
            let (pool, url, pg) = open_as_is(&cfg).await?;
            let m = kvo_server::backup::restore(&pool, &url, &cfg.data_dir, &from).await;
            close_as_is(pool, pg).await?;
            let m = m?;
            out!(
                "teruggezet / restored: back-up van {} ({} meldingen, {} foto's); start de server om bij te werken",
                m.created_at.format("%Y-%m-%d %H:%M UTC"),
                m.incidents,
                m.photos
            );
            Ok(())
        }
        Command::Bench(BenchCmd::Soak { clients, seconds }) => {
            anyhow::ensure!(clients >= 10 && seconds >= 30, "--clients at least 10, --seconds at least 30");
            bench::soak::run(bench::soak::SoakBench { clients, seconds }).await
        }
        Command::Bench(BenchCmd::Rounds { areas, nights, requests }) => {
            if areas == 0 || nights < 8 || requests == 0 {
                anyhow::bail!("--areas and --requests must be positive and --nights at least 8");
            }
            bench::rounds::run(&cfg, bench::rounds::RoundsBench { areas, nights, requests }).await
        }
        Command::Bench(BenchCmd::PhotoMemory { uploads }) => bench::photo_memory(&cfg, uploads).await,
        Command::Bench(BenchCmd::LoadArea { incidents, email, password }) => {
            let db = Database::open(&cfg).await?;
            let area = bench::heatmap::load_area(&db.pool, incidents, &email, &password).await;
            db.close().await?;
            out!("{}", area?);
            Ok(())
        }
        other => {
            let db = Database::open(&cfg).await?;
            let result = admin(&db, &cfg, other).await;
            db.close().await?;
            result
        }
    }
}

/// The database as it is, without applying migrations (a backup is of the
/// schema the data has; a restore needs an empty database): its pool, URL
/// and the embedded cluster if this process started it.
async fn open_as_is(
    cfg: &Config,
) -> anyhow::Result<(sqlx::PgPool, String, Option<kvo_server::db::embedded::EmbeddedPostgres>)> {
    match &cfg.database_url {
        Some(url) => Ok((kvo_server::db::connect(url.parse()?, 2).await?, url.clone(), None)),
        None => {
            let pg =
                kvo_server::db::embedded::EmbeddedPostgres::start(&cfg.data_dir.join("postgres")).await?;
            kvo_server::db::ensure_database(&pg, "kvo").await?;
            let pool = kvo_server::db::connect(pg.connect_options("kvo"), 2).await?;
            let url = pg.url("kvo");
            Ok((pool, url, Some(pg)))
        }
    }
}

async fn close_as_is(
    pool: sqlx::PgPool,
    pg: Option<kvo_server::db::embedded::EmbeddedPostgres>,
) -> anyhow::Result<()> {
    pool.close().await;
    if let Some(pg) = pg.filter(|pg| pg.started_here()) {
        pg.stop().await?;
    }
    Ok(())
}

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cfg.log_format == kvo_server::config::LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(cfg: Config, demo_mode: bool) -> anyhow::Result<()> {
    let db = Database::open(&cfg).await?;
    if demo_mode && !demo::has_areas(&db.pool).await? {
        eprintln!("Demo-gebieden aanmaken / creating demo areas…");
        let d = demo::seed(&db.pool, 1.0).await?;
        eprintln!("{} meldingen aangemaakt / incidents created", d.incidents);
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    if demo_mode {
        print_demo_banner(&db, addr).await?;
    }
    tracing::info!(%addr, "listening");
    let state = AppState::new(db.pool.clone(), cfg)?;
    let mut workers = kvo_server::spawn_workers(&state);
    workers.push(tokio::spawn(sweep_orphans_periodically(state.clone())));
    kvo_server::serve(listener, state, shutdown_signal()).await?;
    // Background work ends before the pool it uses is closed.
    workers.stop().await;
    db.close_and_stop().await
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (systemd, `kill`, container stop).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

/// Removes photo blobs left behind by a crash mid-upload: at start-up and every six hours.
async fn sweep_orphans_periodically(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
    loop {
        every.tick().await;
        if let Err(e) =
            kvo_server::photos::sweep_orphans(&state.photos, std::time::Duration::from_secs(3600)).await
        {
            tracing::warn!(error = ?e, "orphaned photo sweep failed");
        }
    }
}

async fn print_demo_banner(db: &Database, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let areas = areas::list(&db.pool).await?;
    out!("\nKVO meldingen draait / is running\n");
    out!("  Kaart / map:        http://{addr}/");
    out!("  Melden / report:    http://{addr}/melden/");
    out!("  API:                http://{addr}/api/v1/openapi.json");
    if auth::web_user_exists(&db.pool, demo::DEMO_EMAIL).await? {
        out!("  Web-aanmelding:     {} / {}", demo::DEMO_EMAIL, demo::DEMO_PASSWORD);
    }
    if auth::web_user_exists(&db.pool, demo::DEMO_BEHEERDER).await? {
        out!("  Beheer / console:   {} / {}", demo::DEMO_BEHEERDER, demo::DEMO_PASSWORD);
    }
    if auth::web_user_exists(&db.pool, demo::DEMO_GEMEENTE).await? {
        out!("  Gemeente (taken):   {} / {}", demo::DEMO_GEMEENTE, demo::DEMO_PASSWORD);
    }
    let base = format!("http://{addr}");
    let admin = Admin::server(&db.pool, &base);
    for areas::AreaSummary { id, name, .. } in areas {
        let invite = |role| admin.create_invite(id, NewInviteRequest { role, uses: 10, days: 7 });
        let (shop, guard) = (invite(Role::Ondernemer).await?, invite(Role::Beveiliger).await?);
        out!("  {name}:");
        out!("    uitnodiging ondernemer: {}", shop.link);
        out!("    uitnodiging beveiliger: {}", guard.link);
    }
    out!("\n  Stoppen / stop: Ctrl-C\n");
    Ok(())
}

/// A refused administrative change, as the API would word it (Dutch, then English).
fn explain(e: AdminError) -> anyhow::Error {
    let err = AppError::from(e);
    let p = err.problem();
    match err {
        // The server's own trouble: the operator wants the cause, not the apology.
        AppError::Admin(AdminError::Other(inner @ (Error::Internal(_) | Error::Unavailable(_)))) => {
            inner.into()
        }
        _ => anyhow::anyhow!("{}\n{}", p.nl.detail, p.en.detail),
    }
}

/// A JSON file (a GeoJSON shape).
fn read_json(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

async fn admin(db: &Database, cfg: &Config, cmd: Command) -> anyhow::Result<()> {
    let pool = &db.pool;
    let base = cfg.public_url.clone().unwrap_or_else(|| format!("http://{}", cfg.listen));
    let admin = Admin::server(pool, &base);
    match cmd {
        Command::Serve { .. }
        | Command::Bench(_)
        | Command::Openapi
        | Command::Backup { .. }
        | Command::Restore { .. } => unreachable!("handled in main"),
        Command::Area(AreaCmd::Create { name, kind, boundary, municipality }) => {
            let kind = match kind {
                Kind::KvoW => AreaKind::KvoW,
                Kind::KvoB => AreaKind::KvoB,
                Kind::Buitengebied => AreaKind::Buitengebied,
            };
            let req = NewArea { name, kind, municipality, boundary: read_json(&boundary)? };
            out!("{}", admin.create_area(req).await.map_err(explain)?.id);
        }
        Command::Area(AreaCmd::List) => {
            for a in areas::list(pool).await? {
                out!("{}  {}  {}  ({} meldingen)", a.id, a.kind.code(), a.name, a.incidents);
            }
        }
        Command::Area(AreaCmd::Baseline { area, from, to }) => {
            areas::set_baseline(pool, area, Some((from, to))).await?;
        }
        Command::RebuildRollup => {
            let started = std::time::Instant::now();
            kvo_server::analytics::rollup::rebuild(pool).await?;
            eprintln!("rollup opnieuw opgebouwd / rebuilt in {:.1} s", started.elapsed().as_secs_f64());
        }
        Command::Zone(ZoneCmd::Add { area, name, geometry }) => {
            let req = NewZone { name, geometry: read_json(&geometry)? };
            out!("{}", admin.add_zone(area, req).await.map_err(explain)?.id);
        }
        Command::Category(CategoryCmd::Enable { area, code }) => {
            let req = CategoryChange { enabled: Some(true), ..Default::default() };
            admin.change_category(area, &code, req).await.map_err(explain)?;
        }
        Command::Category(CategoryCmd::Disable { area, code }) => {
            let req = CategoryChange { enabled: Some(false), ..Default::default() };
            admin.change_category(area, &code, req).await.map_err(explain)?;
        }
        Command::Category(CategoryCmd::Questions { area, code, file }) => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let questions: Vec<kvo_api::questions::Question> = serde_json::from_str(&text)
                .with_context(|| format!("{} is no list of questions", file.display()))?;
            let req = CategoryChange { questions: Some(questions), ..Default::default() };
            admin.change_category(area, &code, req).await.map_err(explain)?;
        }
        Command::Invite(InviteCmd::Create { area, role, uses, days, qr }) => {
            let inv =
                admin.create_invite(area, NewInviteRequest { role, uses, days }).await.map_err(explain)?;
            out!(
                "{}  (geldig tot / valid until {}, {uses}×)\n{}",
                inv.code,
                inv.invite.expires_at.format("%Y-%m-%d %H:%M UTC"),
                inv.link
            );
            if let Some(path) = qr {
                std::fs::write(&path, kvo_server::invites::qr_svg(&inv.link, 400)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::Checkpoint(CheckpointCmd::Add { area, name, lat, lon }) => {
            let cache = kvo_server::areas::AreaCache::default();
            let req = kvo_api::rounds::NewCheckpoint { name, lat, lon };
            let c = kvo_server::patrols::checkpoints::insert(pool, &cache, area, req).await?;
            out!("{} {}", c.tag, c.id);
        }
        Command::Round(RoundCmd::Agree { area, name, from, to, rounds, gap, max_minutes, checkpoints }) => {
            let req = kvo_api::rounds::NewRoundAgreement {
                name,
                window_start: from,
                window_end: to,
                rounds,
                min_gap_minutes: gap,
                max_round_minutes: max_minutes,
                checkpoints,
            };
            out!("{}", kvo_server::patrols::agreements::insert(pool, area, req).await?.id);
        }
        Command::Register(RegisterCmd::Import { area, kind, file }) => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = admin.import_register(area, kind, &bytes).await.map_err(explain)?;
            out!(
                "{} nieuw / added, {} gewijzigd / updated, {} ongewijzigd / unchanged, {} vervallen / removed, {} buiten het gebied / outside the area",
                r.added,
                r.updated,
                r.unchanged,
                r.removed,
                r.outside_area
            );
        }
        Command::Streets(StreetsCmd::Import { area, file }) => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = admin.import_streets(area, &bytes).await.map_err(explain)?;
            out!(
                "{} straten / streets, {} zonder naam / unnamed, {} buiten het gebied / outside the area",
                r.streets,
                r.unnamed,
                r.outside_area
            );
        }
        Command::User(UserCmd::Create { area, role, email, name, password }) => {
            let id = people::upsert_web_user(pool, &email, &name, &password, area, role).await?;
            out!("{id}");
        }
        Command::Demo(DemoCmd::Seed { scale }) => {
            let d = demo::seed(pool, scale).await?;
            out!(
                "winkelgebied {}\nbedrijventerrein {}\n{} meldingen",
                d.winkelgebied,
                d.bedrijventerrein,
                d.incidents
            );
        }
    }
    Ok(())
}
