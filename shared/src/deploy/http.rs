//! The hook's HTTP requests to the green tasks, through the ALB's test listener.
//!
//! The test listener serves the application's certificate, whose name is the application's
//! (not the ALB's DNS name). So the checker can connect to one host (the ALB) while it
//! speaks TLS and HTTP to another (the application's name), like `curl --connect-to`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

/// Bodies are read up to this size; a smoke check looks for a marker near the start.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequestSpec {
    pub method: String,
    pub url: String,
    pub body: Option<String>,
}

/// What came back, or why nothing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpOutcome {
    pub status: Option<u16>,
    /// The body as text (lossy), cut at [`MAX_BODY`].
    pub body: Option<String>,
    pub latency_ms: u64,
    pub error: Option<HttpFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpFailure {
    /// No complete answer within the timeout.
    Timeout { after_ms: u64 },
    /// Refused, reset, DNS or TLS failure, a bad URL.
    Connect { detail: String },
}

/// One HTTP exchange. The hook's logic sees only this; tests can stand in for it.
#[async_trait]
pub trait HttpChecker: Send + Sync {
    async fn send(&self, request: &HttpRequestSpec) -> HttpOutcome;
}

/// Resolves `from` as if it were `to` (the ALB); every other name as usual.
#[derive(Clone, Debug, Default)]
struct ConnectTo {
    rule: Option<(String, String)>,
}

impl tower_service::Service<Name> for ConnectTo {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = match &self.rule {
            Some((from, to)) if name.as_str().eq_ignore_ascii_case(from) => to.clone(),
            _ => name.as_str().to_string(),
        };
        Box::pin(async move {
            // The connector puts the URL's port on each address.
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(addrs.into_iter())
        })
    }
}

type HookClient = Client<hyper_rustls::HttpsConnector<HttpConnector<ConnectTo>>, Full<Bytes>>;

/// Built once per cold start.
pub struct HyperChecker {
    client: HookClient,
    timeout: Duration,
}

impl HyperChecker {
    /// `connect_to`: `(name in the URL, host to connect to instead)`.
    pub fn new(timeout: Duration, connect_to: Option<(String, String)>) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(ConnectTo { rule: connect_to });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // A fresh connection each time: an ALB spreads connections, not requests, over the
        // green tasks, so reusing one would test one task over and over.
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(https);
        Ok(HyperChecker { client, timeout })
    }
}

#[async_trait]
impl HttpChecker for HyperChecker {
    async fn send(&self, spec: &HttpRequestSpec) -> HttpOutcome {
        let started = Instant::now();
        let failed = |error: HttpFailure| HttpOutcome {
            status: None,
            body: None,
            latency_ms: millis(started.elapsed()),
            error: Some(error),
        };
        let body = Full::new(Bytes::from(spec.body.clone().unwrap_or_default()));
        let mut builder = http::Request::builder()
            .method(spec.method.as_str())
            .uri(spec.url.as_str())
            .header("user-agent", "drover-bluegreen-hook/1");
        if spec.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = match builder.body(body) {
            Ok(r) => r,
            Err(e) => return failed(HttpFailure::Connect { detail: format!("bad request: {e}") }),
        };
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| HttpFailure::Connect { detail: error_chain(&e) })?;
            let status = response.status().as_u16();
            let collected = Limited::new(response.into_body(), MAX_BODY).collect().await;
            // A body larger than the limit is still an answer: keep the status.
            let body = collected.ok().map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned());
            Ok::<_, HttpFailure>((status, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => failed(HttpFailure::Timeout { after_ms: millis(self.timeout) }),
            Ok(Err(f)) => failed(f),
            Ok(Ok((status, body))) => {
                HttpOutcome { status: Some(status), body, latency_ms: millis(started.elapsed()), error: None }
            }
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
