//! ServiceScaler over ECS and application-autoscaling.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::ports::{Capacity, RolloutState, ServiceScaler, ServiceState};

pub const IAM_ACTIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
];

pub struct EcsServiceScaler {
    region: String,
    ecs: aws_sdk_ecs::Client,
    autoscaling: aws_sdk_applicationautoscaling::Client,
}

impl EcsServiceScaler {
    pub fn new(clients: &RegionClients) -> Self {
        EcsServiceScaler {
            region: clients.region.clone(),
            ecs: clients.ecs.clone(),
            autoscaling: clients.autoscaling.clone(),
        }
    }
}

fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[async_trait]
impl ServiceScaler for EcsServiceScaler {
    fn region(&self) -> &str {
        &self.region
    }

    async fn service(&self, cluster: &str, service: &str) -> Result<ServiceState, AwsError> {
        const OP: &str = "DescribeServices";
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", OP, &self.region, e))?;
        let Some(s) = out.services().iter().find(|s| s.service_name() == Some(service)) else {
            // ECS reports a missing service as a "failure" inside a 200 answer.
            let reason = out.failures().first().and_then(|f| f.reason()).unwrap_or("MISSING");
            return Err(AwsError::new(
                "ecs",
                OP,
                &self.region,
                ErrorKind::NotFound,
                format!("service {service} in cluster {cluster}: {reason}"),
            ));
        };
        let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
        Ok(ServiceState {
            cluster: cluster.to_string(),
            service: service.to_string(),
            status: s.status().unwrap_or_default().to_string(),
            desired: count(s.desired_count()),
            running: count(s.running_count()),
            pending: count(s.pending_count()),
            deployments: u32::try_from(s.deployments().len()).unwrap_or(u32::MAX),
            rollout: RolloutState::parse(primary.and_then(|d| d.rollout_state()).map(|r| r.as_str())),
            task_definition: s.task_definition().map(str::to_string),
        })
    }

    async fn set_desired_count(&self, cluster: &str, service: &str, desired: u32) -> Result<(), AwsError> {
        let desired = i32::try_from(desired).map_err(|_| {
            AwsError::new("ecs", "UpdateService", &self.region, ErrorKind::Rejected, "desired count too large")
        })?;
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(desired)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("ecs", "UpdateService", &self.region, e))
    }

    async fn capacity(&self, cluster: &str, service: &str) -> Result<Option<Capacity>, AwsError> {
        let out = self
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_ids(resource_id(cluster, service))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("application-autoscaling", "DescribeScalableTargets", &self.region, e))?;
        Ok(out
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == resource_id(cluster, service))
            .map(|t| Capacity { min: count(t.min_capacity()), max: count(t.max_capacity()) }))
    }

    async fn set_capacity(&self, cluster: &str, service: &str, capacity: Capacity) -> Result<(), AwsError> {
        let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        self.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id(cluster, service))
            .min_capacity(to_i32(capacity.min))
            .max_capacity(to_i32(capacity.max))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("application-autoscaling", "RegisterScalableTarget", &self.region, e))
    }
}
