//! The failover steps: pure logic over the ports.
//!
//! Every step follows the same shape: read the current state (of every resource, in
//! parallel), decide per resource what is left to do, check the fencing token once before the
//! first write, make the writes (or, in a drill, only list them), and answer with a typed
//! [`StepResult`] the state machine can branch on. Reading first and converging is what makes a
//! retried or duplicated invocation harmless: a step whose target is reached writes nothing.
//!
//! The steps publish their own events (a write they started, a failure, a degraded outcome)
//! through the [`Publisher`] of the region they run in; `notify` publishes the run's reports.
//!
//! # Contract with the state machine
//!
//! Input of promote-db, scale-compute, shift-traffic (a flat [`StepInput`]; unknown fields are
//! ignored):
//!
//! ```json
//! { "run_id": "…", "fencing_token": 7, "mode": "unplanned", "from_region": "us-east-1",
//!   "to_region": "us-west-2", "action": "start",
//!   "force": { "rpo": false, "detach": false }, "change_id": null }
//! ```
//!
//! `action` is `start` (converge) or `status` (read only; shift-traffic converges on both).
//! shift-traffic's `status` should carry `change_id` from the previous result's
//! `detail.change_id`. The result ([`StepResult`]) carries `outcome.state`:
//! `done` → next state; `in_progress` → Wait `outcome.wait_seconds`, then call with `status`;
//! `degraded` (shift-traffic: moved through the gate only) → carry on, report it;
//! `failed` → the failure branch, `outcome.reason` says what a person should do.
//! Errors: Lambda error type `Retryable` (Retry these) or `NonRetryable` (Catch).
//!
//! notify takes a [`NotifyInput`]: `event_type`, the run (`run_id`, `mode`, `from_region`,
//! `to_region`, optional `fencing_token`), optional `step`, `results` (the steps' results),
//! `error` (a Catch's `{"Error", "Cause"}`), `started_at` (gives the measured RTO).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::ClientFactory;
use crate::aws::dynamodb::DynamoLease;
use crate::aws::ecs::EcsServiceScaler;
use crate::aws::rds::RdsGlobalDatabase;
use crate::aws::route53::Route53TrafficRouter;
use crate::aws::sns::SnsPublisher;
use crate::config::{ConfigError, RegionConfig, Topology, is_region_name};
use crate::error::AwsError;
use crate::events::published::{EventType, PublishedEvent, Severity, Timings};
use crate::events::trigger::ForceFlags;
use crate::model::{Mode, Step, StepStatus};
use crate::ports::{GlobalDatabase, Lease, LeaseError, Publisher, ServiceScaler, TrafficRouter};

pub mod notify;
pub mod promote_db;
pub mod scale_compute;
pub mod shift_traffic;
pub mod verify;

pub use notify::NotifyInput;

/// What the state machine asks of a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Converge: make the writes still needed (none when the target is reached).
    #[default]
    Start,
    /// Read only: is the target reached yet?
    Status,
}

/// The input of promote-db, scale-compute and shift-traffic.
///
/// Unknown fields are ignored so the state machine may pass its whole state; every field the
/// steps act on is validated by [`StepInput::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInput {
    pub run_id: String,
    pub fencing_token: u64,
    pub mode: Mode,
    pub from_region: String,
    pub to_region: String,
    #[serde(default)]
    pub action: Action,
    #[serde(default)]
    pub force: ForceFlags,
    /// shift-traffic: the Route 53 change a previous invocation started, to poll for INSYNC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// The run's deadline (decided_at + RTO, from decide's plan): a `status` poll past it
    /// fails the step instead of waiting on, so every loop of the state machine is bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
}

impl StepInput {
    /// Parses the Lambda event; a malformed event is a non-retryable error that names the field.
    pub fn from_value(v: Value) -> Result<Self, StepError> {
        serde_path_to_error::deserialize(v).map_err(|e| StepError::Input(format!("{}: {}", e.path(), e.inner())))
    }

    /// The regions of a run: `to_region` must be the region this function runs in (it is the
    /// one being activated) and `from_region` its peer in the topology.
    pub fn validate<'t>(
        &self,
        topology: &'t Topology,
        region_self: &str,
    ) -> Result<(&'t RegionConfig, &'t RegionConfig), StepError> {
        if self.run_id.trim().is_empty() {
            return Err(StepError::Input("run_id: must not be empty".into()));
        }
        for (field, r) in [("from_region", &self.from_region), ("to_region", &self.to_region)] {
            if !is_region_name(r) {
                return Err(StepError::Input(format!("{field}: {r:?} is not an AWS region name")));
            }
        }
        if self.to_region != region_self {
            return Err(StepError::Input(format!(
                "to_region: this function runs in {region_self} and activates only {region_self}, not {} (start the run in the region to activate)",
                self.to_region
            )));
        }
        let target = topology.region(&self.to_region)?;
        let source = topology.peer_of(&self.to_region)?;
        if source.name != self.from_region {
            return Err(StepError::Input(format!(
                "from_region: {} is not the peer of {} in the topology ({})",
                self.from_region, self.to_region, source.name
            )));
        }
        Ok((target, source))
    }
}

/// How a step stands. `InProgress` means: wait `wait_seconds`, then call again with `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    InProgress {
        wait_seconds: u32,
    },
    /// Done, not the way it should be (shift-traffic: traffic moved through the gate only).
    Degraded {
        reason: String,
    },
    /// Stopped; the reason says what a person should do.
    Failed {
        reason: String,
    },
}

impl Outcome {
    pub fn status(&self) -> StepStatus {
        match self {
            Outcome::Done => StepStatus::Succeeded,
            Outcome::InProgress { .. } => StepStatus::InProgress,
            Outcome::Degraded { .. } => StepStatus::Degraded,
            Outcome::Failed { .. } => StepStatus::Failed,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::InProgress { .. } => 1,
            Outcome::Degraded { .. } => 2,
            Outcome::Failed { .. } => 3,
        }
    }

    /// The outcome of a step over several resources: the worst of them; reasons are joined,
    /// the longest suggested wait wins.
    pub fn combine<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Outcome {
        let outcomes: Vec<&Outcome> = outcomes.into_iter().collect();
        let worst = outcomes.iter().map(|o| o.rank()).max().unwrap_or(0);
        let reasons = |pick: fn(&Outcome) -> Option<&String>| -> String {
            outcomes.iter().filter_map(|o| pick(o)).cloned().collect::<Vec<_>>().join(" ")
        };
        match worst {
            0 => Outcome::Done,
            1 => Outcome::InProgress {
                wait_seconds: outcomes
                    .iter()
                    .filter_map(|o| match o {
                        Outcome::InProgress { wait_seconds } => Some(*wait_seconds),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(10),
            },
            2 => Outcome::Degraded {
                reason: reasons(|o| if let Outcome::Degraded { reason } = o { Some(reason) } else { None }),
            },
            _ => Outcome::Failed {
                reason: reasons(|o| if let Outcome::Failed { reason } = o { Some(reason) } else { None }),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    /// Made by this invocation.
    Made,
    /// Would be made: drill mode.
    Intended,
    /// Tried and failed (best-effort writes only, e.g. fencing the old primary).
    Failed,
}

/// One write a step made or, in a drill, would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub service: String,
    pub action: String,
    pub region: String,
    pub resource: String,
    /// What the write changes, for a person.
    pub change: String,
    pub status: WriteStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Write {
    pub fn new(
        service: &str,
        action: &str,
        region: &str,
        resource: impl Into<String>,
        change: impl Into<String>,
    ) -> Self {
        Write {
            service: service.into(),
            action: action.into(),
            region: region.into(),
            resource: resource.into(),
            change: change.into(),
            status: WriteStatus::Intended,
            error: None,
        }
    }

    /// `service:Action@region`, the emulator's call-log notation.
    pub fn call(&self) -> String {
        format!("{}:{}@{}", self.service, self.action, self.region)
    }

    fn made(mut self) -> Self {
        self.status = WriteStatus::Made;
        self
    }

    fn failed(mut self, e: &dyn std::fmt::Display) -> Self {
        self.status = WriteStatus::Failed;
        self.error = Some(e.to_string());
        self
    }
}

/// The typed answer of every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub step: Step,
    pub run_id: String,
    pub fencing_token: Option<u64>,
    pub mode: Mode,
    pub from_region: String,
    pub to_region: String,
    pub action: Action,
    pub outcome: Outcome,
    /// What happened, for a person.
    pub message: String,
    /// The writes made, or in a drill the writes that would be made.
    pub writes: Vec<Write>,
    pub detail: Detail,
    pub elapsed_ms: u64,
}

impl StepResult {
    pub fn is_done(&self) -> bool {
        self.outcome == Outcome::Done
    }

    pub fn writes_with(&self, status: WriteStatus) -> impl Iterator<Item = &Write> {
        self.writes.iter().filter(move |w| w.status == status)
    }
}

/// What each step saw and did, per resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    PromoteDb {
        clusters: Vec<promote_db::ClusterReport>,
    },
    ScaleCompute {
        services: Vec<scale_compute::ServiceReport>,
        fenced: Vec<scale_compute::FenceReport>,
    },
    ShiftTraffic(shift_traffic::TrafficReport),
    Notify(notify::NotifyReport),
    Verify(verify::VerifyReport),
    /// A status poll past the run's deadline: nothing was read or written.
    OverBudget {
        deadline: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The event is not a valid step input; retrying the same event cannot help.
    #[error("invalid step input: {0}")]
    Input(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The run no longer holds the lease: another run took over. Nothing was written.
    #[error("refused, nothing written: {0}")]
    Fenced(Box<LeaseError>),
    #[error(transparent)]
    Aws(Box<AwsError>),
}

impl From<AwsError> for StepError {
    fn from(e: AwsError) -> Self {
        StepError::Aws(Box::new(e))
    }
}

impl From<LeaseError> for StepError {
    fn from(e: LeaseError) -> Self {
        match e {
            LeaseError::Aws(e) => StepError::Aws(Box::new(e)),
            other => StepError::Fenced(Box::new(other)),
        }
    }
}

impl StepError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StepError::Aws(e) if e.is_retryable())
    }

    /// The Lambda error type Step Functions matches in `Retry` / `Catch`.
    pub fn error_type(&self) -> &'static str {
        if self.is_retryable() { "Retryable" } else { "NonRetryable" }
    }
}

/// The ports a step may use, bound to the region this function runs in (`region_self`, the
/// one being activated). The `peer_*` ports reach the old primary: only for the best-effort
/// writes the design allows there (fencing its services, re-opening this region's own gate).
#[derive(Clone)]
pub struct StepPorts {
    pub topology: Arc<Topology>,
    pub region_self: String,
    pub lease: Arc<dyn Lease>,
    pub publisher: Arc<dyn Publisher>,
    pub db: Arc<dyn GlobalDatabase>,
    pub scaler: Arc<dyn ServiceScaler>,
    pub router: Arc<dyn TrafficRouter>,
    pub peer_scaler: Arc<dyn ServiceScaler>,
    pub peer_router: Arc<dyn TrafficRouter>,
}

impl StepPorts {
    /// The AWS adapters for `region_self` and its peer. Makes no AWS call: cheap at cold start.
    pub async fn aws(factory: &ClientFactory, topology: Arc<Topology>, region_self: &str) -> Result<Self, StepError> {
        let own = topology.region(region_self)?;
        let peer = topology.peer_of(region_self)?;
        let clients = factory.region(&own.name).await?;
        let peer_clients = factory.region(&peer.name).await?;
        Ok(StepPorts {
            lease: Arc::new(DynamoLease::new(&clients, &own.lease_table)),
            publisher: Arc::new(SnsPublisher::new(&clients)),
            db: Arc::new(RdsGlobalDatabase::new(&clients)),
            scaler: Arc::new(EcsServiceScaler::new(&clients)),
            router: Arc::new(Route53TrafficRouter::new(&clients)),
            peer_scaler: Arc::new(EcsServiceScaler::new(&peer_clients)),
            peer_router: Arc::new(Route53TrafficRouter::new(&peer_clients)),
            region_self: own.name.clone(),
            topology,
        })
    }

    /// Reads `DROVER_REGION_SELF` (init error naming the variable when missing or invalid).
    pub fn region_self_from_env() -> Result<String, ConfigError> {
        let r = std::env::var(crate::config::REGION_SELF_ENV)
            .map_err(|_| ConfigError::MissingEnv(crate::config::REGION_SELF_ENV))?;
        crate::config::validate_region_name(crate::config::REGION_SELF_ENV, &r)?;
        Ok(r)
    }

    /// The lease check every step makes once, right before its first write.
    async fn fence(&self, input: &StepInput) -> Result<(), StepError> {
        self.lease.check(input.fencing_token).await?;
        Ok(())
    }

    /// Publishes a step's own event to this region's topic. Best effort: a failure to publish
    /// must not fail a failover, so it is logged and reported as `false`.
    async fn publish_step_event(&self, result: &StepResult, evidence: Value) -> bool {
        if result.mode == Mode::Drill {
            return false; // a drill writes nothing; notify publishes its report
        }
        let (event_type, severity) = match (&result.outcome, result.writes_with(WriteStatus::Made).next().is_some()) {
            (Outcome::Failed { .. }, _) => (EventType::StepFailed, Severity::Critical),
            (Outcome::Degraded { .. }, _) => (EventType::StepDegraded, Severity::Warning),
            (_, true) => (EventType::StepStarted, Severity::Info),
            // Nothing changed and nothing went wrong: nothing to tell (keeps repeats silent).
            _ => return false,
        };
        let status = if event_type == EventType::StepStarted { StepStatus::Started } else { result.outcome.status() };
        let mut event = PublishedEvent::new(&self.topology.application, event_type, severity, status, &result.message)
            .for_run(&result.run_id, result.fencing_token, result.mode, &result.from_region, &result.to_region)
            .with_step(result.step)
            .with_evidence("writes", &result.writes)
            .with_timings(Timings { duration_ms: Some(result.elapsed_ms), ..Timings::default() });
        if let Value::Object(map) = evidence {
            event.evidence.extend(map);
        }
        let topic = match self.topology.region(&self.region_self) {
            Ok(r) => r.sns.topic_arn.clone(),
            Err(_) => return false,
        };
        match self.publisher.publish(&topic, &event).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, step = %result.step, "could not publish the step event");
                false
            }
        }
    }
}

/// Shared bookkeeping of one invocation.
pub(crate) struct Invocation {
    started: Instant,
}

impl Invocation {
    pub(crate) fn begin() -> Self {
        Invocation { started: Instant::now() }
    }

    pub(crate) fn finish(
        &self,
        step: Step,
        input: &StepInput,
        outcome: Outcome,
        message: String,
        writes: Vec<Write>,
        detail: Detail,
    ) -> StepResult {
        StepResult {
            step,
            run_id: input.run_id.clone(),
            fencing_token: Some(input.fencing_token),
            mode: input.mode,
            from_region: input.from_region.clone(),
            to_region: input.to_region.clone(),
            action: input.action,
            outcome,
            message,
            writes,
            detail,
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// A `status` poll past the run's deadline ends the step as failed, before any call.
pub(crate) fn over_budget(inv: &Invocation, step: Step, input: &StepInput) -> Option<StepResult> {
    let deadline = input.deadline?;
    if input.action != Action::Status || chrono::Utc::now() <= deadline {
        return None;
    }
    let reason = format!(
        "{step} still not done at the run's deadline {deadline} (the RTO budget): check it by hand; nothing more was attempted"
    );
    Some(inv.finish(
        step,
        input,
        Outcome::Failed { reason: reason.clone() },
        reason,
        Vec::new(),
        Detail::OverBudget { deadline },
    ))
}

/// "3 intended writes (drill): rds:FailoverGlobalCluster@us-west-2, …" — for messages.
pub(crate) fn describe_writes(writes: &[Write]) -> String {
    if writes.is_empty() {
        return "no write needed".into();
    }
    let made = writes.iter().filter(|w| w.status == WriteStatus::Made).count();
    let intended = writes.iter().filter(|w| w.status == WriteStatus::Intended).count();
    let failed = writes.iter().filter(|w| w.status == WriteStatus::Failed).count();
    let mut parts = Vec::new();
    if made > 0 {
        parts.push(format!("{made} write(s) made"));
    }
    if intended > 0 {
        parts.push(format!("{intended} write(s) intended, none made (drill)"));
    }
    if failed > 0 {
        parts.push(format!("{failed} best-effort write(s) failed"));
    }
    let list: Vec<String> = writes.iter().map(|w| format!("{} {}", w.call(), w.change)).collect();
    format!("{}: {}", parts.join(", "), list.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_combine_to_the_worst() {
        let done = Outcome::Done;
        let wait = |s| Outcome::InProgress { wait_seconds: s };
        assert_eq!(Outcome::combine([&done, &done]), Outcome::Done);
        assert_eq!(Outcome::combine([&done, &wait(5), &wait(15)]), wait(15));
        let failed = Outcome::Failed { reason: "a.".into() };
        let failed2 = Outcome::Failed { reason: "b.".into() };
        assert_eq!(Outcome::combine([&wait(5), &failed, &failed2]), Outcome::Failed { reason: "a. b.".into() });
        assert_eq!(Outcome::combine([]), Outcome::Done);
    }

    #[test]
    fn each_steps_iam_actions_cover_the_adapters_it_calls() {
        let covers = |step: &[&str], adapter: &[&str]| adapter.iter().all(|a| step.contains(a));
        assert!(covers(promote_db::IAM_ACTIONS, crate::aws::rds::IAM_ACTIONS));
        assert!(covers(scale_compute::IAM_ACTIONS, crate::aws::ecs::IAM_ACTIONS));
        assert!(covers(shift_traffic::IAM_ACTIONS, crate::aws::route53::IAM_ACTIONS));
        assert!(covers(notify::IAM_ACTIONS, crate::aws::sns::IAM_ACTIONS));
        for step in [promote_db::IAM_ACTIONS, scale_compute::IAM_ACTIONS, shift_traffic::IAM_ACTIONS] {
            // The lease check and the step's own events.
            assert!(covers(step, &["dynamodb:GetItem", "sns:Publish", "kms:GenerateDataKey"]), "{step:?}");
        }
    }

    #[test]
    fn input_parses_with_defaults_and_names_bad_fields() {
        let v = serde_json::json!({"run_id": "r1", "fencing_token": 3, "mode": "unplanned", "from_region": "us-east-1", "to_region": "us-west-2", "extra": 1});
        let i = StepInput::from_value(v).unwrap();
        assert_eq!(i.action, Action::Start);
        assert!(!i.force.rpo);
        let bad = serde_json::json!({"run_id": "r1", "fencing_token": "three", "mode": "unplanned", "from_region": "us-east-1", "to_region": "us-west-2"});
        let err = StepInput::from_value(bad).unwrap_err();
        assert!(err.to_string().contains("fencing_token"), "{err}");
        assert_eq!(err.error_type(), "NonRetryable");
    }

    #[test]
    fn results_round_trip_through_json() {
        let r = StepResult {
            step: Step::ShiftTraffic,
            run_id: "r".into(),
            fencing_token: Some(1),
            mode: Mode::Planned,
            from_region: "us-east-1".into(),
            to_region: "us-west-2".into(),
            action: Action::Status,
            outcome: Outcome::InProgress { wait_seconds: 10 },
            message: "m".into(),
            writes: vec![Write::new("route53", "ChangeResourceRecordSets", "us-east-1", "Z1", "w")],
            detail: Detail::ShiftTraffic(shift_traffic::TrafficReport::default()),
            elapsed_ms: 3,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["outcome"], serde_json::json!({"state": "in_progress", "wait_seconds": 10}));
        assert_eq!(v["detail"]["kind"], "shift_traffic");
        let back: StepResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
