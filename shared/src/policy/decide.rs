//! The `decide` function's logic: the first state of the failover state machine.
//!
//! parse → (ignore | status | run). A run: if a lease is held, answer "already running";
//! otherwise read the signals and this region's standby, evaluate, and on Go take the lease,
//! record the failover (cooldown) and announce the run; on no-go publish why and hold nothing.
//!
//! Reads: this region's alarms first, then the other region's with a short timeout (it may be
//! the one that is down; see `evaluate` for how an unanswered region counts), and the other
//! region's last-failover item (cooldown across directions; ignored when it does not answer).
//! Everything else is read in this region only. Writes happen only on Go (lease, last-failover item, run
//! started event) and on no-go (one event). A trigger that cannot be parsed, names a region
//! outside the topology, names an alarm that is not a configured signal, or asks another
//! region is an error before any read or write.
//!
//! A read that fails with a retryable error (throttling, 5xx) in this region is returned as a
//! retryable error rather than counted against readiness: an alarm fires once, so a no-go
//! caused by a blip would leave the outage unanswered until the next alarm change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Topology;
use crate::error::{AwsError, ErrorKind};
use crate::events::published::{EventType, PublishedEvent, Severity};
use crate::events::trigger::{AlarmState, Trigger, TriggerError};
use crate::model::{Mode, Step, StepStatus};
use crate::policy::evaluate::{
    AuroraFacts, EcsFacts, Facts, Gate, NoGoReason, QuorumTally, SignalReading, SignalState, StandbyFacts, Verdict,
    evaluate,
};
use crate::policy::plan::{Plan, new_run_id};
use crate::policy::request::{Intent, Origin, Request, RequestError};
use crate::ports::{
    AlarmReader, AlarmStateValue, Clock, FailoverRecord, GlobalDatabase, Lease, LeaseError, LeaseRecord, Publisher,
    ServiceScaler, StateStore,
};

/// How long the other region gets to answer (its alarms, its last-failover item) before it
/// counts as unreachable; `DROVER_DECIDE_PEER_TIMEOUT_MS` overrides it.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(5);
pub const PEER_TIMEOUT_ENV: &str = "DROVER_DECIDE_PEER_TIMEOUT_MS";

/// The peer timeout from the environment (100 ms to 20 s), the default when unset.
pub fn peer_timeout_from_env() -> Result<Duration, crate::config::ConfigError> {
    match std::env::var(PEER_TIMEOUT_ENV) {
        Err(_) => Ok(DEFAULT_PEER_TIMEOUT),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(ms) if (100..=20_000).contains(&ms) => Ok(Duration::from_millis(ms)),
            _ => Err(crate::config::ConfigError::Invalid {
                path: PEER_TIMEOUT_ENV.to_string(),
                message: format!("{v:?} is not a whole number of milliseconds from 100 to 20000"),
            }),
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

impl DecideError {
    /// Whether the state machine should retry `decide` with the same input.
    pub fn is_retryable(&self) -> bool {
        match self {
            DecideError::Trigger(_) | DecideError::Request(_) => false,
            DecideError::Aws(e) => e.is_retryable(),
            DecideError::Lease(LeaseError::Aws(e)) => e.is_retryable(),
            DecideError::Lease(_) => false,
        }
    }

    /// The Lambda error type the state machine's Retry/Catch match on.
    pub fn error_type(&self) -> &'static str {
        if self.is_retryable() { "Retryable" } else { "NonRetryable" }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoGo {
    pub mode: Mode,
    pub from_region: String,
    pub to_region: String,
    pub origin: Origin,
    pub reasons: Vec<NoGoReason>,
    pub gates: Vec<Gate>,
    pub findings: Vec<NoGoReason>,
    pub quorum: QuorumTally,
    pub signals: Vec<SignalReading>,
    pub message: String,
    /// The SNS message id of the failover_suppressed event, `None` if publishing failed.
    pub event_message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlreadyRunning {
    pub run_id: String,
    pub holder: String,
    pub fencing_token: u64,
    pub expires_at: Option<DateTime<Utc>>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub request: Request,
    pub verdict: Verdict,
    pub signals: Vec<SignalReading>,
    pub standby: StandbyFacts,
    pub lease: Option<LeaseRecord>,
    pub last_failover: Option<FailoverRecord>,
    pub message: String,
}

/// What `decide` returns to the state machine; `outcome` is what its Choice state reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Go(Plan),
    NoGo(NoGo),
    AlreadyRunning(AlreadyRunning),
    Ignored { alarm_name: String, message: String },
    Status(Box<StatusReport>),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Go(_) => "go",
            Outcome::NoGo(_) => "no_go",
            Outcome::AlreadyRunning(_) => "already_running",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Status(_) => "status",
        }
    }
}

/// Everything `decide` talks to, built once per cold start.
pub struct Decider {
    pub topology: Arc<Topology>,
    /// The region this function runs in and would activate.
    pub this_region: String,
    /// One reader per region that holds configured signals.
    pub alarms: Vec<Arc<dyn AlarmReader>>,
    /// This region's adapters.
    pub db: Arc<dyn GlobalDatabase>,
    pub scaler: Arc<dyn ServiceScaler>,
    pub lease: Arc<dyn Lease>,
    pub store: Arc<dyn StateStore>,
    /// The other region's store, read (never written) so a failover decided THERE also starts
    /// the cooldown here: the lease tables are per region, and ping-pong crosses regions.
    pub peer_store: Option<Arc<dyn StateStore>>,
    pub publisher: Arc<dyn Publisher>,
    pub clock: Arc<dyn Clock>,
    pub peer_timeout: Duration,
}

impl Decider {
    pub async fn decide(&self, event: &Value, invocation_id: &str) -> Result<Outcome, DecideError> {
        let trigger = Trigger::parse(event)?;
        trigger.check_against(&self.topology)?;
        let intent = Intent::from_trigger(&trigger, &self.topology, &self.this_region)?;
        let signal_override = match &trigger {
            Trigger::Alarm(a) => Some((a.alarm_name.clone(), a.region.clone(), a.state)),
            Trigger::Manual(_) => None,
        };
        match intent {
            Intent::Ignore { alarm_name, why } => {
                let message = format!("alarm {alarm_name} ignored: {why}");
                tracing::info!(%alarm_name, %message, "decide: nothing to decide");
                Ok(Outcome::Ignored { alarm_name, message })
            }
            Intent::Status(request) => self.status(request, signal_override).await,
            Intent::Run(request) => self.run(request, signal_override, invocation_id).await,
        }
    }

    async fn run(
        &self,
        request: Request,
        trigger: Option<(String, String, AlarmState)>,
        invocation_id: &str,
    ) -> Result<Outcome, DecideError> {
        if let Some(running) = self.running().await? {
            return Ok(Outcome::AlreadyRunning(running));
        }
        let facts = self.facts(&request, trigger.as_ref()).await?;
        match evaluate(&self.topology, &request, &facts) {
            Verdict::Suppress(s) => {
                // A run that started while we were reading explains any cooldown we now see.
                if let Some(running) = self.running().await? {
                    return Ok(Outcome::AlreadyRunning(running));
                }
                let message = s.message();
                let mut event = PublishedEvent::new(
                    &self.topology.application,
                    EventType::FailoverSuppressed,
                    Severity::Warning,
                    StepStatus::Skipped,
                    &message,
                )
                .with_step(Step::Decide)
                .with_evidence("reasons", &s.reasons)
                .with_evidence("findings", &s.findings)
                .with_evidence("quorum", &s.quorum)
                .with_evidence("signals", &facts.signals)
                .with_evidence("origin", &request.origin);
                event.mode = Some(s.mode);
                event.from_region = Some(s.from.clone());
                event.to_region = Some(s.to.clone());
                let event_message_id = self.publish(&event).await;
                tracing::warn!(%message, gates = ?s.gates(), "decide: no-go");
                Ok(Outcome::NoGo(NoGo {
                    mode: s.mode,
                    from_region: s.from.clone(),
                    to_region: s.to.clone(),
                    origin: request.origin.clone(),
                    gates: s.gates(),
                    reasons: s.reasons,
                    findings: s.findings,
                    quorum: s.quorum,
                    signals: facts.signals,
                    message,
                    event_message_id,
                }))
            }
            Verdict::Proceed(approval) => {
                let now = self.clock.now();
                let run_id = new_run_id(&self.topology.application, &request.to, now);
                let holder = format!("decide@{}/{invocation_id}", self.this_region);
                let ttl = Duration::from_secs(u64::from(self.topology.policy.lease_ttl_seconds));
                let grant = match self.lease.acquire(&holder, &run_id, ttl).await {
                    Ok(g) => g,
                    Err(LeaseError::Held { holder, run_id, expires_at, fencing_token }) => {
                        return Ok(Outcome::AlreadyRunning(already_running(
                            run_id,
                            holder,
                            fencing_token,
                            Some(expires_at),
                        )));
                    }
                    Err(e) => return Err(e.into()),
                };
                let plan = Plan::new(
                    &self.topology,
                    approval,
                    request.origin.clone(),
                    request.force,
                    run_id,
                    grant.fencing_token,
                    now,
                );
                if plan.mode != Mode::Drill {
                    let record = FailoverRecord {
                        run_id: plan.run_id.clone(),
                        fencing_token: plan.fencing_token,
                        mode: plan.mode,
                        from_region: plan.from_region.clone(),
                        to_region: plan.to_region.clone(),
                        at: now,
                    };
                    // Best effort: failing to note the cooldown must not stop a recovery.
                    if let Err(e) = self.store.record_failover(&record).await {
                        tracing::error!(error = %e, run_id = %plan.run_id, "decide: could not record the failover for the cooldown");
                    }
                }
                let message = format!(
                    "{} {} -> {} started (run {}, {}){}",
                    plan.mode,
                    plan.from_region,
                    plan.to_region,
                    plan.run_id,
                    request.origin.describe(),
                    if plan.forced.is_empty() { String::new() } else { format!("; forced past {:?}", plan.forced) }
                );
                let severity = if plan.mode == Mode::Drill { Severity::Info } else { Severity::Critical };
                let event = PublishedEvent::new(
                    &self.topology.application,
                    EventType::RunStarted,
                    severity,
                    StepStatus::Started,
                    &message,
                )
                .for_run(&plan.run_id, Some(plan.fencing_token), plan.mode, &plan.from_region, &plan.to_region)
                .with_step(Step::Decide)
                .with_evidence("quorum", &plan.quorum)
                .with_evidence("findings", &plan.findings)
                .with_evidence("forced", &plan.forced)
                .with_evidence("signals", &facts.signals)
                .with_evidence("origin", &plan.origin);
                self.publish(&event).await;
                tracing::info!(run_id = %plan.run_id, fencing_token = plan.fencing_token, mode = %plan.mode, "decide: go");
                Ok(Outcome::Go(plan))
            }
        }
    }

    async fn status(
        &self,
        request: Request,
        trigger: Option<(String, String, AlarmState)>,
    ) -> Result<Outcome, DecideError> {
        let lease = self.lease.current().await?;
        let facts = self.facts(&request, trigger.as_ref()).await?;
        let verdict = evaluate(&self.topology, &request, &facts);
        let message = match &verdict {
            Verdict::Proceed(a) => format!(
                "an unplanned failover {} -> {} would go now (quorum {} of {})",
                a.from, a.to, a.quorum.counted, a.quorum.required
            ),
            Verdict::Suppress(s) => s.message(),
        };
        Ok(Outcome::Status(Box::new(StatusReport {
            request,
            verdict,
            signals: facts.signals,
            standby: facts.standby,
            lease,
            last_failover: facts.last_failover,
            message,
        })))
    }

    /// The run holding an unexpired lease, if any.
    async fn running(&self) -> Result<Option<AlreadyRunning>, DecideError> {
        let now = self.clock.now();
        Ok(self.lease.current().await?.and_then(|c| match (c.holder, c.run_id, c.expires_at) {
            (Some(holder), Some(run_id), Some(expires_at)) if expires_at > now => {
                Some(already_running(run_id, holder, c.fencing_token, Some(expires_at)))
            }
            _ => None,
        }))
    }

    async fn facts(
        &self,
        request: &Request,
        trigger: Option<&(String, String, AlarmState)>,
    ) -> Result<Facts, DecideError> {
        let (signals, standby, own, peer) = tokio::join!(
            self.read_signals(&request.from, trigger),
            self.read_standby(),
            self.store.last_failover(),
            self.peer_last_failover()
        );
        // The later of the two regions' last failovers starts the cooldown.
        let last_failover = match (own?, peer) {
            (Some(a), Some(b)) => Some(if b.at > a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        Ok(Facts { signals: signals?, standby: standby?, last_failover, now: self.clock.now() })
    }

    /// Best effort: the other region may be the one that is down, and then its record cannot
    /// keep this region from taking over.
    async fn peer_last_failover(&self) -> Option<FailoverRecord> {
        let store = self.peer_store.as_ref()?;
        match tokio::time::timeout(self.peer_timeout, store.last_failover()).await {
            Ok(Ok(record)) => record,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "decide: the other region's last failover is unreadable; ignored");
                None
            }
            Err(_) => {
                tracing::warn!("decide: the other region's last failover did not answer in time; ignored");
                None
            }
        }
    }

    /// Every configured signal watching `from`, this region's alarms first.
    async fn read_signals(
        &self,
        from: &str,
        trigger: Option<&(String, String, AlarmState)>,
    ) -> Result<Vec<SignalReading>, DecideError> {
        let signals: Vec<_> = self.topology.signals_watching(from).cloned().collect();
        let mut regions: Vec<&str> = signals.iter().map(|s| s.region.as_str()).collect();
        regions.sort_by_key(|r| (*r != self.this_region, *r));
        regions.dedup();
        let mut states: BTreeMap<(String, String), SignalState> = BTreeMap::new();
        for region in regions {
            let names: Vec<String> =
                signals.iter().filter(|s| s.region == region).map(|s| s.alarm_name.clone()).collect();
            let reader = self.alarms.iter().find(|r| r.region() == region);
            let read = match reader {
                None => Err(None),
                Some(r) if region == self.this_region => r.alarm_states(&names).await.map_err(Some),
                Some(r) => match tokio::time::timeout(self.peer_timeout, r.alarm_states(&names)).await {
                    Ok(res) => res.map_err(Some),
                    Err(_) => Err(None),
                },
            };
            match read {
                Ok(found) => {
                    for n in names {
                        let state = match found.get(&n) {
                            Some(AlarmStateValue::Alarm) => SignalState::Alarm,
                            Some(AlarmStateValue::Ok) => SignalState::Ok,
                            Some(AlarmStateValue::InsufficientData) => SignalState::InsufficientData,
                            None => SignalState::Missing,
                        };
                        states.insert((n, region.to_string()), state);
                    }
                }
                // Our own region must answer: a retryable failure there is worth a retry.
                Err(Some(e)) if region == self.this_region => return Err(e.into()),
                Err(e) => {
                    if let Some(e) = e {
                        tracing::warn!(error = %e, %region, "decide: alarms unreadable; counted as unreachable");
                    } else {
                        tracing::warn!(%region, "decide: alarms unreadable (timeout or no reader); counted as unreachable");
                    }
                    for n in names {
                        states.insert((n, region.to_string()), SignalState::Unreachable);
                    }
                }
            }
        }
        Ok(signals
            .iter()
            .map(|s| {
                let mut state =
                    states.get(&(s.alarm_name.clone(), s.region.clone())).copied().unwrap_or(SignalState::Unreachable);
                // The triggering alarm's own report stands in when its region cannot be asked.
                if let Some((name, region, reported)) = trigger
                    && *name == s.alarm_name
                    && *region == s.region
                    && matches!(state, SignalState::Unreachable | SignalState::Missing)
                {
                    state = match reported {
                        AlarmState::Alarm => SignalState::Alarm,
                        AlarmState::Ok => SignalState::Ok,
                        AlarmState::InsufficientData => SignalState::InsufficientData,
                    };
                }
                SignalReading {
                    alarm_name: s.alarm_name.clone(),
                    region: s.region.clone(),
                    group: s.group.clone(),
                    state,
                }
            })
            .collect())
    }

    async fn read_standby(&self) -> Result<StandbyFacts, DecideError> {
        let region = self.topology.region(&self.this_region).map_err(RequestError::from_config)?;
        let mut aurora = Vec::new();
        for c in &region.aurora {
            let mut facts = AuroraFacts {
                global_cluster_id: c.global_cluster_id.clone(),
                cluster_id: c.cluster_id.clone(),
                status: None,
                in_global_cluster: false,
                is_writer: false,
                lag: None,
                error: None,
            };
            match self.db.cluster(&c.cluster_id).await {
                Ok(db) => {
                    facts.status = Some(db.status.clone());
                    // Membership as the global cluster lists it: DescribeDBClusters does not
                    // reliably name the global cluster a member belongs to.
                    match self.db.global_cluster(&c.global_cluster_id).await {
                        Ok(g) => {
                            let arn = if db.arn.is_empty() { c.cluster_arn.as_str() } else { db.arn.as_str() };
                            facts.in_global_cluster = g.member(arn).is_some();
                            facts.is_writer = g.member(arn).is_some_and(|m| m.is_writer);
                        }
                        Err(e) if e.kind == ErrorKind::NotFound => facts.error = Some(e.to_string()),
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) if e.kind == ErrorKind::NotFound => facts.error = Some(e.to_string()),
                Err(e) => return Err(e.into()),
            }
            if !facts.is_writer {
                facts.lag = self.db.replication_lag(&c.cluster_id).await?.map(|s| s.lag);
            }
            aurora.push(facts);
        }
        let mut ecs = Vec::new();
        for s in &region.ecs {
            let mut facts =
                EcsFacts { cluster: s.cluster.clone(), service: s.service.clone(), status: None, error: None };
            match self.scaler.service(&s.cluster, &s.service).await {
                Ok(state) => facts.status = Some(state.status),
                Err(e) if e.kind == ErrorKind::NotFound => facts.error = Some(e.message.clone()),
                Err(e) => return Err(e.into()),
            }
            ecs.push(facts);
        }
        Ok(StandbyFacts { aurora, ecs })
    }

    /// Publishing is best effort: the decision stands whether or not people hear of it.
    async fn publish(&self, event: &PublishedEvent) -> Option<String> {
        let topic = &self.topology.region(&self.this_region).ok()?.sns.topic_arn;
        match self.publisher.publish(topic, event).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!(error = %e, event_type = event.event_type.as_str(), "decide: could not publish");
                None
            }
        }
    }
}

fn already_running(
    run_id: String,
    holder: String,
    fencing_token: u64,
    expires_at: Option<DateTime<Utc>>,
) -> AlreadyRunning {
    let message =
        format!("already running: run {run_id} holds the lease (fencing token {fencing_token}, holder {holder})");
    AlreadyRunning { run_id, holder, fencing_token, expires_at, message }
}

impl RequestError {
    fn from_config(e: crate::config::ConfigError) -> Self {
        RequestError::SelfNotInTopology(e.to_string())
    }
}

impl Decider {
    /// Wires the AWS adapters: alarm readers for every region holding a configured signal,
    /// everything else in `this_region`. Builds clients only (no call is made).
    pub async fn from_factory(
        topology: Arc<Topology>,
        this_region: &str,
        factory: &crate::aws::ClientFactory,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DecideError> {
        use crate::aws::{
            alarms::CloudWatchAlarms, dynamodb::DynamoLease, ecs::EcsServiceScaler, rds::RdsGlobalDatabase,
            sns::SnsPublisher, state_store::DynamoStateStore,
        };
        let region = topology.region(this_region).map_err(RequestError::from_config)?;
        let peer = topology.peer_of(this_region).map_err(RequestError::from_config)?;
        let clients = factory.region(this_region).await?;
        let mut alarm_regions: Vec<&str> = topology.policy.signals.iter().map(|s| s.region.as_str()).collect();
        alarm_regions.sort_unstable();
        alarm_regions.dedup();
        let mut alarms: Vec<Arc<dyn AlarmReader>> = Vec::new();
        for r in alarm_regions {
            alarms.push(Arc::new(CloudWatchAlarms::new(&*factory.region(r).await?)));
        }
        Ok(Decider {
            this_region: this_region.to_string(),
            alarms,
            db: Arc::new(RdsGlobalDatabase::new(&clients)),
            scaler: Arc::new(EcsServiceScaler::new(&clients)),
            lease: Arc::new(DynamoLease::with_clock(&clients, &region.lease_table, clock.clone())),
            store: Arc::new(DynamoStateStore::new(&clients, &region.lease_table)),
            peer_store: Some(Arc::new(DynamoStateStore::new(&*factory.region(&peer.name).await?, &peer.lease_table))),
            publisher: Arc::new(SnsPublisher::new(&clients)),
            clock,
            peer_timeout: DEFAULT_PEER_TIMEOUT,
            topology,
        })
    }
}

/// Exactly the IAM actions `decide` calls: everything in its own region; in the other region
/// only DescribeAlarms (its signals live there too) and GetItem on its lease table (the last
/// failover decided there, for the cooldown).
pub const IAM_ACTIONS: &[&str] = &[
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "rds:DescribeDBClusters",
    "rds:DescribeGlobalClusters",
    "ecs:DescribeServices",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:PutItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];
