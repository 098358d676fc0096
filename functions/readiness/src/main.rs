//! readiness: scheduled plan evaluation. Checks that THIS region could take over now,
//! publishes a metric per check, and one `readiness_changed` event when the verdict changes
//! (the last verdict is kept in the lease table). See `drover_core::policy::readiness`.
//!
//! `DROVER_DB_SECRET_ID` (optional) names the database secret that must exist in this region.
//! Errors reach the scheduler as `Retryable` (throttling, 5xx) or `NonRetryable`.

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::config::{ConfigError, REGION_SELF_ENV};
use drover_core::policy::readiness::{DB_SECRET_ENV, ReadinessChecker, ReadinessError, ReadinessReport};
use drover_core::ports::SystemClock;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let topology = Arc::new(Topology::from_env()?);
    let region = std::env::var(REGION_SELF_ENV).map_err(|_| ConfigError::MissingEnv(REGION_SELF_ENV))?;
    let secret = std::env::var(DB_SECRET_ENV).ok().filter(|s| !s.trim().is_empty());
    let checker = Arc::new(
        ReadinessChecker::from_factory(topology, &region, &ClientFactory::from_env(), Arc::new(SystemClock), secret)
            .await?,
    );
    run(service_fn(move |_event: LambdaEvent<Value>| {
        let checker = checker.clone();
        async move { handle(&checker).await }
    }))
    .await
}

/// The scheduled event carries nothing readiness needs.
async fn handle(checker: &ReadinessChecker) -> Result<ReadinessReport, Diagnostic> {
    let report = checker.run().await.map_err(diagnostic)?;
    tracing::info!(ready = report.ready, changed = report.changed, failing = ?report.failing, "{}", report.message);
    Ok(report)
}

fn diagnostic(e: ReadinessError) -> Diagnostic {
    let error_type = if e.is_retryable() { "Retryable" } else { "NonRetryable" };
    tracing::error!(error = %e, error_type, "readiness error");
    Diagnostic { error_type: error_type.to_string(), error_message: e.to_string() }
}
