//! `drover-deploy` run as a person runs it, against the emulator: exit status and output
//! for a deployment that succeeds and one that rolls back. The test plays CodeDeploy
//! invoking the hook (the emulator does not run Lambdas).

#[path = "../../../shared/tests/bluegreen_support/mod.rs"]
mod bluegreen_support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bluegreen_support::*;
use drover_core::aws::ClientFactory;
use drover_core::aws::factory::FactoryOptions;
use drover_harness::Emulator;
use serde_json::json;

const REGION: &str = "us-east-1";

async fn run_cli(emu: &Emulator, green: &GreenServer) -> (std::process::ExitStatus, String) {
    let factory = ClientFactory::with_options(FactoryOptions {
        endpoint_url: Some(emu.endpoint.clone()),
        static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
        max_attempts: None,
    });
    let clients = factory.region(REGION).await.expect("clients");
    setup_bluegreen(&clients, "CodeDeployDefault.ECSAllAtOnce", 1, true).await;
    let stop = Arc::new(AtomicBool::new(false));
    let player =
        play_codedeploy(emu.endpoint.clone(), REGION.into(), clients.clone(), green.hook_config(2, 1000), stop.clone());
    let endpoint = emu.endpoint.clone();
    // std::process on a blocking thread: tokio's process feature is not enabled here.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_drover-deploy"))
            .args([
                "--image",
                "v2",
                "--regions",
                REGION,
                "--app",
                "shop",
                "--poll-seconds",
                "1",
                "--timeout-minutes",
                "2",
            ])
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", drover_harness::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", drover_harness::SECRET_KEY)
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run drover-deploy")
    })
    .await
    .expect("drover-deploy output");
    stop.store(true, Ordering::SeqCst);
    player.await.expect("player");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_exits_zero() {
    let emu = Emulator::start(600.0);
    emu.set_durations(json!({"ecs_task_start": 60, "codedeploy_step": 5}));
    let green = GreenServer::start().await;
    let (status, text) = run_cli(&emu, &green).await;
    assert!(status.success(), "{status}\n{text}");
    assert!(text.contains("deploying v2 to drover-shop-app/app in us-east-1"), "{text}");
    assert!(text.contains("us-east-1: d-") && text.contains("succeeded: arn:aws:ecs:us-east-1"), "{text}");
    assert!(text.contains("shop:v2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_exits_one_and_says_so() {
    let emu = Emulator::start(600.0);
    emu.set_durations(json!({"ecs_task_start": 60, "codedeploy_step": 5}));
    let green = GreenServer::start().await;
    green.set(FAILING);
    let (status, text) = run_cli(&emu, &green).await;
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("ROLLED BACK (HOOK_EXECUTION_FAILURE"), "{text}");
}

#[test]
fn bad_arguments_exit_two() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_drover-deploy")).args(["--regions", REGION]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--image is required"));
}
