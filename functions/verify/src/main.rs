//! verify: checks, from the region it activates, that the recovery holds.
//!
//! Thin on purpose: topology, ports and the HTTP prober are built once per cold start; each
//! invocation is one call into drover-core. Errors reach Step Functions as `Retryable` or
//! `NonRetryable`.

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::probe::{ProbeConfig, Prober};
use drover_core::steps::{StepError, StepInput, StepPorts, StepResult, verify};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let topology = Arc::new(Topology::from_env()?);
    let region = StepPorts::region_self_from_env()?;
    let ports = Arc::new(StepPorts::aws(&ClientFactory::from_env(), topology, &region).await?);
    let prober = Arc::new(Prober::new(ProbeConfig::from_env()?)?);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let (ports, prober) = (ports.clone(), prober.clone());
        async move { handle(&ports, &prober, event.payload).await }
    }))
    .await
}

async fn handle(ports: &StepPorts, prober: &Prober, payload: Value) -> Result<StepResult, Diagnostic> {
    let input = StepInput::from_value(payload).map_err(diagnostic)?;
    let result = verify::run(ports, prober, &input).await.map_err(diagnostic)?;
    tracing::info!(step = %result.step, outcome = ?result.outcome, elapsed_ms = result.elapsed_ms, "{}", result.message);
    Ok(result)
}

fn diagnostic(e: StepError) -> Diagnostic {
    tracing::error!(error = %e, error_type = e.error_type(), "step error");
    Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() }
}
