//! notify: publishes a run's report to the region's KMS-encrypted SNS topic.
//!
//! Thin on purpose: the topology and the clients are built once per cold start, and each
//! invocation is one call into drover-core. Errors reach Step Functions as `Retryable`
//! (throttling, 5xx, an impaired region: retry) or `NonRetryable` (bad input, stale fencing
//! token, a refusal: go to the failure branch).

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::steps::{NotifyInput, StepError, StepPorts, StepResult, notify};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let topology = Arc::new(Topology::from_env()?);
    let region = StepPorts::region_self_from_env()?;
    let ports = Arc::new(StepPorts::aws(&ClientFactory::from_env(), topology, &region).await?);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let ports = ports.clone();
        async move { handle(&ports, event.payload).await }
    }))
    .await
}

async fn handle(ports: &StepPorts, payload: Value) -> Result<StepResult, Diagnostic> {
    let input = NotifyInput::from_value(payload).map_err(diagnostic)?;
    let result = notify::run(ports, &input).await.map_err(diagnostic)?;
    tracing::info!(step = %result.step, outcome = ?result.outcome, writes = result.writes.len(), elapsed_ms = result.elapsed_ms, "{}", result.message);
    Ok(result)
}

fn diagnostic(e: StepError) -> Diagnostic {
    tracing::error!(error = %e, error_type = e.error_type(), "step error");
    Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() }
}
