//! Shared set-up for the blue/green tests: an ECS service under the CODE_DEPLOY controller
//! with its CodeDeploy application and group in the emulator, a local "green task set" HTTP
//! server whose behaviour a test switches, and a stand-in for CodeDeploy invoking the hook.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use aws_sdk_codedeploy::types::{
    AutoRollbackConfiguration, AutoRollbackEvent, BlueGreenDeploymentConfiguration, DeploymentOption,
    DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle, DeploymentType, EcsService, InstanceAction,
    LoadBalancerInfo, TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentController, DeploymentControllerType, LoadBalancer, PortMapping,
};
use drover_core::aws::RegionClients;
use drover_core::aws::codedeploy::CodeDeployHookReporter;
use drover_core::deploy::hook::{HookConfig, HookReport, run_hook};
use drover_core::deploy::http::{HttpChecker, HttpRequestSpec, HyperChecker};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const APP: &str = "drover-shop-app";
pub const GROUP: &str = "app";
pub const CLUSTER: &str = "bg";
pub const SERVICE: &str = "app";
pub const HOOK_FUNCTION: &str = "drover-shop-bluegreen-hook";

pub fn image(region: &str, tag: &str) -> String {
    format!("123456789012.dkr.ecr.{region}.amazonaws.com/shop:{tag}")
}

/// Creates the service (task definition `shop-web:1`, image `shop:v1`) and the CodeDeploy
/// application and group; returns the first task definition's ARN.
pub async fn setup_bluegreen(clients: &RegionClients, config: &str, wait_minutes: i32, rollback: bool) -> String {
    let region = &clients.region;
    clients.ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("create cluster");
    let td = clients
        .ecs
        .register_task_definition()
        .family("shop-web")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .execution_role_arn("arn:aws:iam::123456789012:role/shop-execution")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image(image(region, "v1"))
                .essential(true)
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .build(),
        )
        .container_definitions(ContainerDefinition::builder().name("sidecar").image("public.ecr.aws/x/agent:3").build())
        .send()
        .await
        .expect("register task definition");
    let td_arn = td.task_definition().and_then(|t| t.task_definition_arn()).expect("td arn").to_string();
    clients
        .ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name(SERVICE)
        .task_definition(&td_arn)
        .desired_count(2)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .deployment_controller(
            DeploymentController::builder().r#type(DeploymentControllerType::CodeDeploy).build().expect("controller"),
        )
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(format!("arn:aws:elasticloadbalancing:{region}:123456789012:targetgroup/shop-blue/1"))
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .expect("create service");
    clients
        .codedeploy
        .create_application()
        .application_name(APP)
        .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
        .send()
        .await
        .expect("create application");
    let route = |arn: &str| TrafficRoute::builder().listener_arns(arn).build();
    clients
        .codedeploy
        .create_deployment_group()
        .application_name(APP)
        .deployment_group_name(GROUP)
        .service_role_arn("arn:aws:iam::123456789012:role/codedeploy")
        .deployment_config_name(config)
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(
            BlueGreenDeploymentConfiguration::builder()
                .terminate_blue_instances_on_deployment_success(
                    aws_sdk_codedeploy::types::BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(wait_minutes)
                        .build(),
                )
                .deployment_ready_option(
                    DeploymentReadyOption::builder()
                        .action_on_timeout(DeploymentReadyAction::ContinueDeployment)
                        .build(),
                )
                .build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder()
                .enabled(rollback)
                .events(AutoRollbackEvent::DeploymentFailure)
                .events(AutoRollbackEvent::DeploymentStopOnAlarm)
                .build(),
        )
        .ecs_services(EcsService::builder().cluster_name(CLUSTER).service_name(SERVICE).build())
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_pair_info_list(
                    TargetGroupPairInfo::builder()
                        .target_groups(TargetGroupInfo::builder().name("shop-blue").build())
                        .target_groups(TargetGroupInfo::builder().name("shop-green").build())
                        .prod_traffic_route(route("arn:listener/prod"))
                        .test_traffic_route(route("arn:listener/test"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create deployment group");
    td_arn
}

pub const HEALTHY: u8 = 0;
pub const FAILING: u8 = 1;
pub const SLOW: u8 = 2;
pub const WRONG_BODY: u8 = 3;

/// The green tasks behind the test listener: `/healthz` and `/api/ping` (`pong`), healthy,
/// failing (503), slow (answers after 2 s) or answering the smoke request without `pong`.
pub struct GreenServer {
    pub port: u16,
    pub mode: Arc<AtomicU8>,
}

impl GreenServer {
    pub async fn start() -> GreenServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mode = Arc::new(AtomicU8::new(HEALTHY));
        let m = mode.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let m = m.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, body) = match (m.load(Ordering::SeqCst), path.as_str()) {
                        (FAILING, _) => ("503 Service Unavailable", "down"),
                        (SLOW, _) => {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            ("200 OK", "pong")
                        }
                        (WRONG_BODY, "/api/ping") => ("200 OK", "ping"),
                        (_, "/healthz") => ("200 OK", "ok"),
                        (_, "/api/ping") => ("200 OK", "{\"answer\":\"pong\"}"),
                        _ => ("404 Not Found", "no"),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        GreenServer { port, mode }
    }

    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// The hook's configuration: the test listener is `green.test:<port>`, reached by
    /// connecting to 127.0.0.1 (as the Lambda reaches the ALB under the application's name).
    pub fn hook_config(&self, count: u32, timeout_ms: u64) -> HookConfig {
        let url = format!("http://green.test:{}", self.port);
        let (count, timeout) = (count.to_string(), timeout_ms.to_string());
        HookConfig::from_lookup(|k| match k {
            "DROVER_HOOK_TEST_URL" => Some(url.clone()),
            "DROVER_HOOK_CONNECT_TO" => Some("127.0.0.1".into()),
            "DROVER_HOOK_SMOKE_PATH" => Some("/api/ping".into()),
            "DROVER_HOOK_SMOKE_EXPECT_BODY" => Some("pong".into()),
            "DROVER_HOOK_COUNT" => Some(count.clone()),
            "DROVER_HOOK_INTERVAL_MS" => Some("20".into()),
            "DROVER_HOOK_TIMEOUT_MS" => Some(timeout.clone()),
            _ => None,
        })
        .expect("hook config")
    }
}

pub fn checker(config: &HookConfig) -> HyperChecker {
    HyperChecker::new(config.timeout, config.connect_rule()).expect("checker")
}

/// The hook executions CodeDeploy is waiting for in `region`.
pub async fn pending_hooks(endpoint: &str, region: &str) -> Vec<Value> {
    let plain = HyperChecker::new(Duration::from_secs(10), None).expect("client");
    let out = plain
        .send(&HttpRequestSpec {
            method: "GET".into(),
            url: format!("{endpoint}/_drover/codedeploy/hook-executions?region={region}&status=Pending"),
            body: None,
        })
        .await;
    let body: Value = serde_json::from_str(out.body.as_deref().unwrap_or("{}")).expect("control answer");
    body["executions"].as_array().cloned().unwrap_or_default()
}

/// Plays CodeDeploy: invokes the hook for every pending execution in `region` until
/// `stop` is set; returns what the hook reported, in order.
pub fn play_codedeploy(
    endpoint: String,
    region: String,
    clients: Arc<RegionClients>,
    config: HookConfig,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<HookReport>> {
    tokio::spawn(async move {
        let reporter = CodeDeployHookReporter::new(&clients);
        let checker = checker(&config);
        let mut reports = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            for ex in pending_hooks(&endpoint, &region).await {
                let report = run_hook(&ex["event"], &config, &checker, &reporter).await.expect("hook run");
                reports.push(report);
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        reports
    })
}
