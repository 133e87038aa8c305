//! The state every handler shares: the domain's services and caches, built
//! once per process.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Semaphore;

use super::metrics::Metrics;
use crate::{
    analytics::tiles::TileCache,
    areas::AreaCache,
    auth::AuthCache,
    config::Config,
    photos::{Photos, store::LocalDisk},
    push::Vapid,
};

/// Cheap to clone: everything is behind an `Arc` or is a pool handle.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub photos: Photos,
    pub areas: Arc<AreaCache>,
    pub auth: Arc<AuthCache>,
    pub metrics: Arc<Metrics>,
    pub tiles: Arc<TileCache>,
    /// Region heatmaps while their areas' data is unchanged.
    pub region: Arc<crate::analytics::region::RegionCache>,
    /// The VAPID key pair of Web Push.
    pub vapid: Arc<Vapid>,
    /// New reports, written in batches (group commit).
    pub ingest: crate::incidents::batch::Batcher,
    /// Abuse limits of this process.
    pub limits: Arc<crate::rate_limit::RateLimits>,
}

impl AppState {
    /// State for `config` on `pool`, with photos under `config.data_dir/photos`.
    pub fn new(pool: PgPool, config: Config) -> anyhow::Result<AppState> {
        let store = LocalDisk::new(config.data_dir.join("photos"))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(AppState {
            vapid: Arc::new(Vapid::load_or_create(&config.data_dir)?),
            photos: Photos {
                pool: pool.clone(),
                store: Arc::new(store),
                slots: Arc::new(Semaphore::new(crate::photos::decode_slots(
                    config.photo_memory_mb.saturating_mul(1 << 20),
                    config.max_photo_pixels,
                    cores,
                ))),
                max_pixels: config.max_photo_pixels,
            },
            ingest: crate::incidents::batch::Batcher::new(pool.clone()),
            limits: Arc::new(crate::rate_limit::RateLimits::from_config(&config)),
            pool,
            config: Arc::new(config),
            areas: Arc::default(),
            auth: Arc::default(),
            metrics: Arc::default(),
            tiles: Arc::default(),
            region: Arc::default(),
        })
    }
}
