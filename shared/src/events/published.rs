//! The events drover publishes, schema `drover.event/v1` (see docs/events.md).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Mode, Step, StepStatus};

pub const EVENT_SCHEMA: &str = "drover.event/v1";
/// SNS subjects: ASCII, no line breaks, at most 100 characters.
pub const SUBJECT_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    RunStarted,
    RunSucceeded,
    RunFailed,
    StepStarted,
    StepSucceeded,
    StepDegraded,
    StepFailed,
    /// decide said no-go: what was missing.
    FailoverSuppressed,
    /// A trigger arrived while a run held the lease.
    AlreadyRunning,
    ReadinessChanged,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RunStarted => "run_started",
            EventType::RunSucceeded => "run_succeeded",
            EventType::RunFailed => "run_failed",
            EventType::StepStarted => "step_started",
            EventType::StepSucceeded => "step_succeeded",
            EventType::StepDegraded => "step_degraded",
            EventType::StepFailed => "step_failed",
            EventType::FailoverSuppressed => "failover_suppressed",
            EventType::AlreadyRunning => "already_running",
            EventType::ReadinessChanged => "readiness_changed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedEvent {
    pub schema: String,
    pub event_id: String,
    pub event_type: EventType,
    pub severity: Severity,
    pub application: String,
    pub run_id: Option<String>,
    pub fencing_token: Option<u64>,
    pub mode: Option<Mode>,
    pub from_region: Option<String>,
    pub to_region: Option<String>,
    pub step: Option<Step>,
    pub status: StepStatus,
    pub timings: Timings,
    /// Facts behind the event: replication lag at promotion, signals seen, writes made or intended.
    pub evidence: BTreeMap<String, Value>,
    /// One or two sentences for a person: what happened and what to do.
    pub message: String,
    pub emitted_at: DateTime<Utc>,
}

impl PublishedEvent {
    pub fn new(
        application: impl Into<String>,
        event_type: EventType,
        severity: Severity,
        status: StepStatus,
        message: impl Into<String>,
    ) -> Self {
        PublishedEvent {
            schema: EVENT_SCHEMA.to_string(),
            event_id: uuid::Uuid::new_v4().to_string(),
            event_type,
            severity,
            application: application.into(),
            run_id: None,
            fencing_token: None,
            mode: None,
            from_region: None,
            to_region: None,
            step: None,
            status,
            timings: Timings::default(),
            evidence: BTreeMap::new(),
            message: message.into(),
            emitted_at: Utc::now(),
        }
    }

    pub fn for_run(mut self, run_id: &str, fencing_token: Option<u64>, mode: Mode, from: &str, to: &str) -> Self {
        self.run_id = Some(run_id.to_string());
        self.fencing_token = fencing_token;
        self.mode = Some(mode);
        self.from_region = Some(from.to_string());
        self.to_region = Some(to.to_string());
        self
    }

    pub fn with_step(mut self, step: Step) -> Self {
        self.step = Some(step);
        self
    }

    pub fn with_evidence(mut self, key: &str, value: impl Serialize) -> Self {
        self.evidence.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    pub fn with_timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and maps always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Message attributes for SNS subscription filter policies.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut attrs = vec![
            ("event_type", self.event_type.as_str().to_string()),
            ("severity", self.severity.as_str().to_string()),
            ("application", self.application.clone()),
        ];
        if let Some(mode) = self.mode {
            attrs.push(("mode", mode.as_str().to_string()));
        }
        if let Some(step) = self.step {
            attrs.push(("step", step.as_str().to_string()));
        }
        attrs
    }

    /// A subject a person can act on at 3 a.m.: severity, app, direction, what happened.
    pub fn subject(&self) -> String {
        let sev = match self.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        };
        let mut s = format!("[drover {sev}] {}", self.application);
        if let Some(mode) = self.mode {
            s.push_str(&format!(" {mode}"));
        }
        if let (Some(from), Some(to)) = (&self.from_region, &self.to_region) {
            s.push_str(&format!(" {from}->{to}"));
        }
        let what = match (self.step, self.event_type) {
            (Some(step), _) => format!("{step} {}", self.status),
            (None, t) => t.as_str().replace('_', " "),
        };
        s.push_str(&format!(": {what}"));
        sanitize_subject(&s)
    }
}

/// SNS rejects subjects with non-ASCII or control characters, or over 100 characters.
pub fn sanitize_subject(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { ' ' }).collect();
    if out.len() > SUBJECT_MAX {
        out.truncate(SUBJECT_MAX - 3);
        out.push_str("...");
    }
    out
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_step() -> PublishedEvent {
        PublishedEvent::new("shop", EventType::StepFailed, Severity::Critical, StepStatus::Failed, "promotion failed")
            .for_run("run-1", Some(7), Mode::Unplanned, "us-east-1", "us-west-2")
            .with_step(Step::PromoteDb)
            .with_evidence("replication_lag_ms", 420)
    }

    #[test]
    fn serialises_to_the_documented_schema() {
        let v: Value = serde_json::from_str(&failed_step().to_json()).unwrap();
        for key in [
            "schema",
            "event_id",
            "event_type",
            "severity",
            "application",
            "run_id",
            "fencing_token",
            "mode",
            "from_region",
            "to_region",
            "step",
            "status",
            "timings",
            "evidence",
            "message",
            "emitted_at",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["schema"], EVENT_SCHEMA);
        assert_eq!(v["event_type"], "step_failed");
        assert_eq!(v["mode"], "unplanned");
        assert_eq!(v["step"], "promote-db");
        assert_eq!(v["status"], "failed");
        assert_eq!(v["fencing_token"], 7);
        assert_eq!(v["evidence"]["replication_lag_ms"], 420);
        let back: PublishedEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, failed_step_with_same_ids(&back));
    }

    fn failed_step_with_same_ids(other: &PublishedEvent) -> PublishedEvent {
        let mut e = failed_step();
        e.event_id = other.event_id.clone();
        e.emitted_at = other.emitted_at;
        e
    }

    #[test]
    fn subject_says_what_and_where() {
        assert_eq!(failed_step().subject(), "[drover CRITICAL] shop unplanned us-east-1->us-west-2: promote-db failed");
        let suppressed = PublishedEvent::new(
            "shop",
            EventType::FailoverSuppressed,
            Severity::Warning,
            StepStatus::Skipped,
            "1 of 2 signals",
        );
        assert_eq!(suppressed.subject(), "[drover WARNING] shop: failover suppressed");
    }

    #[test]
    fn subject_fits_sns_rules() {
        let long = PublishedEvent::new(
            "shöp\nwith a very long application name that goes on and on and on and on and on and on",
            EventType::RunFailed,
            Severity::Critical,
            StepStatus::Failed,
            "x",
        );
        let s = long.subject();
        assert!(s.len() <= SUBJECT_MAX, "{} chars", s.len());
        assert!(s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()), "{s:?}");
        assert!(s.ends_with("..."));
    }

    #[test]
    fn attributes_for_filter_policies() {
        let attrs = failed_step().attributes();
        let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("event_type"), Some("step_failed"));
        assert_eq!(get("severity"), Some("critical"));
        assert_eq!(get("mode"), Some("unplanned"));
        assert_eq!(get("step"), Some("promote-db"));
    }
}
