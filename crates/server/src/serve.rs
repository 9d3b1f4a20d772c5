//! Serving: bind, run the job worker and the capabilities' services, shut down gracefully on
//! SIGINT/SIGTERM.

use kernel::state::AppState;
use kernel::AppResult;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, drains requests in flight and the job in hand, then returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.handle.await;
    }
}

/// Binds `host:port` and serves `state` in the background.
pub async fn start(state: AppState, host: &str, port: u16) -> AppResult<Running> {
    let listener = TcpListener::bind((host, port)).await.map_err(|e| kernel::AppError::internal(format!("bind {host}:{port}: {e}")))?;
    let addr = listener.local_addr().map_err(kernel::AppError::internal)?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = state.config.run_jobs.then(|| tokio::spawn(kernel::jobs::worker(state.clone(), rx.clone())));
    // The capabilities' long-running services, each told to stop with the server.
    let services: Vec<_> = state
        .manifests
        .iter()
        .flat_map(|m| m.services.iter())
        .map(|s| {
            let (name, run) = (s.name, s.run);
            let fut = run(state.clone(), kernel::manifest::Shutdown(rx.clone()));
            tokio::spawn(async move {
                if let Err(e) = fut.await {
                    tracing::error!(service = name, error = %e, "service ended");
                }
            })
        })
        .collect();
    let app = crate::app::router(state);
    let mut server_rx = rx;
    let handle = tokio::spawn(async move {
        // The peer address feeds per-source limits (kernel::web::ClientIp).
        let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
            let _ = server_rx.wait_for(|stop| *stop).await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server");
        }
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        for service in services {
            let _ = service.await;
        }
    });
    Ok(Running { addr, shutdown: tx, handle })
}

/// Resolves when the process is asked to stop.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: draining requests and jobs");
}
