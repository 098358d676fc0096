//! decide: the first state of the failover state machine.
//!
//! Thin on purpose: the topology and the clients are built once per cold start, and each
//! invocation is one call into drover-core (`policy::Decider::decide`). The answer is the
//! outcome the state machine's Choice state reads (`outcome`: go | no_go | already_running |
//! ignored | status). Errors reach Step Functions as `Retryable` (throttling, 5xx in this
//! region) or `NonRetryable` (malformed or unknown trigger, a request for another region).
//! `DROVER_DECIDE_PEER_TIMEOUT_MS` (default 5000) bounds every read of the other region.

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::config::{ConfigError, REGION_SELF_ENV};
use drover_core::policy::decide::peer_timeout_from_env;
use drover_core::policy::{DecideError, Decider, Outcome};
use drover_core::ports::SystemClock;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let topology = Arc::new(Topology::from_env()?);
    let region = std::env::var(REGION_SELF_ENV).map_err(|_| ConfigError::MissingEnv(REGION_SELF_ENV))?;
    topology.region(&region)?;
    let mut decider =
        Decider::from_factory(topology, &region, &ClientFactory::from_env(), Arc::new(SystemClock)).await?;
    decider.peer_timeout = peer_timeout_from_env()?;
    let decider = Arc::new(decider);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let decider = decider.clone();
        async move { handle(&decider, event.payload, &event.context.request_id).await }
    }))
    .await
}

async fn handle(decider: &Decider, payload: Value, request_id: &str) -> Result<Outcome, Diagnostic> {
    let outcome = decider.decide(&payload, request_id).await.map_err(diagnostic)?;
    tracing::info!(outcome = outcome.name(), "decide: answered");
    Ok(outcome)
}

fn diagnostic(e: DecideError) -> Diagnostic {
    tracing::error!(error = %e, error_type = e.error_type(), "decide error");
    Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() }
}
