//! The blue/green hook: its HTTP checks against a local server standing in for the green
//! tasks (healthy, failing, slow, wrong answer), and its status reaching CodeDeploy in the
//! emulator (the deployment goes on, or fails and rolls back).

mod bluegreen_support;
#[allow(unused_imports)]
mod common;

use std::time::Duration;

use bluegreen_support::*;
use common::{PRIMARY, World, eventually};
use drover_core::aws::bluegreen::AwsBlueGreenDeployer;
use drover_core::aws::codedeploy::CodeDeployHookReporter;
use drover_core::deploy::hook::{CheckKind, run_hook, validate_green};
use drover_core::deploy::rollout::{DeployRequest, HookEvent, start};
use drover_core::ports::{BlueGreenDeployer, DeploymentStatus, HookStatus};
use serde_json::json;

#[tokio::test]
async fn healthy_failing_slow_and_wrong_answers() {
    let green = GreenServer::start().await;
    let config = green.hook_config(3, 500);
    let checker = checker(&config);

    let (status, reason, checks) = validate_green(&config, &checker).await;
    assert_eq!(status, HookStatus::Succeeded, "{reason}");
    assert_eq!(checks.len(), 6);
    assert!(checks.iter().all(|c| c.ok && c.status == Some(200)));
    assert!(checks[0].request.starts_with("GET http://green.test:"), "the URL keeps the application's name");
    assert!(reason.contains("3/3"), "{reason}");

    green.set(FAILING);
    let (status, reason, checks) = validate_green(&config, &checker).await;
    assert_eq!(status, HookStatus::Failed);
    assert_eq!(checks.len(), 1, "stops at the first failure");
    assert!(
        reason.starts_with("health check 1/3 GET http://green.test:") && reason.ends_with("HTTP 503 (expected 2xx)"),
        "{reason}"
    );

    green.set(SLOW);
    let started = std::time::Instant::now();
    let (status, reason, _) = validate_green(&config, &checker).await;
    assert_eq!(status, HookStatus::Failed);
    assert!(reason.contains("no answer within 500 ms"), "{reason}");
    assert!(started.elapsed() < Duration::from_millis(1900), "the timeout bounds a slow answer");

    green.set(WRONG_BODY);
    let (status, reason, checks) = validate_green(&config, &checker).await;
    assert_eq!(status, HookStatus::Failed);
    assert_eq!(checks.last().map(|c| c.kind), Some(CheckKind::Smoke));
    assert!(reason.contains("smoke request 1/3") && reason.contains("lacks \"pong\""), "{reason}");

    // Nothing listening: a connection failure, reported as such.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        GreenServer { port, mode: green.mode.clone() }
    };
    let config = closed.hook_config(1, 500);
    let (status, reason, _) = validate_green(&config, &bluegreen_support::checker(&config)).await;
    assert_eq!(status, HookStatus::Failed);
    assert!(reason.contains("connection failed"), "{reason}");
}

/// A deployment with the hook on AfterAllowTestTraffic, waiting in it; returns its id and
/// the pending execution's event.
async fn deployment_waiting_in_hook(w: &World) -> (String, serde_json::Value) {
    w.emu.set_durations(json!({"ecs_task_start": 10, "codedeploy_step": 2}));
    let clients = w.clients(PRIMARY).await;
    setup_bluegreen(&clients, "CodeDeployDefault.ECSAllAtOnce", 0, true).await;
    let deployer = AwsBlueGreenDeployer::new(&clients);
    let req = DeployRequest {
        image: "v2".into(),
        application: APP.into(),
        deployment_group: GROUP.into(),
        container: None,
        hooks: vec![(HookEvent::AfterAllowTestTraffic, HOOK_FUNCTION.into())],
        description: "test".into(),
    };
    let started = start(&deployer, &req).await.expect("start");
    let endpoint = w.emu.endpoint.clone();
    let ex = eventually(20, || {
        let endpoint = endpoint.clone();
        async move { pending_hooks(&endpoint, PRIMARY).await.into_iter().next() }
    })
    .await;
    assert_eq!(ex["deployment_id"], started.deployment_id.as_str());
    assert_eq!(ex["function"], HOOK_FUNCTION);
    (started.deployment_id, ex["event"].clone())
}

#[tokio::test]
async fn succeeded_is_reported_and_the_deployment_goes_on() {
    let w = World::new(60.0);
    let (id, event) = deployment_waiting_in_hook(&w).await;
    let clients = w.clients(PRIMARY).await;
    let green = GreenServer::start().await;
    let config = green.hook_config(2, 1000);
    let reporter = CodeDeployHookReporter::new(&clients);

    let report = run_hook(&event, &config, &checker(&config), &reporter).await.expect("hook");
    assert_eq!((report.status, report.reported), (HookStatus::Succeeded, true));
    assert_eq!(report.deployment_id, id);

    let deployer = AwsBlueGreenDeployer::new(&clients);
    let done = eventually(30, || async {
        let p = deployer.deployment(&id).await.expect("get deployment");
        p.status.is_final().then_some(p)
    })
    .await;
    assert_eq!(done.status, DeploymentStatus::Succeeded);
    let hook = done.lifecycle_events.iter().find(|e| e.name == "AfterAllowTestTraffic").unwrap();
    assert_eq!(hook.status, "Succeeded");

    // A repeated invocation (CodeDeploy retries) finds the execution closed: no error.
    let again = run_hook(&event, &config, &checker(&config), &reporter).await.expect("repeat");
    assert!(!again.reported);

    let writes = w.emu.writes();
    let puts: Vec<_> =
        writes.iter().filter(|w| w.starts_with("codedeploy:PutLifecycleEventHookExecutionStatus")).collect();
    assert_eq!(puts.len(), 2, "{writes:?}");
}

#[tokio::test]
async fn failed_is_reported_and_codedeploy_rolls_back() {
    let w = World::new(60.0);
    let (id, event) = deployment_waiting_in_hook(&w).await;
    let clients = w.clients(PRIMARY).await;
    let green = GreenServer::start().await;
    green.set(FAILING);
    let config = green.hook_config(2, 1000);
    let report =
        run_hook(&event, &config, &checker(&config), &CodeDeployHookReporter::new(&clients)).await.expect("hook");
    assert_eq!(report.status, HookStatus::Failed);
    assert!(report.reason.contains("HTTP 503"), "{}", report.reason);

    let deployer = AwsBlueGreenDeployer::new(&clients);
    let p = deployer.deployment(&id).await.expect("get deployment");
    assert_eq!(p.status, DeploymentStatus::Failed);
    assert_eq!(p.error.as_ref().map(|e| e.0.as_str()), Some("HOOK_EXECUTION_FAILURE"));
    assert!(p.rollback_deployment_id.is_some());
}

#[tokio::test]
async fn malformed_events_make_no_call() {
    let w = World::new(1.0);
    let clients = w.clients(PRIMARY).await;
    let green = GreenServer::start().await;
    let config = green.hook_config(1, 500);
    let reporter = CodeDeployHookReporter::new(&clients);
    for bad in [
        json!({}),
        json!({"DeploymentId": "d-ABCDEFGH1"}),
        json!({"LifecycleEventHookExecutionId": "x"}),
        json!({"DeploymentId": "not-an-id", "LifecycleEventHookExecutionId": "x"}),
        json!(["d-ABCDEFGH1"]),
    ] {
        let e = run_hook(&bad, &config, &checker(&config), &reporter).await.unwrap_err();
        assert!(!e.is_retryable(), "{bad}: {e}");
    }
    assert!(w.emu.calls().is_empty(), "no AWS call for a malformed event: {:?}", w.emu.calls());

    // An unknown deployment is CodeDeploy's answer, not retryable either.
    let e = run_hook(
        &json!({"DeploymentId": "d-NOSUCH123", "LifecycleEventHookExecutionId": "x"}),
        &config,
        &checker(&config),
        &reporter,
    )
    .await
    .unwrap_err();
    assert!(!e.is_retryable() && e.to_string().contains("DeploymentDoesNotExist"), "{e}");
}
