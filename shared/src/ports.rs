//! One narrow trait per capability. Steps and policy see only these; `aws` implements them.
//!
//! Each implementation is bound to ONE region (the one its clients were built for), so a step
//! cannot reach into the failed region by accident: calling the old primary is an explicit
//! choice of a second adapter.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Gate, RecordType};
use crate::error::AwsError;
use crate::events::published::PublishedEvent;

// ---------- GlobalDatabase (RDS + the replication-lag metric) ----------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlobalClusterStatus {
    Available,
    FailingOver,
    SwitchingOver,
    Modifying,
    Creating,
    Deleting,
    Other(String),
}

impl GlobalClusterStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "available" => Self::Available,
            "failing-over" => Self::FailingOver,
            "switching-over" => Self::SwitchingOver,
            "modifying" => Self::Modifying,
            "creating" => Self::Creating,
            "deleting" => Self::Deleting,
            other => Self::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverStatus {
    Pending,
    FailingOver,
    Cancelling,
    Other(String),
}

impl FailoverStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "failing-over" => Self::FailingOver,
            "cancelling" => Self::Cancelling,
            other => Self::Other(other.to_string()),
        }
    }
}

/// A failover or switchover in flight, as `DescribeGlobalClusters` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverState {
    pub status: FailoverStatus,
    pub from_cluster_arn: Option<String>,
    pub to_cluster_arn: Option<String>,
    pub data_loss_allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMember {
    pub cluster_arn: String,
    pub is_writer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalCluster {
    pub id: String,
    pub status: GlobalClusterStatus,
    pub engine_version: Option<String>,
    pub members: Vec<GlobalMember>,
    pub failover: Option<FailoverState>,
}

impl GlobalCluster {
    pub fn writer(&self) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.is_writer)
    }

    pub fn member(&self, cluster_arn: &str) -> Option<&GlobalMember> {
        self.members.iter().find(|m| m.cluster_arn == cluster_arn)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCluster {
    pub id: String,
    pub arn: String,
    /// `available`, `failing-over`, `modifying`, … as RDS reports it.
    pub status: String,
    pub engine_version: Option<String>,
    pub global_cluster_id: Option<String>,
}

/// A replication-lag reading: the RPO evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagSample {
    pub metric: String,
    pub lag: Duration,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait GlobalDatabase: Send + Sync {
    fn region(&self) -> &str;
    async fn global_cluster(&self, global_cluster_id: &str) -> Result<GlobalCluster, AwsError>;
    async fn cluster(&self, cluster_id: &str) -> Result<DbCluster, AwsError>;
    /// Managed failover (`AllowDataLoss` when the primary is lost), called in the target's region.
    async fn failover(
        &self,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> Result<(), AwsError>;
    /// Switchover: both regions healthy, no data loss.
    async fn switchover(&self, global_cluster_id: &str, target_cluster_arn: &str) -> Result<(), AwsError>;
    /// Detach a member so it becomes a standalone writer (last resort).
    async fn detach(&self, global_cluster_id: &str, cluster_arn: &str) -> Result<(), AwsError>;
    /// The latest replication lag of a secondary cluster, `None` when no datapoint is recent.
    async fn replication_lag(&self, cluster_id: &str) -> Result<Option<LagSample>, AwsError>;
}

// ---------- ServiceScaler (ECS + application-autoscaling) ----------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    InProgress,
    Completed,
    Failed,
    Unknown,
}

impl RolloutState {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("IN_PROGRESS") => Self::InProgress,
            Some("COMPLETED") => Self::Completed,
            Some("FAILED") => Self::Failed,
            _ => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    pub cluster: String,
    pub service: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub deployments: u32,
    /// The PRIMARY deployment's rollout.
    pub rollout: RolloutState,
    pub task_definition: Option<String>,
}

impl ServiceState {
    /// Running what it should, one deployment, rollout finished.
    pub fn is_steady(&self) -> bool {
        self.running == self.desired && self.deployments <= 1 && self.rollout != RolloutState::InProgress
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub min: u32,
    pub max: u32,
}

#[async_trait]
pub trait ServiceScaler: Send + Sync {
    fn region(&self) -> &str;
    async fn service(&self, cluster: &str, service: &str) -> Result<ServiceState, AwsError>;
    async fn set_desired_count(&self, cluster: &str, service: &str, desired: u32) -> Result<(), AwsError>;
    /// The application-autoscaling bounds, `None` when the service is not a scalable target.
    async fn capacity(&self, cluster: &str, service: &str) -> Result<Option<Capacity>, AwsError>;
    async fn set_capacity(&self, cluster: &str, service: &str, capacity: Capacity) -> Result<(), AwsError>;
}

// ---------- TrafficRouter (Route 53 + the CloudWatch gate) ----------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// One weighted record of a set, with everything needed to write it back unchanged but the weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedRecord {
    pub name: String,
    pub record_type: RecordType,
    pub set_identifier: String,
    pub weight: u8,
    pub health_check_id: Option<String>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeStatus {
    Pending,
    Insync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
    Unknown,
}

#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// Region the gate metric is published in (the router's own region).
    fn region(&self) -> &str;
    /// Data plane: publish the gate metric (1 = record may serve, 0 = take it out).
    async fn set_gate(&self, gate: &Gate, open: bool) -> Result<(), AwsError>;
    /// The latest gate value published in this region, `None` when there is none recent.
    async fn gate(&self, gate: &Gate) -> Result<Option<bool>, AwsError>;
    /// Control plane: the weighted records of one name and type.
    async fn weighted_records(
        &self,
        zone_id: &str,
        name: &str,
        record_type: RecordType,
    ) -> Result<Vec<WeightedRecord>, AwsError>;
    /// UPSERTs the given records (as read, with new weights) in one change batch; returns the change id.
    async fn set_weights(&self, zone_id: &str, records: &[WeightedRecord], comment: &str) -> Result<String, AwsError>;
    async fn change_status(&self, change_id: &str) -> Result<ChangeStatus, AwsError>;
    async fn health_check_status(&self, health_check_id: &str) -> Result<HealthStatus, AwsError>;
}

// ---------- Publisher (SNS on a KMS-encrypted topic) ----------

#[async_trait]
pub trait Publisher: Send + Sync {
    fn region(&self) -> &str;
    /// Publishes with subject and filterable attributes; returns the message id.
    async fn publish(&self, topic_arn: &str, event: &PublishedEvent) -> Result<String, AwsError>;
    /// The topic's KMS key, `None` when the topic is not encrypted.
    async fn topic_kms_key(&self, topic_arn: &str) -> Result<Option<String>, AwsError>;
}

// ---------- Lease (DynamoDB conditional writes) ----------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseGrant {
    pub fencing_token: u64,
    pub holder: String,
    pub run_id: String,
    pub expires_at: DateTime<Utc>,
}

/// What the lease table says now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub fencing_token: u64,
    pub holder: Option<String>,
    pub run_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease held by {holder} for run {run_id} until {expires_at} (fencing token {fencing_token})")]
    Held { holder: String, run_id: String, expires_at: DateTime<Utc>, fencing_token: u64 },
    #[error("fencing token {presented} is stale: the lease is now at token {current:?}{}", holder.as_deref().map(|h| format!(", held by {h}")).unwrap_or_else(|| ", not held".into()))]
    Stale { presented: u64, current: Option<u64>, holder: Option<String> },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

#[async_trait]
pub trait Lease: Send + Sync {
    /// Takes the lease if it is free or expired; the token is strictly greater than any before.
    async fn acquire(&self, holder: &str, run_id: &str, ttl: Duration) -> Result<LeaseGrant, LeaseError>;
    async fn renew(&self, fencing_token: u64, ttl: Duration) -> Result<LeaseGrant, LeaseError>;
    /// Releasing twice with the same token is harmless.
    async fn release(&self, fencing_token: u64) -> Result<(), LeaseError>;
    /// Ok when the token still holds an unexpired lease: call before every write.
    async fn check(&self, fencing_token: u64) -> Result<LeaseRecord, LeaseError>;
    async fn current(&self) -> Result<Option<LeaseRecord>, AwsError>;
}

// ---------- Metrics (CloudWatch PutMetricData; EMF lines live in telemetry) ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
    Percent,
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDatum {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub dimensions: BTreeMap<String, String>,
    /// One-second storage resolution (probe metrics, the gate).
    pub high_resolution: bool,
}

#[async_trait]
pub trait Metrics: Send + Sync {
    fn region(&self) -> &str;
    async fn put(&self, namespace: &str, data: &[MetricDatum]) -> Result<(), AwsError>;
}

/// A source of "now", so lease expiry can be tested without sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

// ---------- AlarmReader (CloudWatch DescribeAlarms) ----------

/// An alarm's state as CloudWatch reports it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmStateValue {
    Ok,
    Alarm,
    InsufficientData,
}

#[async_trait]
pub trait AlarmReader: Send + Sync {
    fn region(&self) -> &str;
    /// The current state of each named alarm that exists; names CloudWatch does not know are absent.
    async fn alarm_states(&self, names: &[String]) -> Result<BTreeMap<String, AlarmStateValue>, AwsError>;
}

// ---------- StateStore (drover's own durable facts, beside the lease) ----------

/// The last failover decided in this region: what the cooldown counts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverRecord {
    pub run_id: String,
    pub fencing_token: u64,
    pub mode: crate::model::Mode,
    pub from_region: String,
    pub to_region: String,
    pub at: DateTime<Utc>,
}

/// The last readiness verdict, so a change (and only a change) is announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessRecord {
    pub ready: bool,
    /// Names of the failing checks, sorted.
    pub failing: Vec<String>,
    pub at: DateTime<Utc>,
    /// Grows by one on every stored change; the compare-and-set key.
    pub version: u64,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    async fn last_failover(&self) -> Result<Option<FailoverRecord>, AwsError>;
    /// Stores `record` unless a record with a higher or equal fencing token is already there
    /// (a stale or repeated write is a no-op); returns whether it was stored.
    async fn record_failover(&self, record: &FailoverRecord) -> Result<bool, AwsError>;
    async fn readiness(&self) -> Result<Option<ReadinessRecord>, AwsError>;
    /// Stores `record` if the stored version is still `expected_version` (None = no record);
    /// returns false when another writer got there first.
    async fn put_readiness(&self, record: &ReadinessRecord, expected_version: Option<u64>) -> Result<bool, AwsError>;
}

// ---------- StandbyInventory (what the standby needs to start serving) ----------

#[async_trait]
pub trait StandbyInventory: Send + Sync {
    fn region(&self) -> &str;
    /// The container images of a task definition (family, family:revision or ARN).
    async fn task_definition_images(&self, task_definition: &str) -> Result<Vec<String>, AwsError>;
    /// Whether `repository` in this region's ECR holds `reference` (a tag, or a `sha256:` digest).
    async fn image_exists(&self, repository: &str, reference: &str) -> Result<bool, AwsError>;
    /// Whether the secret exists here and is not scheduled for deletion.
    async fn secret_exists(&self, secret_id: &str) -> Result<bool, AwsError>;
    /// The state machine's status (`ACTIVE`, `DELETING`), `None` when it does not exist.
    async fn state_machine_status(&self, arn: &str) -> Result<Option<String>, AwsError>;
}

// ---------- Blue/green deployments (CodeDeploy + ECS task definitions) ----------

/// What a lifecycle hook reports to CodeDeploy. The API takes only these two: it has no
/// field for a reason, so the hook logs the reason and returns it as its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookStatus {
    Succeeded,
    Failed,
}

impl HookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Succeeded => "Succeeded",
            HookStatus::Failed => "Failed",
        }
    }
}

/// CodeDeploy's `PutLifecycleEventHookExecutionStatus`: the bluegreen-hook's only write.
#[async_trait]
pub trait LifecycleHookReporter: Send + Sync {
    fn region(&self) -> &str;
    async fn report_hook(&self, deployment_id: &str, execution_id: &str, status: HookStatus) -> Result<(), AwsError>;
}

/// A deployment's status as CodeDeploy reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeploymentStatus {
    Created,
    Queued,
    InProgress,
    Baking,
    Ready,
    Succeeded,
    Failed,
    Stopped,
    Other(String),
}

impl DeploymentStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "Created" => Self::Created,
            "Queued" => Self::Queued,
            "InProgress" => Self::InProgress,
            "Baking" => Self::Baking,
            "Ready" => Self::Ready,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Stopped" => Self::Stopped,
            other => Self::Other(other.to_string()),
        }
    }

    /// Nothing more will happen to this deployment.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }
}

/// The deployment group's ECS side: which service a deployment replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentGroupTarget {
    pub application: String,
    pub deployment_group: String,
    pub cluster: String,
    pub service: String,
    pub deployment_config: String,
    /// Automatic rollback is on for a failed deployment.
    pub rollback_on_failure: bool,
}

/// What a new revision of the service copies from the running one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRevision {
    pub task_definition: String,
    /// The container and port behind the load balancer (the AppSpec's LoadBalancerInfo).
    pub container_name: String,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEventState {
    pub name: String,
    /// Pending, InProgress, Succeeded, Failed, Skipped, Unknown.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSetTraffic {
    /// BLUE (original) or GREEN (replacement).
    pub label: String,
    pub traffic_weight: f64,
    pub running: u32,
    pub desired: u32,
}

/// One look at a deployment: GetDeployment plus, once it has started, its ECS target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentProgress {
    pub deployment_id: String,
    pub status: DeploymentStatus,
    /// `(code, message)` of `errorInformation`.
    pub error: Option<(String, String)>,
    /// The rollback this deployment started, if any.
    pub rollback_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
    pub termination_wait_started: bool,
    pub lifecycle_events: Vec<LifecycleEventState>,
    pub task_sets: Vec<TaskSetTraffic>,
}

/// CodeDeploy and ECS as the deploy trigger uses them, in one region.
#[async_trait]
pub trait BlueGreenDeployer: Send + Sync {
    fn region(&self) -> &str;
    async fn deployment_group(&self, application: &str, group: &str) -> Result<DeploymentGroupTarget, AwsError>;
    /// The service's current task definition and the container behind its load balancer.
    async fn service_revision(&self, cluster: &str, service: &str) -> Result<ServiceRevision, AwsError>;
    /// The image container `container` of `task_definition` runs.
    async fn container_image(&self, task_definition: &str, container: &str) -> Result<String, AwsError>;
    /// Registers a copy of `task_definition` whose container `container` runs `image`;
    /// returns the new revision's ARN.
    async fn register_revision(&self, task_definition: &str, container: &str, image: &str) -> Result<String, AwsError>;
    /// Creates the deployment from AppSpec content (JSON); returns its id.
    async fn create_deployment(
        &self,
        application: &str,
        group: &str,
        appspec: &str,
        description: &str,
    ) -> Result<String, AwsError>;
    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentProgress, AwsError>;
    async fn stop_deployment(&self, deployment_id: &str, rollback: bool) -> Result<(), AwsError>;
}
