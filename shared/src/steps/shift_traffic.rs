//! shift-traffic: move the DNS traffic to the activated region, data plane first.
//!
//! 1. The gate: publish, in the activated region, the metric behind the health check of the
//!    old primary's record as closed. Route 53 then stops answering with that record, even when
//!    its control plane (us-east-1) is impaired. Route 53 fails open when every record of a set
//!    is unhealthy, so the gate must never close both: the activated region's own record must be
//!    healthy first (its own gate, published in the old primary's region, is re-opened there if
//!    it is still closed from an earlier run, best effort, in planned runs and failbacks).
//! 2. The weights, through ChangeResourceRecordSets (activated = its active weight, old primary =
//!    0), so the change is sticky; done at INSYNC. When the Route 53 API fails, the step ends
//!    `Degraded`: traffic moved through the gate only, re-run when Route 53 recovers.
//!
//! `status` converges the same way as `start` (both are harmless when repeated) and polls the
//! change id a previous invocation returned (`detail.change_id`, passed back as `change_id`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::aws::factory::ROUTE53_SIGNING_REGION;
use crate::config::RegionConfig;
use crate::error::{AwsError, ErrorKind};
use crate::model::{Mode, Step};
use crate::ports::{ChangeStatus, HealthStatus};
use crate::steps::{Detail, Invocation, Outcome, StepError, StepInput, StepPorts, StepResult, Write, describe_writes};

/// What this step calls (for the Lambda's IAM policy; the lease and the publisher included).
/// The gate metric is published in both regions' CloudWatch (its own gate, in the peer).
pub const IAM_ACTIONS: &[&str] = &[
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "route53:GetHealthCheckStatus",
    "dynamodb:GetItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];

/// Route 53 propagates a change in up to a minute.
pub const WAIT_SECONDS: u32 = 10;
/// The SigV4 signing name of CloudWatch (as the call log and IAM see it).
const CLOUDWATCH: &str = "monitoring";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateReport {
    /// Whose record the gate drives.
    pub record: String,
    /// The region the gate metric is published in.
    pub published_in: String,
    /// Open (true), closed (false), no recent datapoint (None) before this invocation.
    pub before: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficReport {
    pub old_primary_gate: GateReport,
    pub own_gate: GateReport,
    /// The activated region's record health, as Route 53 reports it (None: not readable).
    pub target_health: Option<HealthStatus>,
    pub weights_before: BTreeMap<String, u8>,
    pub weights_target: BTreeMap<String, u8>,
    /// The Route 53 change to poll: pass it back as `change_id` with action `status`.
    pub change_id: Option<String>,
    pub change_status: Option<ChangeStatus>,
    /// Why the weights could not be moved (the outcome is then degraded).
    pub route53_error: Option<String>,
}

pub async fn run(p: &StepPorts, input: &StepInput) -> Result<StepResult, StepError> {
    let inv = Invocation::begin();
    if let Some(expired) = crate::steps::over_budget(&inv, Step::ShiftTraffic, input) {
        return Ok(expired);
    }
    let (target, source) = input.validate(&p.topology, &p.region_self)?;
    let mut report = TrafficReport {
        old_primary_gate: GateReport {
            record: source.name.clone(),
            published_in: target.name.clone(),
            ..GateReport::default()
        },
        own_gate: GateReport {
            record: target.name.clone(),
            published_in: source.name.clone(),
            ..GateReport::default()
        },
        ..TrafficReport::default()
    };
    let mut writes: Vec<Write> = Vec::new();
    let mut fenced = false;

    // ---- 1. the gate (data plane, this region) ----
    report.old_primary_gate.before = p.router.gate(&source.gate).await?;
    // The old primary is asked only when it is expected to answer: an unplanned run must not wait on it.
    if matches!(input.mode, Mode::Planned | Mode::Failback | Mode::Drill) {
        match p.peer_router.gate(&target.gate).await {
            Ok(v) => report.own_gate.before = v,
            Err(e) => report.own_gate.read_error = Some(e.to_string()),
        }
    }
    report.target_health = match p.router.health_check_status(&target.route53.health_check_id).await {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "health of the activated region's record not readable; relying on its gate");
            None
        }
    };
    let must_open_own = report.own_gate.before == Some(false);
    let must_close_old = report.old_primary_gate.before != Some(false);
    if must_close_old && !must_open_own && report.target_health == Some(HealthStatus::Unhealthy) {
        let reason = format!(
            "the health check of {t}'s record ({hc}) is unhealthy: closing {o}'s gate would leave no healthy record and Route 53 would answer with both. Find out why {t} is unhealthy (its gate alarm {alarm} in {o}, its ALB), then re-run shift-traffic",
            t = target.name,
            o = source.name,
            hc = target.route53.health_check_id,
            alarm = target.gate.alarm_name
        );
        return Ok(finish(p, inv, input, Outcome::Failed { reason }, writes, report).await);
    }
    if must_open_own {
        let w = gate_write(source, target, true);
        if input.mode.writes() {
            p.fence(input).await?;
            fenced = true;
            match p.peer_router.set_gate(&target.gate, true).await {
                Ok(()) => writes.push(w.made()),
                Err(e) if must_close_old => {
                    let reason = format!(
                        "{t}'s own gate is closed (published in {o}) and could not be opened ({e}); closing {o}'s gate too would leave no healthy record. Publish {ns}/{m} = 1 in {o} for record {t}, then re-run",
                        t = target.name,
                        o = source.name,
                        ns = target.gate.namespace,
                        m = target.gate.metric_name
                    );
                    writes.push(w.failed(&e));
                    return Ok(finish(p, inv, input, Outcome::Failed { reason }, writes, report).await);
                }
                Err(e) => writes.push(w.failed(&e)),
            }
        } else {
            writes.push(w);
        }
    }
    if must_close_old {
        let w = gate_write(target, source, false);
        if input.mode.writes() {
            if !fenced {
                p.fence(input).await?;
                fenced = true;
            }
            p.router.set_gate(&source.gate, false).await?;
            writes.push(w.made());
        } else {
            writes.push(w);
        }
    }

    // ---- 2. the weights (control plane, best effort) ----
    let outcome = match weights(p, input, target, source, &mut report, &mut writes, fenced).await {
        Ok(outcome) => outcome,
        Err(WeightsError::Step(e)) => return Err(e),
        Err(WeightsError::Route53(e)) => {
            report.route53_error = Some(e.to_string());
            Outcome::Degraded {
                reason: format!(
                    "traffic moved through the gate only: the Route 53 API failed ({e}). {o}'s record is out of DNS while its gate metric stays closed; re-run shift-traffic when Route 53 recovers to move the weights ({t} = {w}, {o} = 0) and make it sticky",
                    o = source.name,
                    t = target.name,
                    w = target.route53.active_weight
                ),
            }
        }
    };
    Ok(finish(p, inv, input, outcome, writes, report).await)
}

enum WeightsError {
    Step(StepError),
    Route53(AwsError),
}

async fn weights(
    p: &StepPorts,
    input: &StepInput,
    target: &RegionConfig,
    source: &RegionConfig,
    report: &mut TrafficReport,
    writes: &mut Vec<Write>,
    fenced: bool,
) -> Result<Outcome, WeightsError> {
    let r53 = &target.route53;
    let records = p
        .router
        .weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type)
        .await
        .map_err(WeightsError::Route53)?;
    let want = |set: &str| -> Option<u8> {
        if set == r53.set_identifier {
            Some(r53.active_weight)
        } else if set == source.route53.set_identifier {
            Some(0)
        } else {
            None
        }
    };
    for set in [&r53.set_identifier, &source.route53.set_identifier] {
        if !records.iter().any(|r| &r.set_identifier == set) {
            return Ok(Outcome::Failed {
                reason: format!(
                    "no weighted record with set identifier {set} for {} {} in zone {}: the DNS does not match the topology; fix it (terraform apply) and re-run",
                    r53.record_name,
                    r53.record_type.as_str(),
                    r53.hosted_zone_id
                ),
            });
        }
    }
    report.weights_before = records.iter().map(|r| (r.set_identifier.clone(), r.weight)).collect();
    report.weights_target =
        records.iter().filter_map(|r| Some((r.set_identifier.clone(), want(&r.set_identifier)?))).collect();
    let changed: Vec<_> = records
        .iter()
        .filter_map(|r| {
            let w = want(&r.set_identifier)?;
            (r.weight != w).then(|| {
                let mut r = r.clone();
                r.weight = w;
                r
            })
        })
        .collect();

    if changed.is_empty() {
        let Some(id) = &input.change_id else { return Ok(Outcome::Done) };
        report.change_id = Some(id.clone());
        return match p.router.change_status(id).await {
            Ok(ChangeStatus::Insync) => {
                report.change_status = Some(ChangeStatus::Insync);
                Ok(Outcome::Done)
            }
            Ok(ChangeStatus::Pending) => {
                report.change_status = Some(ChangeStatus::Pending);
                Ok(Outcome::InProgress { wait_seconds: WAIT_SECONDS })
            }
            // An unknown change id with the weights in place: nothing left to wait for.
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Outcome::Done),
            Err(e) => Err(WeightsError::Route53(e)),
        };
    }

    let change: Vec<String> = changed.iter().map(|r| format!("{}={}", r.set_identifier, r.weight)).collect();
    let w = Write::new(
        "route53",
        "ChangeResourceRecordSets",
        ROUTE53_SIGNING_REGION,
        r53.hosted_zone_id.clone(),
        format!("weights of {}: {}", r53.record_name, change.join(", ")),
    );
    if !input.mode.writes() {
        writes.push(w);
        return Ok(Outcome::Done);
    }
    if !fenced {
        p.fence(input).await.map_err(WeightsError::Step)?;
    }
    let comment = format!("drover run {} ({}): {} -> {}", input.run_id, input.mode, source.name, target.name);
    let id = p.router.set_weights(&r53.hosted_zone_id, &changed, &comment).await.map_err(WeightsError::Route53)?;
    writes.push(w.made());
    report.change_id = Some(id);
    report.change_status = Some(ChangeStatus::Pending);
    Ok(Outcome::InProgress { wait_seconds: WAIT_SECONDS })
}

fn gate_write(published_in: &RegionConfig, record_of: &RegionConfig, open: bool) -> Write {
    let g = &record_of.gate;
    Write::new(
        CLOUDWATCH,
        "PutMetricData",
        &published_in.name,
        format!("{}/{} Record={}", g.namespace, g.metric_name, record_of.name),
        format!(
            "{} {}'s gate (health check {})",
            if open { "open" } else { "close" },
            record_of.name,
            record_of.route53.health_check_id
        ),
    )
}

async fn finish(
    p: &StepPorts,
    inv: Invocation,
    input: &StepInput,
    outcome: Outcome,
    writes: Vec<Write>,
    report: TrafficReport,
) -> StepResult {
    let head = match &outcome {
        Outcome::Done if input.mode == Mode::Drill => format!("Drill: traffic shift to {} checked", input.to_region),
        Outcome::Done => format!("Traffic is on {}: weights in sync", input.to_region),
        Outcome::InProgress { .. } => format!(
            "Traffic is moving to {}: Route 53 change {} pending",
            input.to_region,
            report.change_id.as_deref().unwrap_or("?")
        ),
        Outcome::Degraded { reason } => format!("Traffic shift to {} DEGRADED: {reason}", input.to_region),
        Outcome::Failed { reason } => format!("Traffic shift to {} stopped: {reason}", input.to_region),
    };
    let message = format!("{head}. {}.", describe_writes(&writes));
    let evidence = json!({ "target_health": report.target_health, "weights_before": report.weights_before, "route53_error": report.route53_error });
    let result = inv.finish(Step::ShiftTraffic, input, outcome, message, writes, Detail::ShiftTraffic(report));
    p.publish_step_event(&result, evidence).await;
    result
}
