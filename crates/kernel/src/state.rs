//! The state every handler, service and job shares.

use crate::auth::SessionCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::FieldCipher;
use crate::db::Db;
use crate::jobs::JobRegistry;
use crate::metrics::Metrics;
use std::sync::Arc;

/// Cheap-to-clone handle to everything shared.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the handle points at.
pub struct Inner {
    /// Database.
    pub db: Db,
    /// The one clock.
    pub clock: SharedClock,
    /// Loaded configuration.
    pub config: Config,
    /// Encryption for sensitive fields.
    pub cipher: FieldCipher,
    /// Background job handlers.
    pub jobs: Arc<JobRegistry>,
    /// Base URL for links leaving the platform.
    pub base_url: String,
    /// Prometheus counters.
    pub metrics: Metrics,
    /// Short-lived cache of resolved sessions.
    pub sessions: SessionCache,
    /// Every capability's console overview figures, in manifest order.
    pub console_figures: Vec<crate::manifest::ConsoleFigures>,
    /// Every capability's subscribers to domain events.
    pub subscribers: Vec<crate::events::Subscriber>,
    /// Every capability's housekeeping, by capability name.
    pub housekeeping: Vec<(&'static str, crate::manifest::Housekeeping)>,
    /// The capabilities composed into this application, in order.
    pub manifests: Arc<[crate::manifest::Manifest]>,
    /// Every capability's loaded settings section (read with [`AppState::settings`]).
    pub settings: Vec<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
    /// A capability's settings, loaded and checked at start.
    ///
    /// # Panics
    /// When no manifest declares section `T` (`settings: Some(kernel::config::loader::<T>)`):
    /// a mistake in composing the application, which every test of the capability meets.
    pub fn settings<T: crate::config::Section>(&self) -> &T {
        self.0
            .settings
            .iter()
            .find_map(|s| s.downcast_ref::<T>())
            .unwrap_or_else(|| panic!("no manifest declares the settings section [{}]", T::NAME))
    }
    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

