//! LifecycleHookReporter over CodeDeploy PutLifecycleEventHookExecutionStatus: the
//! bluegreen-hook's one AWS call.

use async_trait::async_trait;
use aws_sdk_codedeploy::types::LifecycleEventStatus;

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::ports::{HookStatus, LifecycleHookReporter};

pub const IAM_ACTIONS: &[&str] = &["codedeploy:PutLifecycleEventHookExecutionStatus"];

pub struct CodeDeployHookReporter {
    region: String,
    codedeploy: aws_sdk_codedeploy::Client,
}

impl CodeDeployHookReporter {
    pub fn new(clients: &RegionClients) -> Self {
        CodeDeployHookReporter { region: clients.region.clone(), codedeploy: clients.codedeploy.clone() }
    }
}

#[async_trait]
impl LifecycleHookReporter for CodeDeployHookReporter {
    fn region(&self) -> &str {
        &self.region
    }

    async fn report_hook(&self, deployment_id: &str, execution_id: &str, status: HookStatus) -> Result<(), AwsError> {
        const OP: &str = "PutLifecycleEventHookExecutionStatus";
        let status = match status {
            HookStatus::Succeeded => LifecycleEventStatus::Succeeded,
            HookStatus::Failed => LifecycleEventStatus::Failed,
        };
        self.codedeploy
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(deployment_id)
            .lifecycle_event_hook_execution_id(execution_id)
            .status(status)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("codedeploy", OP, &self.region, e))
            .map_err(reclassify)
    }
}

/// CodeDeploy names its state errors in its own words; say what they mean.
pub(crate) fn reclassify(e: AwsError) -> AwsError {
    let kind = match e.code.as_deref() {
        Some("DeploymentDoesNotExistException")
        | Some("DeploymentGroupDoesNotExistException")
        | Some("ApplicationDoesNotExistException")
        | Some("DeploymentTargetDoesNotExistException") => ErrorKind::NotFound,
        Some("LifecycleEventAlreadyCompletedException")
        | Some("DeploymentAlreadyCompletedException")
        | Some("DeploymentLimitExceededException")
        | Some("DeploymentNotStartedException") => ErrorKind::InvalidState,
        _ => return e,
    };
    AwsError { kind, ..e }
}
