//! StandbyInventory over ECS DescribeTaskDefinition, ECR DescribeImages, Secrets Manager
//! DescribeSecret and Step Functions DescribeStateMachine: the readiness function's reads.

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageIdentifier;

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::ports::StandbyInventory;

pub const IAM_ACTIONS: &[&str] = &[
    "ecs:DescribeTaskDefinition",
    "ecr:DescribeImages",
    "secretsmanager:DescribeSecret",
    "states:DescribeStateMachine",
];

pub struct AwsStandbyInventory {
    region: String,
    ecs: aws_sdk_ecs::Client,
    ecr: aws_sdk_ecr::Client,
    secrets: aws_sdk_secretsmanager::Client,
    sfn: aws_sdk_sfn::Client,
}

impl AwsStandbyInventory {
    pub fn new(clients: &RegionClients) -> Self {
        AwsStandbyInventory {
            region: clients.region.clone(),
            ecs: clients.ecs.clone(),
            ecr: clients.ecr.clone(),
            secrets: clients.secretsmanager.clone(),
            sfn: clients.sfn.clone(),
        }
    }
}

/// Not found is an answer here, not an error.
fn absent<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl StandbyInventory for AwsStandbyInventory {
    fn region(&self) -> &str {
        &self.region
    }

    async fn task_definition_images(&self, task_definition: &str) -> Result<Vec<String>, AwsError> {
        const OP: &str = "DescribeTaskDefinition";
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs", OP, &self.region, e))
            .map_err(|e| {
                // ECS answers a missing task definition with ClientException.
                if e.code.as_deref() == Some("ClientException") {
                    AwsError { kind: ErrorKind::NotFound, ..e }
                } else {
                    e
                }
            })?;
        let td = out.task_definition().ok_or_else(|| {
            AwsError::new(
                "ecs",
                OP,
                &self.region,
                ErrorKind::NotFound,
                format!("task definition {task_definition} not found"),
            )
        })?;
        Ok(td.container_definitions().iter().filter_map(|c| c.image().map(str::to_string)).collect())
    }

    async fn image_exists(&self, repository: &str, reference: &str) -> Result<bool, AwsError> {
        let id = if reference.starts_with("sha256:") {
            ImageIdentifier::builder().image_digest(reference).build()
        } else {
            ImageIdentifier::builder().image_tag(reference).build()
        };
        let r = self
            .ecr
            .describe_images()
            .repository_name(repository)
            .image_ids(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecr", "DescribeImages", &self.region, e));
        Ok(absent(r)?.is_some_and(|out| !out.image_details().is_empty()))
    }

    async fn secret_exists(&self, secret_id: &str) -> Result<bool, AwsError> {
        let r = self
            .secrets
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("secretsmanager", "DescribeSecret", &self.region, e));
        Ok(absent(r)?.is_some_and(|out| out.deleted_date().is_none()))
    }

    async fn state_machine_status(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let r = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states", "DescribeStateMachine", &self.region, e))
            .map_err(|e| {
                if e.code.as_deref() == Some("StateMachineDoesNotExist") {
                    AwsError { kind: ErrorKind::NotFound, ..e }
                } else {
                    e
                }
            });
        Ok(absent(r)?.map(|out| out.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "ACTIVE".to_string())))
    }
}
