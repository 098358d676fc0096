//! verify: after shift-traffic, check from the activated region that the recovery holds.
//!
//! Reads only, all in the activated region: the Aurora writer of every global cluster is this
//! region's cluster and no operation is in flight; this region's services run at least their
//! active count and are steady; the old primary's gate reads closed here; this region's own
//! endpoint answers its health URL. In a drill nothing was changed, so the same reads are
//! reported as findings and the step is done.

use serde::{Deserialize, Serialize};

use crate::model::{Mode, Step};
use crate::probe::Prober;
use crate::steps::{Detail, Invocation, Outcome, StepError, StepInput, StepPorts, StepResult};

pub const IAM_ACTIONS: &[&str] =
    &["rds:DescribeGlobalClusters", "ecs:DescribeServices", "cloudwatch:GetMetricData", "dynamodb:GetItem"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub observed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub checks: Vec<Check>,
}

fn check(name: impl Into<String>, ok: bool, observed: impl Into<String>) -> Check {
    Check { name: name.into(), ok, observed: observed.into() }
}

pub async fn run(p: &StepPorts, prober: &Prober, input: &StepInput) -> Result<StepResult, StepError> {
    let inv = Invocation::begin();
    if let Some(expired) = crate::steps::over_budget(&inv, Step::Verify, input) {
        return Ok(expired);
    }
    let (target, source) = input.validate(&p.topology, &p.region_self)?;
    // A run that lost its lease must not report another run's state as its own.
    p.lease.check(input.fencing_token).await?;
    let mut checks = Vec::new();

    for c in &target.aurora {
        let g = p.db.global_cluster(&c.global_cluster_id).await?;
        let writer = g.writer().map(|m| m.cluster_arn.clone());
        let ok = writer.as_deref() == Some(c.cluster_arn.as_str()) && g.failover.is_none();
        checks.push(check(
            format!("aurora writer of {}", c.global_cluster_id),
            ok,
            format!(
                "writer {}{}",
                writer.as_deref().unwrap_or("none"),
                if g.failover.is_some() { ", an operation is still running" } else { "" }
            ),
        ));
    }
    for s in &target.ecs {
        let st = p.scaler.service(&s.cluster, &s.service).await?;
        let ok = st.running >= s.active_desired_count && st.is_steady();
        checks.push(check(
            format!("ecs {}/{}", s.cluster, s.service),
            ok,
            format!("running {} of desired {} (active count {})", st.running, st.desired, s.active_desired_count),
        ));
    }
    let gate = p.router.gate(&source.gate).await?;
    checks.push(check(
        format!("gate of the {} record", source.name),
        gate == Some(false),
        match gate {
            Some(false) => "closed".to_string(),
            Some(true) => "open: the old primary may still receive traffic".to_string(),
            None => "no recent gate datapoint in this region".to_string(),
        },
    ));
    let attempt = prober.probe_once(&target.alb.health_url).await;
    checks.push(check(
        format!("{} health URL", target.name),
        attempt.ok,
        match attempt.status {
            Some(code) => format!("HTTP {code} in {} ms", attempt.latency_ms),
            None => format!("no answer ({:?}) after {} ms", attempt.failure, attempt.latency_ms),
        },
    ));

    let failing: Vec<String> = checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.observed)).collect();
    let (outcome, message) = if input.mode == Mode::Drill {
        let live = if failing.is_empty() { "every check passes".to_string() } else { failing.join("; ") };
        (Outcome::Done, format!("drill: nothing was changed; live state of {}: {live}", target.name))
    } else if failing.is_empty() {
        (Outcome::Done, format!("{} serves: Aurora writer, services, gate and endpoint all verified", target.name))
    } else {
        (
            Outcome::Failed { reason: format!("{} does not hold the recovery: {}", target.name, failing.join("; ")) },
            format!("verification failed in {}", target.name),
        )
    };
    Ok(inv.finish(Step::Verify, input, outcome, message, Vec::new(), Detail::Verify(VerifyReport { checks })))
}
