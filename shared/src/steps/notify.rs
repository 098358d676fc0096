//! notify: publish a run's report (`drover.event/v1`) to the KMS-encrypted SNS topic of the
//! region it runs in, with filterable attributes and a subject a person can act on at 3 a.m.
//!
//! The state machine calls it at the end of a run (with the steps' results) and from its
//! `Catch` (with the Step Functions error). It is the one step that does not present the
//! fencing token: its only write is a message, and the report of a run that lost its lease is
//! exactly the one a person must see. A drill's report is real: notify publishes in drills too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::events::published::{EventType, PublishedEvent, Severity, Timings};
use crate::model::{Mode, Step, StepStatus};
use crate::ports::LeaseError;
use crate::steps::promote_db::ClusterReport;
use crate::steps::{Action, Detail, Outcome, StepError, StepPorts, StepResult, Write, WriteStatus};

/// What this step calls (for the Lambda's IAM policy).
pub const IAM_ACTIONS: &[&str] = &[
    "sns:Publish",
    "sns:GetTopicAttributes",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
];

/// The error Step Functions hands to a `Catch` (`ResultPath` of the caught error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyInput {
    pub event_type: EventType,
    pub run_id: String,
    #[serde(default)]
    pub fencing_token: Option<u64>,
    pub mode: Mode,
    pub from_region: String,
    pub to_region: String,
    /// The step the event is about (a failed step, from the Catch).
    #[serde(default)]
    pub step: Option<Step>,
    /// Defaults from the event type and the results.
    #[serde(default)]
    pub status: Option<StepStatus>,
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Extra words for people, put first.
    #[serde(default)]
    pub message: Option<String>,
    /// The results of the steps so far (the state machine passes `null` for a step not reached).
    #[serde(default, deserialize_with = "results_present")]
    pub results: Vec<StepResult>,
    #[serde(default)]
    pub error: Option<TaskError>,
    /// When the run started: gives the measured recovery time.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub evidence: BTreeMap<String, Value>,
    /// Release the run's lease after publishing (the last state of a run). A lease already
    /// taken over or expired is reported, not an error: the report must still go out.
    #[serde(default)]
    pub release_lease: bool,
}

fn results_present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<StepResult>, D::Error> {
    let all: Vec<Option<StepResult>> = Deserialize::deserialize(d)?;
    Ok(all.into_iter().flatten().collect())
}

impl NotifyInput {
    pub fn from_value(v: Value) -> Result<Self, StepError> {
        serde_path_to_error::deserialize(v).map_err(|e| StepError::Input(format!("{}: {}", e.path(), e.inner())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyReport {
    pub topic_arn: String,
    pub event_type: EventType,
    pub severity: Severity,
    pub subject: String,
    pub message_id: Option<String>,
    /// The topic's KMS key as SNS reports it.
    pub kms_key_id: Option<String>,
}

impl Default for NotifyReport {
    fn default() -> Self {
        NotifyReport {
            topic_arn: String::new(),
            event_type: EventType::RunStarted,
            severity: Severity::Info,
            subject: String::new(),
            message_id: None,
            kms_key_id: None,
        }
    }
}

/// Builds the event a run's report is published as. Pure.
pub fn event(application: &str, input: &NotifyInput, now: DateTime<Utc>) -> PublishedEvent {
    let degraded = input.results.iter().any(|r| matches!(r.outcome, Outcome::Degraded { .. }));
    let status = input.status.unwrap_or(match input.event_type {
        EventType::RunStarted | EventType::StepStarted => StepStatus::Started,
        EventType::RunSucceeded | EventType::StepSucceeded if degraded => StepStatus::Degraded,
        EventType::RunSucceeded | EventType::StepSucceeded | EventType::ReadinessChanged => StepStatus::Succeeded,
        EventType::StepDegraded => StepStatus::Degraded,
        EventType::RunFailed | EventType::StepFailed => StepStatus::Failed,
        EventType::FailoverSuppressed | EventType::AlreadyRunning => StepStatus::Skipped,
    });
    let severity = input.severity.unwrap_or(match status {
        StepStatus::Failed => Severity::Critical,
        StepStatus::Degraded | StepStatus::Skipped => Severity::Warning,
        _ if input.mode == Mode::Unplanned => Severity::Warning,
        _ => Severity::Info,
    });
    let mut e = PublishedEvent::new(application, input.event_type, severity, status, message(input, status)).for_run(
        &input.run_id,
        input.fencing_token,
        input.mode,
        &input.from_region,
        &input.to_region,
    );
    e.step = input.step;
    e.emitted_at = now;
    e.timings = Timings {
        started_at: input.started_at,
        finished_at: matches!(status, StepStatus::Succeeded | StepStatus::Failed | StepStatus::Degraded).then_some(now),
        duration_ms: input.started_at.and_then(|s| u64::try_from((now - s).num_milliseconds()).ok()),
    };
    e.evidence = input.evidence.clone();
    let steps: Vec<Value> = input
        .results
        .iter()
        .map(|r| json!({ "step": r.step, "action": r.action, "outcome": r.outcome, "writes": r.writes, "elapsed_ms": r.elapsed_ms }))
        .collect();
    if !steps.is_empty() {
        e.evidence.insert("steps".into(), Value::Array(steps));
    }
    let clusters: Vec<&ClusterReport> = input
        .results
        .iter()
        .filter_map(|r| match &r.detail {
            Detail::PromoteDb { clusters } => Some(clusters.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    if let Some(max) = clusters.iter().filter_map(|c| c.replication_lag_ms).max() {
        // The RPO evidence: the worst lag read before promotion.
        e.evidence.insert("replication_lag_ms".into(), json!(max));
    }
    if let Some(ms) = e.timings.duration_ms.filter(|_| input.event_type == EventType::RunSucceeded) {
        e.evidence.insert("rto_ms".into(), json!(ms));
    }
    if input.mode == Mode::Drill {
        let intended: Vec<&Write> = input.results.iter().flat_map(|r| r.writes_with(WriteStatus::Intended)).collect();
        e.evidence.insert("intended_writes".into(), json!(intended));
    }
    if let Some(err) = &input.error {
        e.evidence.insert("error".into(), json!(err));
    }
    e
}

fn message(input: &NotifyInput, status: StepStatus) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = input.message.as_deref().filter(|m| !m.trim().is_empty()) {
        parts.push(m.trim().to_string());
    }
    let what = match input.mode {
        Mode::Drill => "Drill (nothing changed)",
        Mode::Planned => "Planned switchover",
        Mode::Unplanned => "Unplanned failover",
        Mode::Failback => "Failback",
    };
    parts.push(format!("{what} {} -> {} (run {}): {}.", input.from_region, input.to_region, input.run_id, status));
    if let Some(err) = &input.error {
        let step = input.step.map(|s| format!(" in {s}")).unwrap_or_default();
        parts.push(format!("Error{step}: {} {}.", err.error, err.cause.as_deref().unwrap_or("").trim()));
    }
    for r in &input.results {
        parts.push(format!("[{}] {}", r.step, r.message));
    }
    let made: Vec<String> = input
        .results
        .iter()
        .flat_map(|r| r.writes_with(WriteStatus::Made))
        .map(|w| format!("{} ({})", w.call(), w.change))
        .collect();
    if input.mode == Mode::Drill {
        let n = input.results.iter().flat_map(|r| r.writes_with(WriteStatus::Intended)).count();
        parts.push(format!("A real run would make {n} write(s); see evidence.intended_writes."));
    } else if !made.is_empty() {
        parts.push(format!("Done so far: {}.", made.join("; ")));
    }
    let todo = match status {
        StepStatus::Failed => Some(
            "What to do: read the step's reason above, fix it, then start the run again with the same target (every step converges, finished work is not redone); check the lease table if another run holds it.",
        ),
        StepStatus::Degraded => Some(
            "What to do: the run finished degraded; follow the step's reason above (e.g. re-run shift-traffic when Route 53 recovers).",
        ),
        _ => None,
    };
    if let Some(t) = todo {
        parts.push(t.to_string());
    }
    parts.join(" ")
}

pub async fn run(p: &StepPorts, input: &NotifyInput) -> Result<StepResult, StepError> {
    let inv = std::time::Instant::now();
    let own = p.topology.region(&p.region_self)?;
    let topic = own.sns.topic_arn.clone();
    let kms_key_id = p.publisher.topic_kms_key(&topic).await?;
    let event = event(&p.topology.application, input, Utc::now());
    let message_id = p.publisher.publish(&topic, &event).await?;
    let write = Write {
        status: WriteStatus::Made,
        ..Write::new(
            "sns",
            "Publish",
            &own.name,
            topic.clone(),
            format!("{} {}", event.event_type.as_str(), event.status),
        )
    };
    let mut writes = vec![write];
    let mut lease_note = String::new();
    let already_released = |c: &Option<crate::ports::LeaseRecord>, token: u64| {
        c.as_ref().is_some_and(|c| c.fencing_token == token && c.holder.is_none())
    };
    if let (true, Some(token)) = (input.release_lease, input.fencing_token) {
        if already_released(&p.lease.current().await?, token) {
            lease_note = format!("; lease {token} already released");
        } else {
            match p.lease.release(token).await {
                Ok(()) => {
                    writes.push(Write {
                        status: WriteStatus::Made,
                        ..Write::new(
                            "dynamodb",
                            "UpdateItem",
                            &own.name,
                            own.lease_table.clone(),
                            format!("release lease token {token}"),
                        )
                    });
                    lease_note = format!("; lease {token} released");
                }
                Err(LeaseError::Aws(e)) => return Err(e.into()),
                Err(other) => lease_note = format!("; lease not released: {other}"),
            }
        }
    }
    let outcome = match &kms_key_id {
        Some(k) if key_matches(k, &own.sns.kms_key_id) => Outcome::Done,
        Some(k) => Outcome::Degraded {
            reason: format!(
                "published, but topic {topic} is encrypted with {k}, not the configured key {}: fix the topic or the topology",
                own.sns.kms_key_id
            ),
        },
        None => Outcome::Degraded {
            reason: format!(
                "published, but topic {topic} is not KMS-encrypted: set its KmsMasterKeyId (terraform apply)"
            ),
        },
    };
    let report = NotifyReport {
        topic_arn: topic,
        event_type: event.event_type,
        severity: event.severity,
        subject: event.subject(),
        message_id: Some(message_id),
        kms_key_id,
    };
    Ok(StepResult {
        step: Step::Notify,
        run_id: input.run_id.clone(),
        fencing_token: input.fencing_token,
        mode: input.mode,
        from_region: input.from_region.clone(),
        to_region: input.to_region.clone(),
        action: Action::Start,
        outcome,
        message: format!("published {}: {}{lease_note}", report.event_type.as_str(), report.subject),
        writes,
        detail: Detail::Notify(report),
        elapsed_ms: u64::try_from(inv.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// A key id, alias or ARN: SNS reports what was set, the topology may hold the ARN.
fn key_matches(reported: &str, configured: &str) -> bool {
    reported == configured
        || configured.ends_with(&format!("/{reported}"))
        || reported.ends_with(&format!("/{configured}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NotifyInput {
        NotifyInput::from_value(json!({
            "event_type": "run_failed", "run_id": "r-1", "fencing_token": 4, "mode": "unplanned",
            "from_region": "us-east-1", "to_region": "us-west-2", "step": "promote-db",
            "error": {"Error": "NonRetryable", "Cause": "replication lag over budget"}
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_run_is_critical_and_says_what_to_do() {
        let e = event("shop", &input(), Utc::now());
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.status, StepStatus::Failed);
        assert!(e.message.contains("What to do"), "{}", e.message);
        assert!(e.message.contains("replication lag over budget"));
        assert_eq!(e.subject(), "[drover CRITICAL] shop unplanned us-east-1->us-west-2: promote-db failed");
        assert_eq!(e.evidence["error"]["Error"], "NonRetryable");
    }

    #[test]
    fn a_malformed_input_names_the_field() {
        let err = NotifyInput::from_value(json!({"event_type": "run_exploded", "run_id": "r"})).unwrap_err();
        assert!(err.to_string().contains("event_type"), "{err}");
    }
}

#[cfg(test)]
mod state_machine_input {
    use super::*;

    #[test]
    fn steps_not_reached_arrive_as_null_and_are_skipped() {
        let input = NotifyInput::from_value(json!({
            "event_type": "run_failed", "run_id": "r-1", "fencing_token": 4, "mode": "unplanned",
            "from_region": "us-east-1", "to_region": "us-west-2", "results": [null, null, null, null],
            "error": {"Error": "StepFailed", "Cause": "a step reported failed"}, "release_lease": false
        }))
        .unwrap();
        assert!(input.results.is_empty());
        assert!(!input.release_lease);
    }
}
