//! The probe: several HTTP checks of the OTHER region's public health URL per invocation, an
//! optional TCP check of the other region's Aurora writer endpoint, and high-resolution
//! metrics published in the probe's OWN region, where the alarms that trigger a failover
//! watch them. It never calls an AWS API in the region it watches.
//!
//! Configuration (environment, read once at cold start). Probes start `interval` apart (start
//! to start), so with the defaults one invocation takes at most 5 × 7 s + 3 s (last probe)
//! + 3 s (TCP check) = 41 s, inside a one-minute schedule; the Lambda timeout must exceed it:
//!
//! | variable                    | default | meaning                                        |
//! |-----------------------------|---------|------------------------------------------------|
//! | `DROVER_PROBE_COUNT`        | 6       | HTTP probes per invocation (1–60)              |
//! | `DROVER_PROBE_INTERVAL_MS`  | 7000    | pause between the starts of two probes         |
//! | `DROVER_PROBE_TIMEOUT_MS`   | 3000    | per probe: connect, TLS, response, whole body  |
//! | `DROVER_PROBE_DB_ENDPOINT`  | unset   | `host:port` of the other region's Aurora writer endpoint (TCP check) |
//!
//! A probe succeeds on a 2xx answer whose body arrives within the timeout. Each probe opens a
//! fresh connection (no pooling), so DNS, TCP and TLS are measured every time.
//!
//! Metrics (namespace `Drover/Probe`, dimensions `Application`, `Target` = watched region,
//! one-second resolution): `ProbeSuccessRatio` (0–1), `ProbeFailures` (count),
//! `ProbeLatency` (mean ms, a timed-out probe counted at the timeout), `ProbeLatencyMax` (ms),
//! and with a DB endpoint `DbReachable` (0/1) and `DbConnectLatency` (ms).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Topology};
use crate::error::AwsError;
use crate::ports::{MetricDatum, Metrics, Unit};

pub const NAMESPACE: &str = "Drover/Probe";
pub const COUNT_ENV: &str = "DROVER_PROBE_COUNT";
pub const INTERVAL_ENV: &str = "DROVER_PROBE_INTERVAL_MS";
pub const TIMEOUT_ENV: &str = "DROVER_PROBE_TIMEOUT_MS";
pub const DB_ENDPOINT_ENV: &str = "DROVER_PROBE_DB_ENDPOINT";

/// The probe publishes metrics only.
pub const IAM_ACTIONS: &[&str] = &["cloudwatch:PutMetricData"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeConfig {
    pub count: u32,
    pub interval: Duration,
    pub timeout: Duration,
    /// `host:port` for the TCP reachability check.
    pub db_endpoint: Option<String>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            count: 6,
            interval: Duration::from_millis(7000),
            timeout: Duration::from_millis(3000),
            db_endpoint: None,
        }
    }
}

impl ProbeConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// `lookup` returns a variable's value; an invalid value is an init error naming it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = ProbeConfig::default();
        let number = |name: &'static str, min: u64, max: u64, default: u64| -> Result<u64, ConfigError> {
            match lookup(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(ConfigError::Invalid {
                        path: name.to_string(),
                        message: format!("{v:?} is not a whole number from {min} to {max}"),
                    }),
                },
            }
        };
        let count = number(COUNT_ENV, 1, 60, u64::from(d.count))? as u32;
        let interval = Duration::from_millis(number(INTERVAL_ENV, 0, 60_000, d.interval.as_millis() as u64)?);
        let timeout = Duration::from_millis(number(TIMEOUT_ENV, 1, 30_000, d.timeout.as_millis() as u64)?);
        let db_endpoint = match lookup(DB_ENDPOINT_ENV).filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => {
                let ok =
                    v.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    return Err(ConfigError::Invalid {
                        path: DB_ENDPOINT_ENV.to_string(),
                        message: format!("{v:?} is not host:port"),
                    });
                }
                Some(v.trim().to_string())
            }
        };
        Ok(ProbeConfig { count, interval, timeout, db_endpoint })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeFailure {
    /// The endpoint answered, but not with 2xx.
    Status { code: u16 },
    /// No complete answer within the timeout.
    Timeout,
    /// Refused, reset, DNS or TLS failure.
    Connect { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAttempt {
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub failure: Option<ProbeFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheck {
    pub endpoint: String,
    pub reachable: bool,
    pub latency_ms: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub from_region: String,
    pub target_region: String,
    pub url: String,
    pub attempts: Vec<ProbeAttempt>,
    pub successes: u32,
    pub failures: u32,
    pub success_ratio: f64,
    pub latency_mean_ms: f64,
    pub latency_max_ms: u64,
    pub db: Option<TcpCheck>,
    /// Whether the metrics reached CloudWatch (the report is returned either way).
    pub metrics_published: bool,
}

impl ProbeReport {
    pub fn metrics(&self, application: &str) -> Vec<MetricDatum> {
        let dims = BTreeMap::from([
            ("Application".to_string(), application.to_string()),
            ("Target".to_string(), self.target_region.clone()),
        ]);
        let datum = |name: &str, value: f64, unit: Unit| MetricDatum {
            name: name.into(),
            value,
            unit,
            dimensions: dims.clone(),
            high_resolution: true,
        };
        let mut out = vec![
            datum("ProbeSuccessRatio", self.success_ratio, Unit::None),
            datum("ProbeFailures", f64::from(self.failures), Unit::Count),
            datum("ProbeLatency", self.latency_mean_ms, Unit::Milliseconds),
            datum("ProbeLatencyMax", self.latency_max_ms as f64, Unit::Milliseconds),
        ];
        if let Some(db) = &self.db {
            out.push(datum("DbReachable", if db.reachable { 1.0 } else { 0.0 }, Unit::Count));
            out.push(datum("DbConnectLatency", db.latency_ms as f64, Unit::Milliseconds));
        }
        out
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Built once per cold start.
pub struct Prober {
    client: HttpsClient,
    config: ProbeConfig,
}

impl Prober {
    pub fn new(config: ProbeConfig) -> Result<Self, ProbeError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| ProbeError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        // No idle connections: every probe pays (and so measures) DNS, TCP and TLS.
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(https);
        Ok(Prober { client, config })
    }

    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// One HTTP GET of `url`, bounded by the timeout from the first byte sent to the last received.
    pub async fn probe_once(&self, url: &str) -> ProbeAttempt {
        let started = Instant::now();
        let request = match http::Request::get(url).header("user-agent", "drover-probe/1").body(Empty::<Bytes>::new()) {
            Ok(r) => r,
            Err(e) => return attempt_failed(started, ProbeFailure::Connect { detail: format!("bad URL: {e}") }),
        };
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| ProbeFailure::Connect { detail: error_chain(&e) })?;
            let status = response.status().as_u16();
            response.into_body().collect().await.map_err(|e| ProbeFailure::Connect { detail: format!("body: {e}") })?;
            Ok::<u16, ProbeFailure>(status)
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            Err(_) => attempt_failed(started, ProbeFailure::Timeout),
            Ok(Err(f)) => attempt_failed(started, f),
            Ok(Ok(code)) if (200..300).contains(&code) => {
                ProbeAttempt { ok: true, status: Some(code), latency_ms: millis(started.elapsed()), failure: None }
            }
            Ok(Ok(code)) => ProbeAttempt {
                ok: false,
                status: Some(code),
                latency_ms: millis(started.elapsed()),
                failure: Some(ProbeFailure::Status { code }),
            },
        }
    }

    pub async fn tcp_check(&self, endpoint: &str) -> TcpCheck {
        let started = Instant::now();
        let result = tokio::time::timeout(self.config.timeout, tokio::net::TcpStream::connect(endpoint)).await;
        let (reachable, error) = match result {
            Ok(Ok(_stream)) => (true, None),
            Ok(Err(e)) => (false, Some(e.to_string())),
            Err(_) => (false, Some(format!("no connection within {} ms", self.config.timeout.as_millis()))),
        };
        TcpCheck { endpoint: endpoint.to_string(), reachable, latency_ms: millis(started.elapsed()), error }
    }

    /// Probes `url` `count` times, `interval` apart (start to start), then the DB endpoint.
    pub async fn run(&self, from_region: &str, target_region: &str, url: &str) -> ProbeReport {
        let mut attempts = Vec::with_capacity(self.config.count as usize);
        let mut next = tokio::time::Instant::now();
        for i in 0..self.config.count {
            if i > 0 {
                tokio::time::sleep_until(next).await;
            }
            next += self.config.interval;
            attempts.push(self.probe_once(url).await);
        }
        let db = match &self.config.db_endpoint {
            Some(e) => Some(self.tcp_check(e).await),
            None => None,
        };
        summarise(from_region, target_region, url, attempts, db, self.config.timeout)
    }
}

fn summarise(
    from: &str,
    target: &str,
    url: &str,
    attempts: Vec<ProbeAttempt>,
    db: Option<TcpCheck>,
    timeout: Duration,
) -> ProbeReport {
    let successes = attempts.iter().filter(|a| a.ok).count() as u32;
    let total = attempts.len().max(1) as u32;
    let failures = attempts.len() as u32 - successes;
    let timeout_ms = millis(timeout);
    let latency = |a: &ProbeAttempt| if a.failure == Some(ProbeFailure::Timeout) { timeout_ms } else { a.latency_ms };
    let sum: u64 = attempts.iter().map(latency).sum();
    ProbeReport {
        from_region: from.to_string(),
        target_region: target.to_string(),
        url: url.to_string(),
        successes,
        failures,
        success_ratio: f64::from(successes) / f64::from(total),
        latency_mean_ms: sum as f64 / f64::from(total),
        latency_max_ms: attempts.iter().map(latency).max().unwrap_or(0),
        attempts,
        db,
        metrics_published: false,
    }
}

fn attempt_failed(started: Instant, failure: ProbeFailure) -> ProbeAttempt {
    ProbeAttempt { ok: false, status: None, latency_ms: millis(started.elapsed()), failure: Some(failure) }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("probe TLS set-up: {0}")]
    Tls(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl ProbeError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProbeError::Aws(e) if e.is_retryable())
    }
}

/// One invocation: probe the other region from `this_region` and publish in `this_region`.
/// A failure to publish is an error (the alarms would go blind), returned after the probing.
pub async fn run_probe(
    topology: &Topology,
    this_region: &str,
    prober: &Prober,
    metrics: &dyn Metrics,
) -> Result<ProbeReport, ProbeError> {
    let target = topology.peer_of(this_region)?;
    let mut report = prober.run(this_region, &target.name, &target.alb.health_url).await;
    tracing::info!(target = %report.target_region, successes = report.successes, failures = report.failures, latency_mean_ms = report.latency_mean_ms, "probe: done");
    metrics.put(NAMESPACE, &report.metrics(&topology.application)).await?;
    report.metrics_published = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_errors_name_the_variable() {
        let none = ProbeConfig::from_lookup(|_| None).unwrap();
        assert_eq!(none, ProbeConfig::default());
        let set = ProbeConfig::from_lookup(|k| match k {
            COUNT_ENV => Some("3".into()),
            INTERVAL_ENV => Some("10".into()),
            TIMEOUT_ENV => Some("250".into()),
            DB_ENDPOINT_ENV => Some("db.example.com:5432".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((set.count, set.interval.as_millis(), set.timeout.as_millis()), (3, 10, 250));
        assert_eq!(set.db_endpoint.as_deref(), Some("db.example.com:5432"));
        for (k, v) in [(COUNT_ENV, "0"), (COUNT_ENV, "many"), (TIMEOUT_ENV, "0"), (DB_ENDPOINT_ENV, "db.example.com")] {
            let err = ProbeConfig::from_lookup(|q| (q == k).then(|| v.to_string())).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
    }

    #[test]
    fn a_timed_out_probe_counts_at_the_timeout() {
        let attempts = vec![
            ProbeAttempt { ok: true, status: Some(200), latency_ms: 10, failure: None },
            ProbeAttempt { ok: false, status: None, latency_ms: 2999, failure: Some(ProbeFailure::Timeout) },
        ];
        let r = summarise("a", "b", "u", attempts, None, Duration::from_secs(3));
        assert_eq!((r.successes, r.failures, r.success_ratio), (1, 1, 0.5));
        assert_eq!(r.latency_max_ms, 3000);
        assert_eq!(r.latency_mean_ms, 1505.0);
        let names: Vec<String> = r.metrics("shop").into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["ProbeSuccessRatio", "ProbeFailures", "ProbeLatency", "ProbeLatencyMax"]);
    }
}
