//! promote-db: make the activated region's Aurora cluster the writer of each global cluster.
//!
//! planned / failback → SwitchoverGlobalCluster (no data loss); unplanned → FailoverGlobalCluster
//! with AllowDataLoss, called in the activated region; detach-and-promote only when allowed
//! (policy or `force.detach`) and the global operation is refused. The replication lag is read
//! before acting: it is the RPO evidence, and an unplanned promotion over the RPO budget is
//! refused unless `force.rpo`. A drill rehearses the unplanned path.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::{AuroraCluster, Topology};
use crate::error::{AwsError, ErrorKind};
use crate::model::{Mode, Step};
use crate::ports::{DbCluster, FailoverState, GlobalCluster, GlobalClusterStatus, GlobalDatabase, LagSample};
use crate::steps::{
    Action, Detail, Invocation, Outcome, StepError, StepInput, StepPorts, StepResult, Write, describe_writes,
};

/// What this step calls (for the Lambda's IAM policy; the lease and the publisher included).
pub const IAM_ACTIONS: &[&str] = &[
    "rds:DescribeGlobalClusters",
    "rds:DescribeDBClusters",
    "rds:FailoverGlobalCluster",
    "rds:SwitchoverGlobalCluster",
    "rds:RemoveFromGlobalCluster",
    "cloudwatch:GetMetricData",
    "dynamodb:GetItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];

/// Aurora managed failover takes about a minute: poll four times in it.
pub const WAIT_SECONDS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionPath {
    Switchover,
    FailoverAllowDataLoss,
    DetachAndPromote,
}

impl PromotionPath {
    fn call(self) -> &'static str {
        match self {
            PromotionPath::Switchover => "SwitchoverGlobalCluster",
            PromotionPath::FailoverAllowDataLoss => "FailoverGlobalCluster",
            PromotionPath::DetachAndPromote => "RemoveFromGlobalCluster",
        }
    }
}

/// What promote-db saw and did for one global cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    pub global_cluster_id: String,
    pub target_cluster_arn: String,
    /// The writer before this invocation acted.
    pub writer: Option<String>,
    pub global_status: Option<GlobalClusterStatus>,
    pub cluster_status: Option<String>,
    /// A failover or switchover in flight, as RDS reports it.
    pub failover_state: Option<FailoverState>,
    pub path: Option<PromotionPath>,
    /// RPO evidence: the replication lag read before acting.
    pub replication_lag_ms: Option<u64>,
    pub lag_metric: Option<String>,
    pub lag_at: Option<DateTime<Utc>>,
    pub rpo_budget_ms: u64,
    pub outcome: Outcome,
    pub note: String,
}

/// Everything read about one global cluster before deciding.
#[derive(Debug, Clone)]
pub struct Observation {
    pub cfg: AuroraCluster,
    /// `None` when the global cluster does not exist (any more).
    pub global: Option<GlobalCluster>,
    pub cluster: DbCluster,
    pub lag: Option<LagSample>,
}

/// What to do for one global cluster: the pure decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Done(String),
    Wait(String),
    Act(PromotionPath),
    Refuse(String),
}

pub async fn run(p: &StepPorts, input: &StepInput) -> Result<StepResult, StepError> {
    let inv = Invocation::begin();
    if let Some(expired) = crate::steps::over_budget(&inv, Step::PromoteDb, input) {
        return Ok(expired);
    }
    let (target, _source) = input.validate(&p.topology, &p.region_self)?;
    let read_lag = input.action == Action::Start;
    let observations: Vec<Observation> = join_all(target.aurora.iter().map(|c| observe(p.db.as_ref(), c, read_lag)))
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let decisions: Vec<Decision> = observations.iter().map(|o| decide(o, input, &p.topology)).collect();

    let acting = decisions.iter().any(|d| matches!(d, Decision::Act(_)));
    if acting && input.mode.writes() {
        p.fence(input).await?;
    }
    let allow_detach = p.topology.policy.allow_detach_promote || input.force.detach;
    let done: Vec<(ClusterReport, Vec<Write>)> = join_all(
        observations.iter().zip(decisions).map(|(o, d)| act(p.db.as_ref(), o, d, input, allow_detach, &p.topology)),
    )
    .await
    .into_iter()
    .collect::<Result<_, _>>()?;

    let (reports, writes): (Vec<ClusterReport>, Vec<Vec<Write>>) = done.into_iter().unzip();
    let writes: Vec<Write> = writes.into_iter().flatten().collect();
    let outcome = Outcome::combine(reports.iter().map(|r| &r.outcome));
    let message = message(&outcome, &reports, &writes, input);
    let lag_evidence: Vec<_> = reports
        .iter()
        .map(|r| json!({"global_cluster_id": r.global_cluster_id, "replication_lag_ms": r.replication_lag_ms, "metric": r.lag_metric, "at": r.lag_at}))
        .collect();
    let result = inv.finish(Step::PromoteDb, input, outcome, message, writes, Detail::PromoteDb { clusters: reports });
    p.publish_step_event(
        &result,
        json!({ "replication_lag": lag_evidence, "rpo_budget_s": p.topology.objectives.rpo_seconds }),
    )
    .await;
    Ok(result)
}

async fn observe(db: &dyn GlobalDatabase, cfg: &AuroraCluster, read_lag: bool) -> Result<Observation, StepError> {
    let global = match db.global_cluster(&cfg.global_cluster_id).await {
        Ok(g) => Some(g),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let cluster = db.cluster(&cfg.cluster_id).await?;
    let lag = if read_lag { db.replication_lag(&cfg.cluster_id).await? } else { None };
    Ok(Observation { cfg: cfg.clone(), global, cluster, lag })
}

/// The decision for one global cluster, from what was read. Pure.
pub fn decide(o: &Observation, input: &StepInput, topology: &Topology) -> Decision {
    let target = &o.cfg.cluster_arn;
    let available = o.cluster.status == "available";
    if o.cluster.status == "promoting" {
        // RemoveFromGlobalCluster in flight: the member leaves the global cluster when it is done.
        return Decision::Wait(format!("{} is being detached and promoted", o.cfg.cluster_id));
    }
    let member = o.global.as_ref().and_then(|g| g.member(target).map(|m| (g, m)));
    let Some((g, m)) = member else {
        // Not (or no longer) in the global cluster: a detach-and-promote happened.
        return match (&o.cluster.global_cluster_id, available) {
            (None, true) => Decision::Done(format!(
                "{} is a standalone writer (detached from {})",
                o.cfg.cluster_id, o.cfg.global_cluster_id
            )),
            (None, false) => Decision::Wait(format!("{} is detached and {}", o.cfg.cluster_id, o.cluster.status)),
            (Some(gid), _) => Decision::Refuse(format!(
                "{} says it belongs to global cluster {gid}, which does not list it: check the topology (global_cluster_id {}) against RDS",
                o.cfg.cluster_id, o.cfg.global_cluster_id
            )),
        };
    };
    if let Some(f) = &g.failover {
        return if f.to_cluster_arn.as_deref() == Some(target.as_str()) {
            Decision::Wait(format!(
                "{} toward {} is {:?}",
                if f.data_loss_allowed { "failover" } else { "switchover" },
                o.cfg.cluster_id,
                f.status
            ))
        } else {
            Decision::Refuse(format!(
                "another failover of {} is running toward {}: let it finish (or cancel it in the RDS console), then run promote-db again",
                g.id,
                f.to_cluster_arn.as_deref().unwrap_or("an unknown cluster")
            ))
        };
    }
    if m.is_writer {
        return if available && g.status == GlobalClusterStatus::Available {
            Decision::Done(format!("{} is the writer of {} and available", o.cfg.cluster_id, g.id))
        } else {
            Decision::Wait(format!(
                "{} is the writer; cluster {}, global cluster {:?}",
                o.cfg.cluster_id, o.cluster.status, g.status
            ))
        };
    }
    if input.action == Action::Status {
        return if g.status == GlobalClusterStatus::Available {
            Decision::Refuse(format!(
                "{} is not the writer of {} and no failover is in flight: the promotion did not start or was rolled back; run promote-db with action start again",
                o.cfg.cluster_id, g.id
            ))
        } else {
            Decision::Wait(format!("global cluster {} is {:?}", g.id, g.status))
        };
    }
    match input.mode {
        Mode::Planned | Mode::Failback => Decision::Act(PromotionPath::Switchover),
        Mode::Unplanned | Mode::Drill => {
            let budget = Duration::from_secs(u64::from(topology.objectives.rpo_seconds));
            match &o.lag {
                Some(l) if l.lag <= budget => Decision::Act(PromotionPath::FailoverAllowDataLoss),
                _ if input.force.rpo => Decision::Act(PromotionPath::FailoverAllowDataLoss),
                Some(l) => Decision::Refuse(format!(
                    "replication lag of {} is {:.1} s, over the RPO budget of {} s: promoting now could lose that much data. If losing it is acceptable, re-run with force.rpo = true; otherwise wait for the lag to fall or restore the primary",
                    o.cfg.cluster_id,
                    l.lag.as_secs_f64(),
                    budget.as_secs()
                )),
                None => Decision::Refuse(format!(
                    "no recent replication-lag datapoint for {} in {}: the RPO cannot be shown. Check the AuroraGlobalDBRPOLag metric; if promoting blind is acceptable, re-run with force.rpo = true",
                    o.cfg.cluster_id,
                    o.cfg.cluster_arn.split(':').nth(3).unwrap_or("its region")
                )),
            }
        }
    }
}

async fn act(
    db: &dyn GlobalDatabase,
    o: &Observation,
    d: Decision,
    input: &StepInput,
    allow_detach: bool,
    topology: &Topology,
) -> Result<(ClusterReport, Vec<Write>), StepError> {
    let region = db.region().to_string();
    let mut report = ClusterReport {
        global_cluster_id: o.cfg.global_cluster_id.clone(),
        target_cluster_arn: o.cfg.cluster_arn.clone(),
        writer: o.global.as_ref().and_then(|g| g.writer()).map(|m| m.cluster_arn.clone()),
        global_status: o.global.as_ref().map(|g| g.status.clone()),
        cluster_status: Some(o.cluster.status.clone()),
        failover_state: o.global.as_ref().and_then(|g| g.failover.clone()),
        path: None,
        replication_lag_ms: o.lag.as_ref().map(|l| u64::try_from(l.lag.as_millis()).unwrap_or(u64::MAX)),
        lag_metric: o.lag.as_ref().map(|l| l.metric.clone()),
        lag_at: o.lag.as_ref().map(|l| l.at),
        rpo_budget_ms: u64::from(topology.objectives.rpo_seconds) * 1000,
        outcome: Outcome::Done,
        note: String::new(),
    };
    let mut writes = Vec::new();
    match d {
        Decision::Done(note) => report.note = note,
        Decision::Wait(note) => {
            report.note = note;
            report.outcome =
                if input.mode.writes() { Outcome::InProgress { wait_seconds: WAIT_SECONDS } } else { Outcome::Done };
        }
        Decision::Refuse(reason) => {
            report.outcome = Outcome::Failed { reason: reason.clone() };
            report.note = reason;
        }
        Decision::Act(path) => {
            report.path = Some(path);
            let write = promotion_write(path, &region, o);
            if !input.mode.writes() {
                report.note = format!("drill: would call {} for {}", path.call(), o.cfg.cluster_id);
                writes.push(write);
                return Ok((report, writes));
            }
            let result = match path {
                PromotionPath::Switchover => db.switchover(&o.cfg.global_cluster_id, &o.cfg.cluster_arn).await,
                PromotionPath::FailoverAllowDataLoss => {
                    db.failover(&o.cfg.global_cluster_id, &o.cfg.cluster_arn, true).await
                }
                PromotionPath::DetachAndPromote => db.detach(&o.cfg.global_cluster_id, &o.cfg.cluster_arn).await,
            };
            match result {
                Ok(()) => {
                    writes.push(write.made());
                    report.note = format!("{} called for {}", path.call(), o.cfg.cluster_id);
                    report.outcome = Outcome::InProgress { wait_seconds: WAIT_SECONDS };
                }
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => {
                    // A duplicate invocation may have started the same promotion a moment ago.
                    if started_elsewhere(db, o).await {
                        report.note = format!("{} is already being promoted", o.cfg.cluster_id);
                        report.outcome = Outcome::InProgress { wait_seconds: WAIT_SECONDS };
                    } else if path == PromotionPath::FailoverAllowDataLoss && allow_detach {
                        let detach = promotion_write(PromotionPath::DetachAndPromote, &region, o);
                        db.detach(&o.cfg.global_cluster_id, &o.cfg.cluster_arn).await?;
                        writes.push(detach.made());
                        report.path = Some(PromotionPath::DetachAndPromote);
                        report.note =
                            format!("FailoverGlobalCluster refused ({e}); detached {} to promote it", o.cfg.cluster_id);
                        report.outcome = Outcome::InProgress { wait_seconds: WAIT_SECONDS };
                    } else {
                        report.outcome = Outcome::Failed { reason: refused_reason(path, &e, o) };
                        report.note = e.to_string();
                    }
                }
            }
        }
    }
    Ok((report, writes))
}

fn promotion_write(path: PromotionPath, region: &str, o: &Observation) -> Write {
    let change = match path {
        PromotionPath::Switchover => format!("switch the writer to {} (no data loss)", o.cfg.cluster_id),
        PromotionPath::FailoverAllowDataLoss => format!("fail over to {} (AllowDataLoss)", o.cfg.cluster_id),
        PromotionPath::DetachAndPromote => format!("detach {} as a standalone writer", o.cfg.cluster_id),
    };
    Write::new("rds", path.call(), region, o.cfg.global_cluster_id.clone(), change)
}

async fn started_elsewhere(db: &dyn GlobalDatabase, o: &Observation) -> bool {
    match db.global_cluster(&o.cfg.global_cluster_id).await {
        Ok(g) => {
            g.failover.as_ref().is_some_and(|f| f.to_cluster_arn.as_deref() == Some(o.cfg.cluster_arn.as_str()))
                || g.writer().is_some_and(|w| w.cluster_arn == o.cfg.cluster_arn)
        }
        Err(_) => false,
    }
}

fn refused_reason(path: PromotionPath, e: &AwsError, o: &Observation) -> String {
    match path {
        PromotionPath::Switchover => format!(
            "SwitchoverGlobalCluster was refused ({e}). A switchover needs both regions healthy: if the primary is down, start an unplanned failover instead"
        ),
        PromotionPath::FailoverAllowDataLoss => format!(
            "FailoverGlobalCluster was refused ({e}). Detach-and-promote would make {} a standalone writer and end global replication; re-run with force.detach = true if that is acceptable",
            o.cfg.cluster_id
        ),
        PromotionPath::DetachAndPromote => format!(
            "RemoveFromGlobalCluster was refused ({e}): promote {} by hand in the RDS console",
            o.cfg.cluster_id
        ),
    }
}

fn message(outcome: &Outcome, reports: &[ClusterReport], writes: &[Write], input: &StepInput) -> String {
    let lag: Vec<String> = reports
        .iter()
        .map(|r| match r.replication_lag_ms {
            Some(ms) => format!("{} lag {ms} ms", r.global_cluster_id),
            None => format!("{} lag not read", r.global_cluster_id),
        })
        .collect();
    let head = match outcome {
        Outcome::Done if input.mode == Mode::Drill => format!("Drill: Aurora promotion to {} checked", input.to_region),
        Outcome::Done => format!("Aurora writer is in {}", input.to_region),
        Outcome::InProgress { .. } => format!("Aurora promotion to {} in progress", input.to_region),
        Outcome::Degraded { reason } | Outcome::Failed { reason } => {
            format!("Aurora promotion to {} stopped: {reason}", input.to_region)
        }
    };
    let notes: Vec<&str> = reports.iter().map(|r| r.note.as_str()).filter(|n| !n.is_empty()).collect();
    format!("{head}. {}. {}. ({})", notes.join("; "), describe_writes(writes), lag.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{FailoverStatus, GlobalMember};

    fn topology() -> Topology {
        Topology::from_json(include_str!("../../../docs/topology.example.json")).unwrap()
    }

    fn obs(writer_is_target: bool, failover_to: Option<&str>, lag_ms: Option<u64>) -> Observation {
        let t = topology();
        let cfg = t.region("us-west-2").unwrap().aurora[0].clone();
        let other = t.region("us-east-1").unwrap().aurora[0].cluster_arn.clone();
        Observation {
            global: Some(GlobalCluster {
                id: cfg.global_cluster_id.clone(),
                status: if failover_to.is_some() {
                    GlobalClusterStatus::FailingOver
                } else {
                    GlobalClusterStatus::Available
                },
                engine_version: None,
                members: vec![
                    GlobalMember { cluster_arn: cfg.cluster_arn.clone(), is_writer: writer_is_target },
                    GlobalMember { cluster_arn: other.clone(), is_writer: !writer_is_target },
                ],
                failover: failover_to.map(|to| FailoverState {
                    status: FailoverStatus::FailingOver,
                    from_cluster_arn: Some(other.clone()),
                    to_cluster_arn: Some(if to == "target" { cfg.cluster_arn.clone() } else { to.to_string() }),
                    data_loss_allowed: true,
                }),
            }),
            cluster: DbCluster {
                id: cfg.cluster_id.clone(),
                arn: cfg.cluster_arn.clone(),
                status: "available".into(),
                engine_version: None,
                global_cluster_id: Some(cfg.global_cluster_id.clone()),
            },
            lag: lag_ms.map(|ms| LagSample {
                metric: "AuroraGlobalDBRPOLag".into(),
                lag: Duration::from_millis(ms),
                at: Utc::now(),
            }),
            cfg,
        }
    }

    fn input(mode: Mode, action: Action) -> StepInput {
        StepInput {
            run_id: "r".into(),
            fencing_token: 1,
            mode,
            from_region: "us-east-1".into(),
            to_region: "us-west-2".into(),
            action,
            force: Default::default(),
            change_id: None,
            deadline: None,
        }
    }

    #[test]
    fn decisions() {
        let t = topology();
        let start = |m| input(m, Action::Start);
        assert!(matches!(decide(&obs(true, None, None), &start(Mode::Unplanned), &t), Decision::Done(_)));
        assert!(matches!(decide(&obs(false, Some("target"), None), &start(Mode::Unplanned), &t), Decision::Wait(_)));
        assert!(matches!(
            decide(&obs(false, Some("arn:aws:rds:eu-west-1:1:cluster:x"), None), &start(Mode::Unplanned), &t),
            Decision::Refuse(_)
        ));
        assert_eq!(
            decide(&obs(false, None, Some(500)), &start(Mode::Unplanned), &t),
            Decision::Act(PromotionPath::FailoverAllowDataLoss)
        );
        assert_eq!(
            decide(&obs(false, None, Some(500)), &start(Mode::Drill), &t),
            Decision::Act(PromotionPath::FailoverAllowDataLoss)
        );
        assert_eq!(
            decide(&obs(false, None, None), &start(Mode::Planned), &t),
            Decision::Act(PromotionPath::Switchover)
        );
        assert_eq!(
            decide(&obs(false, None, None), &start(Mode::Failback), &t),
            Decision::Act(PromotionPath::Switchover)
        );
        let over = u64::from(t.objectives.rpo_seconds) * 1000 + 1;
        assert!(
            matches!(decide(&obs(false, None, Some(over)), &start(Mode::Unplanned), &t), Decision::Refuse(r) if r.contains("force.rpo"))
        );
        assert!(
            matches!(decide(&obs(false, None, None), &start(Mode::Unplanned), &t), Decision::Refuse(r) if r.contains("cannot be shown"))
        );
        let mut forced = start(Mode::Unplanned);
        forced.force.rpo = true;
        assert_eq!(
            decide(&obs(false, None, Some(over)), &forced, &t),
            Decision::Act(PromotionPath::FailoverAllowDataLoss)
        );
        assert!(
            matches!(
                decide(&obs(false, None, Some(1)), &input(Mode::Unplanned, Action::Status), &t),
                Decision::Refuse(_)
            ),
            "status never acts"
        );
        let mut detached = obs(false, None, None);
        detached.global = None;
        detached.cluster.global_cluster_id = None;
        assert!(matches!(decide(&detached, &start(Mode::Unplanned), &t), Decision::Done(_)));
    }
}
