//! Shared set-up for the step tests: a seeded two-region emulator, the steps' ports for the
//! standby region (the one being activated) and a lease held by the run.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use drover_core::aws::dynamodb::DynamoLease;
use drover_core::ports::Lease;
use drover_core::steps::{Action, Outcome, StepError, StepInput, StepPorts, StepResult};
use drover_core::{Mode, Topology};
use serde_json::{Value, json};

#[path = "../common/mod.rs"]
mod common;
pub use common::*;

pub struct Run {
    pub w: World,
    pub ports: StepPorts,
    pub token: u64,
    pub run_id: String,
}

impl Run {
    /// A run activating the standby region, holding the lease; the call log is cleared.
    pub async fn new(speed: f64) -> Run {
        Self::build(World::new(speed), |_| {}).await
    }

    /// Like `new`, with the SDK's retries limited (to see a fault's error).
    pub async fn with_attempts(speed: f64, attempts: u32) -> Run {
        Self::build(World::with_attempts(speed, attempts), |_| {}).await
    }

    /// With a topology changed before the ports are built (e.g. a policy flag).
    pub async fn with_topology(speed: f64, change: impl FnOnce(&mut Topology)) -> Run {
        Self::build(World::new(speed), change).await
    }

    async fn build(w: World, change: impl FnOnce(&mut Topology)) -> Run {
        let mut topology = w.topology.clone();
        change(&mut topology);
        let ports = StepPorts::aws(&w.factory, Arc::new(topology), STANDBY).await.expect("ports");
        let run_id = format!("run-{}", std::process::id());
        let grant = lease(&w).await.acquire("test-runner", &run_id, Duration::from_secs(600)).await.expect("lease");
        w.emu.clear_calls();
        Run { w, ports, token: grant.fencing_token, run_id }
    }

    pub fn input(&self, mode: Mode, action: Action) -> StepInput {
        StepInput {
            run_id: self.run_id.clone(),
            fencing_token: self.token,
            mode,
            from_region: PRIMARY.into(),
            to_region: STANDBY.into(),
            action,
            force: Default::default(),
            change_id: None,
            deadline: None,
        }
    }

    /// Writes that took effect (2xx answers): a refused or faulted call changes nothing.
    pub fn effective_writes(&self) -> Vec<String> {
        self.w.emu.effective_writes()
    }

    /// Takes the lease away from this run: it expires and another run acquires it.
    pub async fn lose_lease(&self) -> u64 {
        let l = lease(&self.w).await;
        l.release(self.token).await.expect("release");
        let newer = l.acquire("another-runner", "run-other", Duration::from_secs(600)).await.expect("acquire");
        assert!(newer.fencing_token > self.token);
        self.w.emu.clear_calls();
        newer.fencing_token
    }

    /// Injects a fault with an explicit error code (e.g. a documented RDS fault).
    pub fn fault_with_code(&self, service: &str, action: &str, kind: &str, code: &str, count: Option<u32>) {
        self.w.emu.control(
            "POST",
            "/_drover/faults",
            Some(json!({ "service": service, "region": STANDBY, "action": action, "kind": kind, "code": code, "count": count })),
        );
    }
}

pub async fn lease(w: &World) -> DynamoLease {
    DynamoLease::new(&*w.clients(STANDBY).await, &w.region(STANDBY).lease_table)
}

#[derive(Debug, Clone, Copy)]
pub enum Which {
    PromoteDb,
    ScaleCompute,
    ShiftTraffic,
}

pub async fn call(ports: &StepPorts, which: Which, input: &StepInput) -> Result<StepResult, StepError> {
    match which {
        Which::PromoteDb => drover_core::steps::promote_db::run(ports, input).await,
        Which::ScaleCompute => drover_core::steps::scale_compute::run(ports, input).await,
        Which::ShiftTraffic => drover_core::steps::shift_traffic::run(ports, input).await,
    }
}

/// Calls the step with `start`, then with `status` while it is in progress (sleeping a
/// fraction of the suggested wait: modeled time runs faster), until it settles. Returns every
/// result.
pub async fn drive(ports: &StepPorts, which: Which, mut input: StepInput, secs: u64) -> Vec<StepResult> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut results = Vec::new();
    loop {
        let r = call(ports, which, &input).await.unwrap_or_else(|e| panic!("step error: {e}"));
        let settled = !matches!(r.outcome, Outcome::InProgress { .. });
        if let drover_core::steps::Detail::ShiftTraffic(t) = &r.detail
            && t.change_id.is_some()
        {
            input.change_id = t.change_id.clone();
        }
        results.push(r);
        if settled {
            return results;
        }
        assert!(Instant::now() < deadline, "not settled within {secs} s: {:#?}", results.last());
        input.action = Action::Status;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The events published to the standby region's topic, parsed.
pub fn published(run: &Run) -> Vec<Value> {
    let topic = run.w.region(STANDBY).sns.topic_arn.clone();
    run.w.emu.sns_messages(&topic)
}

pub fn calls_of(writes: &[drover_core::steps::Write]) -> Vec<String> {
    writes.iter().map(|w| w.call()).collect()
}
