//! The state every handler shares.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::{
    analytics::tiles::TileCache,
    areas::AreaCache,
    auth::AuthCache,
    config::Config,
    metrics::Metrics,
    photos::store::{BlobStore, LocalDisk},
};

/// Cheap to clone: everything is behind an `Arc` or is a pool handle.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub store: Arc<dyn BlobStore>,
    pub areas: Arc<AreaCache>,
    pub auth: Arc<AuthCache>,
    pub metrics: Arc<Metrics>,
    pub tiles: Arc<TileCache>,
    /// Bounds how many photos are decoded at once: a 40-megapixel photo takes
    /// 160 MB while it is processed.
    pub image_slots: Arc<Semaphore>,
    /// The VAPID key pair of Web Push.
    pub vapid: Arc<crate::push::Vapid>,
}

impl AppState {
    /// State for `config` on `pool`, with photos under `config.data_dir/photos`.
    pub fn new(pool: PgPool, config: Config) -> anyhow::Result<AppState> {
        let store = LocalDisk::new(config.data_dir.join("photos"))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(AppState {
            vapid: Arc::new(crate::push::Vapid::load_or_create(&config.data_dir)?),
            pool,
            config: Arc::new(config),
            store: Arc::new(store),
            areas: Arc::default(),
            auth: Arc::default(),
            metrics: Arc::default(),
            tiles: Arc::default(),
            image_slots: Arc::new(Semaphore::new(cores)),
        })
    }
}
