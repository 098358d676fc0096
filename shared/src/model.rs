//! The vocabulary shared by the steps, the events and the state machine.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a run treats the regions; chosen by `decide`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The primary is down: Aurora failover with data loss allowed, within the RPO budget.
    Unplanned,
    /// Both regions healthy: Aurora switchover, no data loss.
    Planned,
    /// Game day: every read and check, no write.
    Drill,
    /// Return to the original region: the same plan started in the other region.
    Failback,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Unplanned => "unplanned",
            Mode::Planned => "planned",
            Mode::Drill => "drill",
            Mode::Failback => "failback",
        }
    }

    /// Drill mode reads and reports; it never writes.
    pub fn writes(self) -> bool {
        self != Mode::Drill
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The steps of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Decide,
    PromoteDb,
    ScaleCompute,
    ShiftTraffic,
    Verify,
    Notify,
    Readiness,
    Probe,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Decide => "decide",
            Step::PromoteDb => "promote-db",
            Step::ScaleCompute => "scale-compute",
            Step::ShiftTraffic => "shift-traffic",
            Step::Verify => "verify",
            Step::Notify => "notify",
            Step::Readiness => "readiness",
            Step::Probe => "probe",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Started,
    InProgress,
    Succeeded,
    /// Done, but not the way it should be (e.g. traffic moved through the gate only).
    Degraded,
    Failed,
    /// Nothing to do or not allowed (drill, cooldown, no quorum).
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::InProgress => "in_progress",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Degraded => "degraded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
