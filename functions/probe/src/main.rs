//! probe: scheduled every minute in each region; probes the OTHER region's public health URL
//! (and, when `DROVER_PROBE_DB_ENDPOINT` is set, its Aurora writer over TCP) and publishes
//! high-resolution metrics in its OWN region. Configuration: see `drover_core::probe`.
//!
//! Errors reach the scheduler as `Retryable` (metrics could not be published: throttling,
//! 5xx) or `NonRetryable`.

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::aws::cloudwatch::CloudWatchMetrics;
use drover_core::config::{ConfigError, REGION_SELF_ENV};
use drover_core::probe::{ProbeConfig, ProbeError, ProbeReport, Prober, run_probe};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

struct Probe {
    topology: Topology,
    region: String,
    prober: Prober,
    metrics: CloudWatchMetrics,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let topology = Topology::from_env()?;
    let region = std::env::var(REGION_SELF_ENV).map_err(|_| ConfigError::MissingEnv(REGION_SELF_ENV))?;
    topology.peer_of(&region)?;
    let prober = Prober::new(ProbeConfig::from_env()?)?;
    let metrics = CloudWatchMetrics::new(&*ClientFactory::from_env().region(&region).await?);
    let probe = Arc::new(Probe { topology, region, prober, metrics });
    run(service_fn(move |_event: LambdaEvent<Value>| {
        let probe = probe.clone();
        async move { handle(&probe).await }
    }))
    .await
}

/// The scheduled event carries nothing the probe needs.
async fn handle(p: &Probe) -> Result<ProbeReport, Diagnostic> {
    run_probe(&p.topology, &p.region, &p.prober, &p.metrics).await.map_err(diagnostic)
}

fn diagnostic(e: ProbeError) -> Diagnostic {
    let error_type = if e.is_retryable() { "Retryable" } else { "NonRetryable" };
    tracing::error!(error = %e, error_type, "probe error");
    Diagnostic { error_type: error_type.to_string(), error_message: e.to_string() }
}
