//! The deploy trigger's logic: a new task definition revision with the new image, a
//! CodeDeploy ECS blue/green deployment with its AppSpec, followed to its end.
//!
//! Regions go one after the other: the second region is deployed only when the first one
//! succeeded, so a bad image cannot take down both halves of a disaster-recovery pair.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::AwsError;
use crate::ports::{BlueGreenDeployer, DeploymentProgress, DeploymentStatus};

/// The ECS lifecycle events a hook may run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookEvent {
    BeforeInstall,
    AfterInstall,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AfterAllowTraffic,
}

impl HookEvent {
    pub const ALL: [HookEvent; 5] = [
        HookEvent::BeforeInstall,
        HookEvent::AfterInstall,
        HookEvent::AfterAllowTestTraffic,
        HookEvent::BeforeAllowTraffic,
        HookEvent::AfterAllowTraffic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::BeforeInstall => "BeforeInstall",
            HookEvent::AfterInstall => "AfterInstall",
            HookEvent::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            HookEvent::BeforeAllowTraffic => "BeforeAllowTraffic",
            HookEvent::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// The AppSpec of an ECS deployment, as JSON (CodeDeploy takes JSON or YAML content).
pub fn appspec(task_definition: &str, container: &str, port: u16, hooks: &[(HookEvent, String)]) -> Value {
    json!({
        "version": 0.0,
        "Resources": [{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": task_definition,
                    "LoadBalancerInfo": { "ContainerName": container, "ContainerPort": port }
                }
            }
        }],
        "Hooks": hooks.iter().map(|(event, function)| json!({ event.as_str(): function })).collect::<Vec<_>>()
    })
}

/// The image to run in `region`, from what the person asked for and what runs now.
///
/// - A tag (`v42`, `:v42`) or a digest (`@sha256:…`) replaces the tag or digest of the
///   running image: the same repository, so each region keeps pulling from its own ECR
///   replica.
/// - A full reference is used as given, except that an ECR registry of another region
///   (`<account>.dkr.ecr.<region>.amazonaws.com`) is moved to `region`: ECR replication puts
///   the repository there, and a region must not pull from the one it may have to replace.
pub fn image_for(requested: &str, current: &str, region: &str) -> Result<String, String> {
    let requested = requested.trim();
    if requested.is_empty() || requested.contains(char::is_whitespace) {
        return Err(format!("{requested:?} is not an image reference"));
    }
    let repository = |image: &str| -> String {
        let without_digest = image.split('@').next().unwrap_or(image);
        // A ':' after the last '/' starts the tag (one before it is a registry port).
        match without_digest.rfind(':') {
            Some(i) if i > without_digest.rfind('/').unwrap_or(0) => without_digest[..i].to_string(),
            _ => without_digest.to_string(),
        }
    };
    if let Some(digest) = requested.strip_prefix('@') {
        return Ok(format!("{}@{digest}", repository(current)));
    }
    let tag = requested.strip_prefix(':').unwrap_or(requested);
    if !requested.contains('/') && !tag.contains(':') && !tag.contains('@') {
        return Ok(format!("{}:{tag}", repository(current)));
    }
    let (registry, rest) = requested.split_once('/').unwrap_or(("", requested));
    let parts: Vec<&str> = registry.split('.').collect();
    if parts.len() == 6 && parts[1] == "dkr" && parts[2] == "ecr" && parts[4] == "amazonaws" && parts[3] != region {
        return Ok(format!("{}.dkr.ecr.{region}.amazonaws.com/{rest}", parts[0]));
    }
    Ok(requested.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRequest {
    pub image: String,
    pub application: String,
    pub deployment_group: String,
    /// The container that gets the image; by default the one behind the load balancer.
    pub container: Option<String>,
    /// Lambda function (name or ARN) per lifecycle event.
    pub hooks: Vec<(HookEvent, String)>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    pub poll: Duration,
    /// For the deployment and its rollback together.
    pub timeout: Duration,
}

/// How a region's deployment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// The deployment failed or was stopped and CodeDeploy rolled back to the old tasks.
    RolledBack {
        code: String,
        message: String,
        rollback_deployment_id: String,
        rollback_status: String,
    },
    /// Failed or stopped with no rollback (auto-rollback off).
    Failed {
        status: String,
        code: String,
        message: String,
    },
    /// Still running when the timeout ran out; it goes on without us.
    TimedOut {
        status: String,
    },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionResult {
    pub region: String,
    pub deployment_id: String,
    pub task_definition: String,
    pub previous_task_definition: String,
    pub image: String,
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{region}: {source}")]
    Aws { region: String, source: AwsError },
    #[error("{0}")]
    Invalid(String),
}

fn aws(region: &str) -> impl FnOnce(AwsError) -> DeployError + '_ {
    move |source| DeployError::Aws { region: region.to_string(), source }
}

/// A one-line summary of a progress reading, for the person watching.
pub fn progress_line(p: &DeploymentProgress) -> String {
    let mut s = format!("{} {:?}", p.deployment_id, p.status);
    if !p.lifecycle_events.is_empty() {
        let current = p
            .lifecycle_events
            .iter()
            .find(|e| e.status == "InProgress")
            .or_else(|| p.lifecycle_events.iter().rev().find(|e| e.status != "Pending"));
        let done = p.lifecycle_events.iter().filter(|e| e.status == "Succeeded" || e.status == "Skipped").count();
        if let Some(e) = current {
            let _ = write!(s, " | {} {} ({done}/{} events done)", e.name, e.status, p.lifecycle_events.len());
        }
    }
    if !p.task_sets.is_empty() {
        let traffic: Vec<String> = p
            .task_sets
            .iter()
            .map(|t| format!("{} {:.0}% {}/{} tasks", t.label.to_lowercase(), t.traffic_weight, t.running, t.desired))
            .collect();
        let _ = write!(s, " | {}", traffic.join(", "));
    }
    if p.termination_wait_started && !p.status.is_final() {
        s.push_str(" | waiting to terminate the old tasks");
    }
    if let Some((code, message)) = &p.error {
        let _ = write!(s, " | {code}: {message}");
    }
    s
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub deployment_id: String,
    pub task_definition: String,
    pub previous_task_definition: String,
    pub image: String,
    pub previous_image: String,
}

/// Registers the new revision and creates the deployment.
pub async fn start(deployer: &dyn BlueGreenDeployer, req: &DeployRequest) -> Result<Started, DeployError> {
    let region = deployer.region();
    let group = deployer.deployment_group(&req.application, &req.deployment_group).await.map_err(aws(region))?;
    let current = deployer.service_revision(&group.cluster, &group.service).await.map_err(aws(region))?;
    let container = req.container.clone().unwrap_or_else(|| current.container_name.clone());
    let previous_image = deployer.container_image(&current.task_definition, &container).await.map_err(aws(region))?;
    let image = image_for(&req.image, &previous_image, region).map_err(DeployError::Invalid)?;
    let task_definition =
        deployer.register_revision(&current.task_definition, &container, &image).await.map_err(aws(region))?;
    let spec = appspec(&task_definition, &current.container_name, current.container_port, &req.hooks);
    let id = deployer
        .create_deployment(&req.application, &req.deployment_group, &spec.to_string(), &req.description)
        .await
        .map_err(aws(region))?;
    Ok(Started {
        deployment_id: id,
        task_definition,
        previous_task_definition: current.task_definition,
        image,
        previous_image,
    })
}

/// Polls until the deployment (and any rollback it starts) ends or the timeout runs out;
/// `on_progress` gets a line whenever what a person would see changes.
pub async fn follow(
    deployer: &dyn BlueGreenDeployer,
    deployment_id: &str,
    options: FollowOptions,
    on_progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Outcome, DeployError> {
    let region = deployer.region().to_string();
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut last = String::new();
    let mut watch = |p: &DeploymentProgress, prefix: &str| {
        let line = format!("{prefix}{}", progress_line(p));
        if line != last {
            on_progress(&line);
            last = line;
        }
    };
    let ended = loop {
        let p = deployer.deployment(deployment_id).await.map_err(aws(&region))?;
        watch(&p, "");
        if p.status.is_final() {
            break p;
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Outcome::TimedOut { status: format!("{:?}", p.status) });
        }
        tokio::time::sleep(options.poll).await;
    };
    if ended.status == DeploymentStatus::Succeeded {
        return Ok(Outcome::Succeeded);
    }
    let (code, message) = ended.error.clone().unwrap_or_else(|| ("UNKNOWN".into(), "no error information".into()));
    let Some(rollback_id) = ended.rollback_deployment_id.clone() else {
        return Ok(Outcome::Failed { status: format!("{:?}", ended.status), code, message });
    };
    // The rollback is a deployment of its own: follow it too, so the person knows the old
    // tasks serve again.
    let rollback_status = loop {
        let p = deployer.deployment(&rollback_id).await.map_err(aws(&region))?;
        watch(&p, "rollback ");
        if p.status.is_final() || tokio::time::Instant::now() >= deadline {
            break format!("{:?}", p.status);
        }
        tokio::time::sleep(options.poll).await;
    };
    Ok(Outcome::RolledBack { code, message, rollback_deployment_id: rollback_id, rollback_status })
}

/// Deploys region after region, stopping at the first that does not succeed. Each progress
/// line is prefixed with its region.
pub async fn deploy_regions(
    deployers: &[&dyn BlueGreenDeployer],
    req: &DeployRequest,
    options: FollowOptions,
    on_progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<RegionResult>, DeployError> {
    let mut results = Vec::new();
    for deployer in deployers {
        let region = deployer.region().to_string();
        let s = start(*deployer, req).await?;
        on_progress(&format!(
            "{region}: deployment {} created: {} -> {} ({} -> {})",
            s.deployment_id, s.previous_image, s.image, s.previous_task_definition, s.task_definition
        ));
        let mut prefixed = |line: &str| on_progress(&format!("{region}: {line}"));
        let outcome = follow(*deployer, &s.deployment_id, options, &mut prefixed).await?;
        let success = outcome.is_success();
        results.push(RegionResult {
            region: region.clone(),
            deployment_id: s.deployment_id,
            task_definition: s.task_definition,
            previous_task_definition: s.previous_task_definition,
            image: s.image,
            outcome,
        });
        if !success {
            if results.len() < deployers.len() {
                on_progress(&format!("{region}: did not succeed; the remaining regions are left as they are"));
            }
            break;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_follow_the_region() {
        let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:v1";
        let west = "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop";
        assert_eq!(image_for("v2", ecr, "us-east-1").unwrap(), "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:v2");
        assert_eq!(image_for(":v2", &format!("{west}:v1"), "us-west-2").unwrap(), format!("{west}:v2"));
        assert_eq!(
            image_for("@sha256:abc", &format!("{west}@sha256:def"), "us-west-2").unwrap(),
            format!("{west}@sha256:abc")
        );
        assert_eq!(image_for("v2", "localhost:5000/shop", "us-west-2").unwrap(), "localhost:5000/shop:v2");
        assert_eq!(image_for("v2", "shop/web", "us-west-2").unwrap(), "shop/web:v2");
        assert_eq!(image_for(ecr, "x", "us-west-2").unwrap(), format!("{west}:v1"));
        assert_eq!(image_for(ecr, "x", "us-east-1").unwrap(), ecr);
        assert_eq!(image_for("ghcr.io/acme/shop:v3", "x", "us-west-2").unwrap(), "ghcr.io/acme/shop:v3");
        assert!(image_for("", "x", "us-east-1").is_err() && image_for("a b", "x", "us-east-1").is_err());
    }

    #[test]
    fn appspec_has_the_ecs_shape() {
        let spec = appspec(
            "arn:aws:ecs:us-east-1:1:task-definition/shop-web:7",
            "web",
            8080,
            &[(HookEvent::AfterAllowTestTraffic, "drover-shop-bluegreen-hook".into())],
        );
        let props = &spec["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(spec["Resources"][0]["TargetService"]["Type"], "AWS::ECS::Service");
        assert_eq!(props["TaskDefinition"], "arn:aws:ecs:us-east-1:1:task-definition/shop-web:7");
        assert_eq!(props["LoadBalancerInfo"], json!({"ContainerName": "web", "ContainerPort": 8080}));
        assert_eq!(spec["Hooks"], json!([{"AfterAllowTestTraffic": "drover-shop-bluegreen-hook"}]));
        assert_eq!(spec["version"].as_f64(), Some(0.0));
        assert_eq!(HookEvent::parse("BeforeAllowTraffic"), Some(HookEvent::BeforeAllowTraffic));
        assert_eq!(HookEvent::parse("AllowTraffic"), None);
    }
}
