//! What a Go hands the state machine: who runs, in which direction, which steps, and how much
//! of the recovery-time objective each step may spend.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Topology;
use crate::events::trigger::ForceFlags;
use crate::model::{Mode, Step};
use crate::policy::evaluate::{Approval, Gate, NoGoReason, QuorumTally};
use crate::policy::request::Origin;

/// Time budgets derived from the objectives. promote-db and scale-compute run in parallel, so
/// they share one slice. The slices add up to 80 % of the RTO, leaving room for decide, retries
/// and the notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budgets {
    pub rto_seconds: u32,
    pub rpo_seconds: u32,
    /// decided_at + RTO: past this the run has missed its objective.
    pub deadline: DateTime<Utc>,
    pub promote_db_seconds: u32,
    pub scale_compute_seconds: u32,
    pub shift_traffic_seconds: u32,
    pub verify_seconds: u32,
    pub lease_ttl_seconds: u32,
}

impl Budgets {
    pub fn from_topology(topology: &Topology, decided_at: DateTime<Utc>) -> Self {
        let rto = topology.objectives.rto_seconds;
        let share = |percent: u32| ((u64::from(rto) * u64::from(percent)) / 100).max(1) as u32;
        Budgets {
            rto_seconds: rto,
            rpo_seconds: topology.objectives.rpo_seconds,
            deadline: decided_at + chrono::Duration::seconds(i64::from(rto)),
            promote_db_seconds: share(40),
            scale_compute_seconds: share(40),
            shift_traffic_seconds: share(25),
            verify_seconds: share(15),
            lease_ttl_seconds: topology.policy.lease_ttl_seconds,
        }
    }
}

/// The Go: everything the later steps need, and nothing they must look up again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub run_id: String,
    pub fencing_token: u64,
    pub mode: Mode,
    pub from_region: String,
    pub to_region: String,
    pub steps: Vec<Step>,
    pub budgets: Budgets,
    pub origin: Origin,
    /// FailoverGlobalCluster with AllowDataLoss (unplanned only).
    pub allow_data_loss: bool,
    /// Detach-and-promote allowed when the global failover is impossible.
    pub allow_detach: bool,
    /// The force flags of a manual request (all off for alarms), passed on to the steps.
    pub force: ForceFlags,
    /// Scale the old primary down afterwards (best effort).
    pub fence_old_primary: bool,
    /// Wait for a person before promotion.
    pub approval_required: bool,
    pub forced: Vec<Gate>,
    pub findings: Vec<NoGoReason>,
    pub quorum: QuorumTally,
    pub decided_at: DateTime<Utc>,
}

impl Plan {
    pub fn new(
        topology: &Topology,
        approval: Approval,
        origin: Origin,
        force: ForceFlags,
        run_id: String,
        fencing_token: u64,
        decided_at: DateTime<Utc>,
    ) -> Plan {
        let policy = &topology.policy;
        Plan {
            run_id,
            fencing_token,
            mode: approval.mode,
            from_region: approval.from,
            to_region: approval.to,
            steps: vec![Step::PromoteDb, Step::ScaleCompute, Step::ShiftTraffic, Step::Verify, Step::Notify],
            budgets: Budgets::from_topology(topology, decided_at),
            origin,
            allow_data_loss: approval.mode == Mode::Unplanned,
            allow_detach: approval.mode == Mode::Unplanned && (policy.allow_detach_promote || force.detach),
            fence_old_primary: policy.fence_old_primary && approval.mode != Mode::Drill,
            approval_required: policy.approval_required.contains(&approval.mode),
            force,
            forced: approval.forced,
            findings: approval.findings,
            quorum: approval.quorum,
            decided_at,
        }
    }
}

/// `{app}-{to}-{yyyymmddThhmmssZ}-{8 hex}`: sortable, and says where and when at a glance.
pub fn new_run_id(application: &str, to_region: &str, at: DateTime<Utc>) -> String {
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{application}-{to_region}-{}-{}", at.format("%Y%m%dT%H%M%SZ"), &short[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_follow_the_objectives() {
        let t = Topology::from_json(include_str!("../../../docs/topology.example.json")).unwrap();
        let now = Utc::now();
        let b = Budgets::from_topology(&t, now);
        assert_eq!(b.rto_seconds, t.objectives.rto_seconds);
        assert_eq!(b.deadline, now + chrono::Duration::seconds(i64::from(t.objectives.rto_seconds)));
        assert!(
            b.promote_db_seconds.max(b.scale_compute_seconds) + b.shift_traffic_seconds + b.verify_seconds
                < b.rto_seconds
        );
    }

    #[test]
    fn run_ids_are_unique_and_readable() {
        let now = Utc::now();
        let a = new_run_id("shop", "us-west-2", now);
        assert!(a.starts_with("shop-us-west-2-"), "{a}");
        assert_ne!(a, new_run_id("shop", "us-west-2", now));
    }
}
