//! Streamable HTTP, opt-in and bound to loopback only.
//!
//! rmcp's service checks `Host` (loopback names only, against DNS
//! rebinding) and, with an empty origin list enforced, refuses every
//! request that carries an `Origin`: no web page can drive it. Every local
//! user can reach a loopback port, so the session is Provisional (the
//! caller of `serve` enforces that).

use crate::bridge::Bridge;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves `bridge` on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, bridge: Bridge) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // Tests and scripts read the port from this line (`--http 127.0.0.1:0`).
    eprintln!(
        "continuum-mcp: streamable HTTP on http://{}/mcp",
        listener.local_addr()?
    );
    let config = StreamableHttpServerConfig::default()
        .with_json_response(true)
        .enforce_origin_validation();
    let service = StreamableHttpService::new(
        move || Ok(bridge.clone()),
        LocalSessionManager::default().into(),
        config,
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(err) = served {
                tracing::debug!(%err, "HTTP connection ended");
            }
        });
    }
}
