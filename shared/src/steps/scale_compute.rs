//! scale-compute: bring the activated region's ECS services to their active desired count.
//!
//! Raises the application-autoscaling minimum first (so autoscaling cannot scale the service
//! back in), then the desired count, and is done at steady state (running = desired, rollout
//! completed). In an unplanned run with `policy.fence_old_primary`, once the activated region
//! is steady it scales the old primary's services to zero, best effort: that region may be down.
//! In planned and failback runs the old primary keeps serving until traffic has moved, so it is
//! not fenced here.

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::{EcsService, RegionConfig};
use crate::model::{Mode, Step};
use crate::ports::{Capacity, RolloutState, ServiceState};
use crate::steps::{
    Action, Detail, Invocation, Outcome, StepError, StepInput, StepPorts, StepResult, Write, describe_writes,
};

/// What this step calls (for the Lambda's IAM policy; the lease and the publisher included).
pub const IAM_ACTIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
    "dynamodb:GetItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];

/// A Fargate task takes about a minute to start.
pub const WAIT_SECONDS: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub cluster: String,
    pub service: String,
    /// The count this step converges to.
    pub target_desired: u32,
    /// The old primary's desired count, when it was read (planned runs and drills).
    pub source_desired: Option<u32>,
    pub before: ServiceState,
    pub capacity_before: Option<Capacity>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceReport {
    pub region: String,
    pub cluster: String,
    pub service: String,
    /// `None` when the old primary could not be read.
    pub desired_before: Option<u32>,
    pub note: String,
}

struct Observation<'a> {
    cfg: &'a EcsService,
    state: ServiceState,
    capacity: Option<Capacity>,
    source_desired: Option<u32>,
}

pub async fn run(p: &StepPorts, input: &StepInput) -> Result<StepResult, StepError> {
    let inv = Invocation::begin();
    if let Some(expired) = crate::steps::over_budget(&inv, Step::ScaleCompute, input) {
        return Ok(expired);
    }
    let (target, source) = input.validate(&p.topology, &p.region_self)?;
    // The old primary is read only when it is expected to answer; an unplanned run must not
    // wait on a region that is down.
    let read_source =
        input.action == Action::Start && matches!(input.mode, Mode::Planned | Mode::Failback | Mode::Drill);
    let observations: Vec<Observation> = join_all(target.ecs.iter().map(|cfg| observe(p, cfg, source, read_source)))
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let planned: Vec<Vec<(Write, Planned)>> =
        observations.iter().map(|o| plan(o, p.scaler.region(), input.action)).collect();
    if planned.iter().any(|w| !w.is_empty()) && input.mode.writes() {
        p.fence(input).await?;
    }
    // Each service converges on its own, in parallel; a service's own writes stay in order
    // (the autoscaling minimum before the desired count).
    let per_service = join_all(observations.iter().zip(planned).map(|(o, plan)| async move {
        let acted = !plan.is_empty();
        let mut writes = Vec::new();
        for (write, what) in plan {
            if input.mode.writes() {
                match what {
                    Planned::Capacity(c) => p.scaler.set_capacity(&o.cfg.cluster, &o.cfg.service, c).await?,
                    Planned::Desired(n) => p.scaler.set_desired_count(&o.cfg.cluster, &o.cfg.service, n).await?,
                }
                writes.push(write.made());
            } else {
                writes.push(write);
            }
        }
        let report = ServiceReport {
            cluster: o.cfg.cluster.clone(),
            service: o.cfg.service.clone(),
            target_desired: target_desired(o),
            source_desired: o.source_desired,
            before: o.state.clone(),
            capacity_before: o.capacity,
            outcome: outcome(o, acted, input.mode),
        };
        Ok::<_, StepError>((report, writes))
    }))
    .await;
    let mut writes = Vec::new();
    let mut reports = Vec::new();
    for r in per_service {
        let (report, w) = r?;
        reports.push(report);
        writes.extend(w);
    }
    let outcome = Outcome::combine(reports.iter().map(|r| &r.outcome));

    let mut fenced = Vec::new();
    let fence_now = p.topology.policy.fence_old_primary
        && ((input.mode == Mode::Unplanned && outcome == Outcome::Done) || input.mode == Mode::Drill);
    if fence_now && !matches!(outcome, Outcome::Failed { .. }) {
        let (reports, fence_writes) = fence_old_primary(p, input, source).await;
        fenced = reports;
        writes.extend(fence_writes);
    }
    // A failed fence leaves the step done: the message says what to do by hand.
    let message = message(&outcome, &reports, &fenced, &writes, input);
    let result = inv.finish(
        Step::ScaleCompute,
        input,
        outcome,
        message,
        writes,
        Detail::ScaleCompute { services: reports, fenced },
    );
    p.publish_step_event(&result, json!({})).await;
    Ok(result)
}

async fn observe<'a>(
    p: &StepPorts,
    cfg: &'a EcsService,
    source: &RegionConfig,
    read_source: bool,
) -> Result<Observation<'a>, StepError> {
    let state = p.scaler.service(&cfg.cluster, &cfg.service).await?;
    let capacity = p.scaler.capacity(&cfg.cluster, &cfg.service).await?;
    let mut source_desired = None;
    if let Some(peer) = source.ecs.iter().find(|s| read_source && s.service == cfg.service) {
        match p.peer_scaler.service(&peer.cluster, &peer.service).await {
            Ok(s) => source_desired = Some(s.desired),
            Err(e) => tracing::warn!(error = %e, "old primary's desired count not readable; using the topology's"),
        }
    }
    Ok(Observation { cfg, state, capacity, source_desired })
}

fn target_desired(o: &Observation) -> u32 {
    o.cfg.active_desired_count.max(o.source_desired.unwrap_or(0))
}

enum Planned {
    Capacity(Capacity),
    Desired(u32),
}

fn plan(o: &Observation, region: &str, action: Action) -> Vec<(Write, Planned)> {
    if action == Action::Status {
        return Vec::new();
    }
    let want = target_desired(o);
    let resource = format!("service/{}/{}", o.cfg.cluster, o.cfg.service);
    let mut out = Vec::new();
    if let Some(c) = o.capacity.filter(|c| c.min < want) {
        let new = Capacity { min: want, max: c.max.max(want) };
        out.push((
            Write::new(
                "application-autoscaling",
                "RegisterScalableTarget",
                region,
                resource.clone(),
                format!("min {} -> {}, max {}", c.min, new.min, new.max),
            ),
            Planned::Capacity(new),
        ));
    }
    // Never scale in: autoscaling may already run more than the topology's count.
    if o.state.desired < want {
        out.push((
            Write::new("ecs", "UpdateService", region, resource, format!("desiredCount {} -> {want}", o.state.desired)),
            Planned::Desired(want),
        ));
    }
    out
}

fn outcome(o: &Observation, acted: bool, mode: Mode) -> Outcome {
    let want = target_desired(o);
    if o.state.status != "ACTIVE" {
        return Outcome::Failed {
            reason: format!(
                "ECS service {} in cluster {} is {}, not ACTIVE: recreate it (terraform apply in the standby region) and re-run",
                o.cfg.service, o.cfg.cluster, o.state.status
            ),
        };
    }
    if o.state.rollout == RolloutState::Failed {
        return Outcome::Failed {
            reason: format!(
                "the ECS deployment of {} failed: check the service events (task start failures, image replicated to this region's ECR, secrets present)",
                o.cfg.service
            ),
        };
    }
    if !mode.writes() || (!acted && o.state.desired >= want && o.state.is_steady()) {
        return Outcome::Done;
    }
    Outcome::InProgress { wait_seconds: WAIT_SECONDS }
}

/// Scales the old primary's services to zero. Best effort: every failure is recorded, none stops the step.
async fn fence_old_primary(p: &StepPorts, input: &StepInput, source: &RegionConfig) -> (Vec<FenceReport>, Vec<Write>) {
    let mut reports = Vec::new();
    let mut writes = Vec::new();
    let region = p.peer_scaler.region().to_string();
    let mut fenced_checked = false;
    for s in &source.ecs {
        let resource = format!("service/{}/{}", s.cluster, s.service);
        let state = match p.peer_scaler.service(&s.cluster, &s.service).await {
            Ok(state) => state,
            Err(e) => {
                reports.push(FenceReport {
                    region: region.clone(),
                    cluster: s.cluster.clone(),
                    service: s.service.clone(),
                    desired_before: None,
                    note: format!("not fenced, the old primary did not answer ({e}): scale {resource} to 0 in {region} when it returns"),
                });
                continue;
            }
        };
        if state.desired == 0 {
            reports.push(FenceReport {
                region: region.clone(),
                cluster: s.cluster.clone(),
                service: s.service.clone(),
                desired_before: Some(0),
                note: "already at 0".into(),
            });
            continue;
        }
        let capacity = p.peer_scaler.capacity(&s.cluster, &s.service).await.ok().flatten();
        let mut planned = Vec::new();
        if let Some(c) = capacity.filter(|c| c.min > 0) {
            planned.push((
                Write::new(
                    "application-autoscaling",
                    "RegisterScalableTarget",
                    &region,
                    resource.clone(),
                    format!("fence: min {} -> 0", c.min),
                ),
                Some(Capacity { min: 0, max: c.max }),
            ));
        }
        planned.push((
            Write::new(
                "ecs",
                "UpdateService",
                &region,
                resource.clone(),
                format!("fence: desiredCount {} -> 0", state.desired),
            ),
            None,
        ));
        let mut note = String::from("scaled to 0");
        for (w, cap) in planned {
            if !input.mode.writes() {
                writes.push(w);
                note = "drill: would scale to 0".into();
                continue;
            }
            if !fenced_checked {
                if let Err(e) = p.fence(input).await {
                    writes.push(w.failed(&e));
                    note = format!("not fenced: {e}");
                    break;
                }
                fenced_checked = true;
            }
            let r = match cap {
                Some(c) => p.peer_scaler.set_capacity(&s.cluster, &s.service, c).await,
                None => p.peer_scaler.set_desired_count(&s.cluster, &s.service, 0).await,
            };
            match r {
                Ok(()) => writes.push(w.made()),
                Err(e) => {
                    note = format!("not fenced ({e}): scale {resource} to 0 in {region} by hand");
                    writes.push(w.failed(&e));
                }
            }
        }
        reports.push(FenceReport {
            region: region.clone(),
            cluster: s.cluster.clone(),
            service: s.service.clone(),
            desired_before: Some(state.desired),
            note,
        });
    }
    (reports, writes)
}

fn message(
    outcome: &Outcome,
    reports: &[ServiceReport],
    fenced: &[FenceReport],
    writes: &[Write],
    input: &StepInput,
) -> String {
    let services: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}/{} running (target {})",
                r.cluster, r.service, r.before.running, r.before.desired, r.target_desired
            )
        })
        .collect();
    let head = match outcome {
        Outcome::Done if input.mode == Mode::Drill => format!("Drill: compute in {} checked", input.to_region),
        Outcome::Done => format!("Compute in {} is at its active count and steady", input.to_region),
        Outcome::InProgress { .. } => format!("Compute in {} is scaling", input.to_region),
        Outcome::Degraded { reason } | Outcome::Failed { reason } => {
            format!("Compute in {} stopped: {reason}", input.to_region)
        }
    };
    let fence: Vec<String> =
        fenced.iter().map(|f| format!("old primary {}/{}: {}", f.cluster, f.service, f.note)).collect();
    let mut s = format!("{head}. {}. {}.", services.join("; "), describe_writes(writes));
    if !fence.is_empty() {
        s.push_str(&format!(" {}.", fence.join("; ")));
    }
    s
}
