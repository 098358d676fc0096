//! BlueGreenDeployer over CodeDeploy and ECS: what the deploy trigger (a person's credentials,
//! not a Lambda) calls. Registering a task definition that names roles also needs
//! `iam:PassRole` on the task and execution roles; IAM checks it, no SDK call makes it.

use async_trait::async_trait;
use aws_sdk_codedeploy::types::{AppSpecContent, AutoRollbackEvent, RevisionLocation, RevisionLocationType};
use aws_sdk_ecs::types::TaskDefinitionField;

use crate::aws::RegionClients;
use crate::aws::codedeploy::reclassify;
use crate::error::{AwsError, ErrorKind};
use crate::ports::{
    BlueGreenDeployer, DeploymentGroupTarget, DeploymentProgress, DeploymentStatus, LifecycleEventState,
    ServiceRevision, TaskSetTraffic,
};

pub const IAM_ACTIONS: &[&str] = &[
    "codedeploy:GetDeploymentGroup",
    "codedeploy:CreateDeployment",
    "codedeploy:GetDeployment",
    "codedeploy:ListDeploymentTargets",
    "codedeploy:GetDeploymentTarget",
    "codedeploy:StopDeployment",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
];

pub struct AwsBlueGreenDeployer {
    region: String,
    codedeploy: aws_sdk_codedeploy::Client,
    ecs: aws_sdk_ecs::Client,
}

impl AwsBlueGreenDeployer {
    pub fn new(clients: &RegionClients) -> Self {
        AwsBlueGreenDeployer {
            region: clients.region.clone(),
            codedeploy: clients.codedeploy.clone(),
            ecs: clients.ecs.clone(),
        }
    }

    fn cd_err<E>(
        &self,
        op: &'static str,
    ) -> impl FnOnce(
        aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> AwsError
    + '_
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| reclassify(AwsError::from_sdk("codedeploy", op, &self.region, e))
    }

    fn missing(&self, service: &'static str, op: &'static str, what: String) -> AwsError {
        AwsError::new(service, op, &self.region, ErrorKind::NotFound, what)
    }
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[async_trait]
impl BlueGreenDeployer for AwsBlueGreenDeployer {
    fn region(&self) -> &str {
        &self.region
    }

    async fn deployment_group(&self, application: &str, group: &str) -> Result<DeploymentGroupTarget, AwsError> {
        const OP: &str = "GetDeploymentGroup";
        let out = self
            .codedeploy
            .get_deployment_group()
            .application_name(application)
            .deployment_group_name(group)
            .send()
            .await
            .map_err(self.cd_err(OP))?;
        let info = out
            .deployment_group_info()
            .ok_or_else(|| self.missing("codedeploy", OP, format!("deployment group {application}/{group}")))?;
        let svc = info.ecs_services().first().ok_or_else(|| {
            AwsError::new(
                "codedeploy",
                OP,
                &self.region,
                ErrorKind::Rejected,
                format!("deployment group {application}/{group} names no ECS service (not an ECS blue/green group)"),
            )
        })?;
        let rollback = info.auto_rollback_configuration();
        Ok(DeploymentGroupTarget {
            application: application.to_string(),
            deployment_group: group.to_string(),
            cluster: svc.cluster_name().unwrap_or_default().to_string(),
            service: svc.service_name().unwrap_or_default().to_string(),
            deployment_config: info.deployment_config_name().unwrap_or_default().to_string(),
            rollback_on_failure: rollback
                .is_some_and(|r| r.enabled() && r.events().contains(&AutoRollbackEvent::DeploymentFailure)),
        })
    }

    async fn service_revision(&self, cluster: &str, service: &str) -> Result<ServiceRevision, AwsError> {
        const OP: &str = "DescribeServices";
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", OP, &self.region, e))?;
        let s = out
            .services()
            .iter()
            .find(|s| s.service_name() == Some(service))
            .ok_or_else(|| self.missing("ecs", OP, format!("service {service} in cluster {cluster}")))?;
        let task_definition = s
            .task_definition()
            .ok_or_else(|| self.missing("ecs", OP, format!("service {service} has no task definition")))?;
        let lb = s.load_balancers().iter().find(|lb| lb.container_name().is_some()).ok_or_else(|| {
            AwsError::new(
                "ecs",
                OP,
                &self.region,
                ErrorKind::Rejected,
                format!("service {service} has no load balancer with a container: blue/green needs one"),
            )
        })?;
        Ok(ServiceRevision {
            task_definition: task_definition.to_string(),
            container_name: lb.container_name().unwrap_or_default().to_string(),
            container_port: lb.container_port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        })
    }

    async fn container_image(&self, task_definition: &str, container: &str) -> Result<String, AwsError> {
        const OP: &str = "DescribeTaskDefinition";
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", OP, &self.region, e))?;
        out.task_definition()
            .and_then(|td| td.container_definitions().iter().find(|c| c.name.as_deref() == Some(container)))
            .and_then(|c| c.image.clone())
            .ok_or_else(|| {
                self.missing("ecs", OP, format!("container {container:?} in task definition {task_definition}"))
            })
    }

    async fn register_revision(&self, task_definition: &str, container: &str, image: &str) -> Result<String, AwsError> {
        const OP: &str = "DescribeTaskDefinition";
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", OP, &self.region, e))?;
        let td = out
            .task_definition()
            .ok_or_else(|| self.missing("ecs", OP, format!("task definition {task_definition}")))?;
        let mut containers = td.container_definitions().to_vec();
        let target = containers.iter_mut().find(|c| c.name.as_deref() == Some(container)).ok_or_else(|| {
            AwsError::new(
                "ecs",
                OP,
                &self.region,
                ErrorKind::Rejected,
                format!("task definition {task_definition} has no container {container:?}"),
            )
        })?;
        target.image = Some(image.to_string());
        let tags = out.tags().to_vec();
        // Everything RegisterTaskDefinition accepts, copied; ECS fills in the rest.
        let registered = self
            .ecs
            .register_task_definition()
            .set_family(td.family().map(str::to_string))
            .set_task_role_arn(td.task_role_arn().map(str::to_string))
            .set_execution_role_arn(td.execution_role_arn().map(str::to_string))
            .set_network_mode(td.network_mode().cloned())
            .set_container_definitions(Some(containers))
            .set_volumes(Some(td.volumes().to_vec()).filter(|v| !v.is_empty()))
            .set_placement_constraints(Some(td.placement_constraints().to_vec()).filter(|v| !v.is_empty()))
            .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()).filter(|v| !v.is_empty()))
            .set_cpu(td.cpu().map(str::to_string))
            .set_memory(td.memory().map(str::to_string))
            .set_tags(Some(tags).filter(|v| !v.is_empty()))
            .set_pid_mode(td.pid_mode().cloned())
            .set_ipc_mode(td.ipc_mode().cloned())
            .set_proxy_configuration(td.proxy_configuration().cloned())
            .set_ephemeral_storage(td.ephemeral_storage().cloned())
            .set_runtime_platform(td.runtime_platform().cloned())
            .set_enable_fault_injection(td.enable_fault_injection())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", "RegisterTaskDefinition", &self.region, e))?;
        registered.task_definition().and_then(|t| t.task_definition_arn()).map(str::to_string).ok_or_else(|| {
            AwsError::new(
                "ecs",
                "RegisterTaskDefinition",
                &self.region,
                ErrorKind::Unavailable,
                "the answer carries no task definition ARN",
            )
        })
    }

    async fn create_deployment(
        &self,
        application: &str,
        group: &str,
        appspec: &str,
        description: &str,
    ) -> Result<String, AwsError> {
        const OP: &str = "CreateDeployment";
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(AppSpecContent::builder().content(appspec).build())
            .build();
        let out = self
            .codedeploy
            .create_deployment()
            .application_name(application)
            .deployment_group_name(group)
            .revision(revision)
            .description(description)
            .send()
            .await
            .map_err(self.cd_err(OP))?;
        out.deployment_id().map(str::to_string).ok_or_else(|| {
            AwsError::new("codedeploy", OP, &self.region, ErrorKind::Unavailable, "the answer carries no deployment id")
        })
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentProgress, AwsError> {
        const OP: &str = "GetDeployment";
        let out =
            self.codedeploy.get_deployment().deployment_id(deployment_id).send().await.map_err(self.cd_err(OP))?;
        let info = out
            .deployment_info()
            .ok_or_else(|| self.missing("codedeploy", OP, format!("deployment {deployment_id}")))?;
        let status = DeploymentStatus::parse(info.status().map(|s| s.as_str()).unwrap_or("Unknown"));
        let error = info.error_information().and_then(|e| {
            let code = e.code().map(|c| c.as_str().to_string());
            let message = e.message().map(str::to_string);
            (code.is_some() || message.is_some()).then(|| (code.unwrap_or_default(), message.unwrap_or_default()))
        });
        let rollback = info.rollback_info();
        let mut progress = DeploymentProgress {
            deployment_id: deployment_id.to_string(),
            status: status.clone(),
            error,
            rollback_deployment_id: rollback.and_then(|r| r.rollback_deployment_id()).map(str::to_string),
            rollback_message: rollback.and_then(|r| r.rollback_message()).map(str::to_string),
            termination_wait_started: info.instance_termination_wait_time_started(),
            lifecycle_events: Vec::new(),
            task_sets: Vec::new(),
        };
        if matches!(status, DeploymentStatus::Created | DeploymentStatus::Queued) {
            return Ok(progress);
        }
        // The ECS target carries the lifecycle events and the traffic split; a deployment
        // that has not started has none, which is not an error here.
        let targets = match self.codedeploy.list_deployment_targets().deployment_id(deployment_id).send().await {
            Ok(t) => t,
            Err(e) => {
                let e = reclassify(AwsError::from_sdk("codedeploy", "ListDeploymentTargets", &self.region, e));
                if e.kind == ErrorKind::InvalidState {
                    return Ok(progress);
                }
                return Err(e);
            }
        };
        let Some(target_id) = targets.target_ids().first() else {
            return Ok(progress);
        };
        let target = self
            .codedeploy
            .get_deployment_target()
            .deployment_id(deployment_id)
            .target_id(target_id)
            .send()
            .await
            .map_err(self.cd_err("GetDeploymentTarget"))?;
        if let Some(on_ecs) = target.deployment_target().and_then(|t| t.ecs_target()) {
            progress.lifecycle_events = on_ecs
                .lifecycle_events()
                .iter()
                .map(|e| LifecycleEventState {
                    name: e.lifecycle_event_name().unwrap_or_default().to_string(),
                    status: e.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Unknown".into()),
                })
                .collect();
            progress.task_sets = on_ecs
                .task_sets_info()
                .iter()
                .map(|t| TaskSetTraffic {
                    label: t.task_set_label().map(|l| l.as_str().to_uppercase()).unwrap_or_default(),
                    traffic_weight: t.traffic_weight(),
                    running: count(t.running_count()),
                    desired: count(t.desired_count()),
                })
                .collect();
        }
        Ok(progress)
    }

    async fn stop_deployment(&self, deployment_id: &str, rollback: bool) -> Result<(), AwsError> {
        self.codedeploy
            .stop_deployment()
            .deployment_id(deployment_id)
            .auto_rollback_enabled(rollback)
            .send()
            .await
            .map(|_| ())
            .map_err(self.cd_err("StopDeployment"))
    }
}
