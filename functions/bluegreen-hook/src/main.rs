//! bluegreen-hook: CodeDeploy invokes it in the lifecycle events of an ECS blue/green
//! deployment (AfterAllowTestTraffic, BeforeAllowTraffic). It checks the green tasks through
//! the ALB's test listener and reports Succeeded or Failed to CodeDeploy; the reason is in
//! the logs and in the result. Configuration: see `drover_core::deploy::hook`.
//!
//! Errors: a malformed event is `NonRetryable` and makes no call; a status CodeDeploy could
//! not be told (throttling, 5xx) is `Retryable`, so the invocation is retried.

use std::sync::Arc;

use drover_core::aws::ClientFactory;
use drover_core::aws::codedeploy::CodeDeployHookReporter;
use drover_core::config::{ConfigError, REGION_SELF_ENV};
use drover_core::deploy::hook::{HookConfig, HookError, HookReport, run_hook};
use drover_core::deploy::http::HyperChecker;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

struct Hook {
    config: HookConfig,
    checker: HyperChecker,
    reporter: CodeDeployHookReporter,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    drover_core::telemetry::init();
    let region = std::env::var(REGION_SELF_ENV).map_err(|_| ConfigError::MissingEnv(REGION_SELF_ENV))?;
    let config = HookConfig::from_env()?;
    let checker = HyperChecker::new(config.timeout, config.connect_rule())?;
    let reporter = CodeDeployHookReporter::new(&*ClientFactory::from_env().region(&region).await?);
    let hook = Arc::new(Hook { config, checker, reporter });
    run(service_fn(move |event: LambdaEvent<Value>| {
        let hook = hook.clone();
        async move { handle(&hook, event.payload).await }
    }))
    .await
}

async fn handle(h: &Hook, payload: Value) -> Result<HookReport, Diagnostic> {
    run_hook(&payload, &h.config, &h.checker, &h.reporter).await.map_err(diagnostic)
}

fn diagnostic(e: HookError) -> Diagnostic {
    let error_type = if e.is_retryable() { "Retryable" } else { "NonRetryable" };
    tracing::error!(error = %e, error_type, "bluegreen-hook error");
    Diagnostic { error_type: error_type.to_string(), error_message: e.to_string() }
}
