//! The deploy trigger against the emulator in two regions: a new revision of the task
//! definition with the new image, a CodeDeploy deployment with its AppSpec and hooks,
//! followed to its end; region after region, stopping at the first that does not succeed.

mod bluegreen_support;
#[allow(unused_imports)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bluegreen_support::*;
use common::{PRIMARY, STANDBY, World};
use drover_core::aws::bluegreen::AwsBlueGreenDeployer;
use drover_core::deploy::rollout::{DeployRequest, FollowOptions, HookEvent, Outcome, deploy_regions};
use drover_core::ports::{BlueGreenDeployer, HookStatus};
use serde_json::json;

fn request() -> DeployRequest {
    DeployRequest {
        image: "v2".into(),
        application: APP.into(),
        deployment_group: GROUP.into(),
        container: None,
        hooks: vec![
            (HookEvent::AfterAllowTestTraffic, HOOK_FUNCTION.into()),
            (HookEvent::BeforeAllowTraffic, HOOK_FUNCTION.into()),
        ],
        description: "drover-deploy test".into(),
    }
}

const FOLLOW: FollowOptions = FollowOptions { poll: Duration::from_millis(50), timeout: Duration::from_secs(60) };

async fn service_task_definition(clients: &drover_core::aws::RegionClients) -> String {
    let out = clients.ecs.describe_services().cluster(CLUSTER).services(SERVICE).send().await.expect("describe");
    out.services()[0].task_definition().unwrap_or_default().to_string()
}

async fn images(clients: &drover_core::aws::RegionClients, td: &str) -> Vec<(String, String)> {
    let out = clients.ecs.describe_task_definition().task_definition(td).send().await.expect("describe td");
    out.task_definition()
        .unwrap()
        .container_definitions()
        .iter()
        .map(|c| (c.name.clone().unwrap_or_default(), c.image.clone().unwrap_or_default()))
        .collect()
}

struct Players {
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<Vec<drover_core::deploy::hook::HookReport>>>,
}

impl Players {
    async fn finish(self) -> Vec<drover_core::deploy::hook::HookReport> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for h in self.handles {
            all.extend(h.await.expect("player"));
        }
        all
    }
}

async fn play_both(w: &World, green: &GreenServer) -> Players {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for region in [PRIMARY, STANDBY] {
        handles.push(play_codedeploy(
            w.emu.endpoint.clone(),
            region.to_string(),
            w.clients(region).await,
            green.hook_config(2, 1000),
            stop.clone(),
        ));
    }
    Players { stop, handles }
}

#[tokio::test]
async fn happy_path_in_both_regions() {
    let w = World::new(600.0);
    w.emu.set_durations(json!({"ecs_task_start": 60, "codedeploy_step": 5}));
    let east = w.clients(PRIMARY).await;
    let west = w.clients(STANDBY).await;
    let old_east = setup_bluegreen(&east, "CodeDeployDefault.ECSCanary10Percent5Minutes", 5, true).await;
    let old_west = setup_bluegreen(&west, "CodeDeployDefault.ECSAllAtOnce", 0, true).await;
    let green = GreenServer::start().await;
    let players = play_both(&w, &green).await;

    let deployers = [AwsBlueGreenDeployer::new(&east), AwsBlueGreenDeployer::new(&west)];
    let refs: Vec<&dyn BlueGreenDeployer> = deployers.iter().map(|d| d as &dyn BlueGreenDeployer).collect();
    let mut lines = Vec::new();
    let results =
        deploy_regions(&refs, &request(), FOLLOW, &mut |l: &str| lines.push(l.to_string())).await.expect("deploy");
    let reports = players.finish().await;

    let text = lines.join("\n");
    assert_eq!(results.len(), 2, "{text}");
    for (r, (clients, old)) in results.iter().zip([(&east, &old_east), (&west, &old_west)]) {
        assert_eq!(r.outcome, Outcome::Succeeded, "{text}");
        assert_eq!(&r.previous_task_definition, old);
        assert_ne!(&r.task_definition, old);
        assert_eq!(service_task_definition(clients).await, r.task_definition, "the service runs the new revision");
        let imgs = images(clients, &r.task_definition).await;
        assert_eq!(imgs[0], ("web".to_string(), image(&clients.region, "v2")), "each region keeps its own ECR");
        assert_eq!(imgs[1].1, "public.ecr.aws/x/agent:3", "the other containers are copied unchanged");
    }
    assert_eq!(reports.len(), 4, "two hooks in each region: {reports:?}");
    assert!(reports.iter().all(|r| r.status == HookStatus::Succeeded && r.reported));
    // What a person sees: creation, the hooks, the canary, the termination wait, the end.
    for want in [
        "us-east-1: deployment d-",
        "AfterAllowTestTraffic InProgress",
        "green 10%",
        "waiting to terminate the old tasks",
        "us-west-2: deployment d-",
        "Succeeded",
    ] {
        assert!(text.contains(want), "progress lacks {want:?}:\n{text}");
    }
    let east_at = text.find("us-east-1: deployment").unwrap();
    let west_at = text.find("us-west-2: deployment").unwrap();
    assert!(east_at < west_at, "regions go one after the other");
}

#[tokio::test]
async fn a_failing_green_rolls_back_and_spares_the_other_region() {
    let w = World::new(600.0);
    w.emu.set_durations(json!({"ecs_task_start": 60, "codedeploy_step": 5}));
    let east = w.clients(PRIMARY).await;
    let west = w.clients(STANDBY).await;
    let old_east = setup_bluegreen(&east, "CodeDeployDefault.ECSAllAtOnce", 0, true).await;
    let old_west = setup_bluegreen(&west, "CodeDeployDefault.ECSAllAtOnce", 0, true).await;
    let green = GreenServer::start().await;
    green.set(FAILING);
    w.emu.clear_calls();
    let players = play_both(&w, &green).await;

    let deployers = [AwsBlueGreenDeployer::new(&east), AwsBlueGreenDeployer::new(&west)];
    let refs: Vec<&dyn BlueGreenDeployer> = deployers.iter().map(|d| d as &dyn BlueGreenDeployer).collect();
    let mut lines = Vec::new();
    let results =
        deploy_regions(&refs, &request(), FOLLOW, &mut |l: &str| lines.push(l.to_string())).await.expect("deploy");
    let reports = players.finish().await;
    let text = lines.join("\n");

    assert_eq!(results.len(), 1, "the second region is not deployed:\n{text}");
    match &results[0].outcome {
        Outcome::RolledBack { code, rollback_status, .. } => {
            assert_eq!(code, "HOOK_EXECUTION_FAILURE");
            assert_eq!(rollback_status, "Succeeded");
        }
        other => panic!("expected a rollback, got {other:?}\n{text}"),
    }
    assert_eq!(service_task_definition(&east).await, old_east, "blue serves again");
    assert_eq!(service_task_definition(&west).await, old_west);
    assert!(text.contains("rollback d-") && text.contains("remaining regions are left as they are"), "{text}");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, HookStatus::Failed);
    let west_writes: Vec<_> = w.emu.writes().into_iter().filter(|c| c.ends_with("@us-west-2")).collect();
    assert!(west_writes.is_empty(), "nothing written in the spared region: {west_writes:?}");
}

#[tokio::test]
async fn a_deployment_nobody_validates_times_out_and_one_without_rollback_fails() {
    let w = World::new(600.0);
    let east = w.clients(PRIMARY).await;
    setup_bluegreen(&east, "CodeDeployDefault.ECSAllAtOnce", 0, false).await;
    let deployer = AwsBlueGreenDeployer::new(&east);
    let refs: Vec<&dyn BlueGreenDeployer> = vec![&deployer];
    let quick = FollowOptions { poll: Duration::from_millis(50), timeout: Duration::from_millis(600) };
    let results = deploy_regions(&refs, &request(), quick, &mut |_: &str| {}).await.expect("deploy");
    assert_eq!(results[0].outcome, Outcome::TimedOut { status: "InProgress".into() });

    // Stopped by hand, no automatic rollback configured: Failed, not rolled back.
    deployer.stop_deployment(&results[0].deployment_id, false).await.expect("stop");
    let p = deployer.deployment(&results[0].deployment_id).await.expect("get");
    assert_eq!(p.error.map(|e| e.0), Some("MANUAL_STOP".to_string()));
    let mut no_hooks = request();
    no_hooks.hooks.clear();
    no_hooks.image = "bad image".into();
    let e = deploy_regions(&refs, &no_hooks, quick, &mut |_: &str| {}).await.unwrap_err();
    assert!(e.to_string().contains("not an image reference"), "{e}");
}
