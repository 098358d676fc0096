//! The policy, pure: facts in, verdict out.
//!
//! Gates, in the order a person reads them in the no-go message:
//! - **quorum**: at least `policy.quorum` distinct signal *groups* watching the region being
//!   left are in ALARM. Two alarms of one group count once. A signal whose alarm lives in the
//!   region being left and cannot be read (that region's CloudWatch is unreachable) counts as
//!   failing, but all such signals together credit at most ONE group: "the failing region does
//!   not answer" is one piece of evidence, however many alarms live there. A signal living
//!   anywhere else that cannot be read counts as not alarming. So with the default topology
//!   (probe alarm in the standby, ALB alarm in the primary) a whole-region outage still makes
//!   a quorum of two, while a probe alarm alone does not.
//! - **readiness**: each Aurora cluster of this region is `available` and a member of its
//!   global cluster; each ECS service exists and is ACTIVE.
//! - **rpo**: each secondary's replication lag is known and within `objectives.rpo_seconds`.
//! - **cooldown**: no failover started within `policy.cooldown_seconds`, in either direction
//!   (automatic triggers only: a person asking has already looked; failback in particular
//!   comes soon after). The last failover is kept as item `lease_id = "last-failover"` of the
//!   activating region's lease table; `decide` reads both regions' items and counts the later.
//!
//! Which gates bind depends on the mode:
//!
//! | mode       | quorum            | readiness           | rpo            | cooldown       |
//! |------------|-------------------|---------------------|----------------|----------------|
//! | unplanned  | yes (force.quorum)| yes (force.readiness)| yes (force.rpo)| alarms only    |
//! | planned    | no                | yes (force.readiness)| yes (force.rpo)| no             |
//! | failback   | no                | yes (force.readiness)| yes (force.rpo)| no             |
//! | drill      | reported          | reported            | reported       | no             |
//!
//! A drill never stops at a gate: what would have stopped a real run is reported as findings.
//! No force flag reaches the lease; that is taken after the verdict, by `decide`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Topology;
use crate::model::Mode;
use crate::policy::request::Request;
use crate::ports::FailoverRecord;

/// The state of one configured signal's alarm, as read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalState {
    Alarm,
    Ok,
    InsufficientData,
    /// The alarm is configured but CloudWatch does not know it.
    Missing,
    /// Its region's CloudWatch did not answer.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalReading {
    pub alarm_name: String,
    /// Region the alarm lives in.
    pub region: String,
    pub group: String,
    pub state: SignalState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuroraFacts {
    pub global_cluster_id: String,
    pub cluster_id: String,
    /// RDS status (`available`, …); `None` when the cluster could not be read.
    pub status: Option<String>,
    /// The cluster names the global cluster AND the global cluster lists it as a member.
    pub in_global_cluster: bool,
    pub is_writer: bool,
    /// Latest replication lag; `None` when no recent datapoint (or it could not be read).
    pub lag: Option<Duration>,
    /// What went wrong reading it, for the message.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsFacts {
    pub cluster: String,
    pub service: String,
    /// ECS service status (ACTIVE, DRAINING, INACTIVE); `None` when missing or unreadable.
    pub status: Option<String>,
    pub error: Option<String>,
}

/// The region being activated, as read from its own endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandbyFacts {
    pub aurora: Vec<AuroraFacts>,
    pub ecs: Vec<EcsFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Every configured signal watching the region being left.
    pub signals: Vec<SignalReading>,
    pub standby: StandbyFacts,
    pub last_failover: Option<FailoverRecord>,
    pub now: DateTime<Utc>,
}

/// A gate a run can be stopped at. The lease is deliberately not one: nothing forces past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    Quorum,
    Readiness,
    Rpo,
    Cooldown,
}

/// Why a run may not start, one per failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoGoReason {
    QuorumNotMet { groups_in_alarm: Vec<String>, counted: u32, required: u32 },
    AuroraNotAvailable { cluster_id: String, status: Option<String>, detail: Option<String> },
    AuroraNotInGlobalCluster { cluster_id: String, global_cluster_id: String },
    LagOverBudget { cluster_id: String, lag_ms: u64, budget_seconds: u32 },
    LagUnknown { cluster_id: String },
    EcsServiceMissing { cluster: String, service: String, status: Option<String>, detail: Option<String> },
    Cooldown { last_run_id: String, last_at: DateTime<Utc>, remaining_seconds: u64 },
}

impl NoGoReason {
    pub fn gate(&self) -> Gate {
        match self {
            NoGoReason::QuorumNotMet { .. } => Gate::Quorum,
            NoGoReason::AuroraNotAvailable { .. }
            | NoGoReason::AuroraNotInGlobalCluster { .. }
            | NoGoReason::EcsServiceMissing { .. } => Gate::Readiness,
            NoGoReason::LagOverBudget { .. } | NoGoReason::LagUnknown { .. } => Gate::Rpo,
            NoGoReason::Cooldown { .. } => Gate::Cooldown,
        }
    }
}

impl fmt::Display for NoGoReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoGoReason::QuorumNotMet { counted, required, .. } => {
                write!(f, "{counted} of {required} signal{}", if *required == 1 { "" } else { "s" })
            }
            NoGoReason::AuroraNotAvailable { cluster_id, status, detail } => match (status, detail) {
                (Some(s), _) => write!(f, "standby cluster {cluster_id} is {s}, not available"),
                (None, Some(d)) => write!(f, "standby cluster {cluster_id} unreadable: {d}"),
                (None, None) => write!(f, "standby cluster {cluster_id} not found"),
            },
            NoGoReason::AuroraNotInGlobalCluster { cluster_id, global_cluster_id } => {
                write!(f, "standby cluster {cluster_id} is not in global cluster {global_cluster_id}")
            }
            NoGoReason::LagOverBudget { lag_ms, budget_seconds, .. } => {
                write!(f, "standby lag {} s over the {budget_seconds} s budget", lag_ms.div_ceil(1000))
            }
            NoGoReason::LagUnknown { cluster_id } => {
                write!(f, "standby lag of {cluster_id} unknown (no recent datapoint)")
            }
            NoGoReason::EcsServiceMissing { cluster, service, status, detail } => match (status, detail) {
                (Some(s), _) => write!(f, "ECS service {cluster}/{service} is {s}"),
                (None, Some(d)) => write!(f, "ECS service {cluster}/{service} missing: {d}"),
                (None, None) => write!(f, "ECS service {cluster}/{service} missing"),
            },
            NoGoReason::Cooldown { last_run_id, remaining_seconds, .. } => {
                write!(f, "in cooldown after run {last_run_id} ({remaining_seconds} s left)")
            }
        }
    }
}

/// How the quorum was counted; kept as evidence on both verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumTally {
    pub required: u32,
    /// Groups with at least one signal in ALARM.
    pub groups_in_alarm: Vec<String>,
    /// The one group credited because the region being left did not answer, if any.
    pub unreachable_credit: Option<String>,
    pub counted: u32,
    /// Every distinct group watching the region being left.
    pub groups: Vec<String>,
}

impl QuorumTally {
    pub fn met(&self) -> bool {
        self.counted >= self.required
    }
}

/// Counts distinct groups in ALARM among the signals watching `from`.
pub fn tally(signals: &[SignalReading], from: &str, required: u32) -> QuorumTally {
    let groups: BTreeSet<&str> = signals.iter().map(|s| s.group.as_str()).collect();
    let alarming: BTreeSet<&str> =
        signals.iter().filter(|s| s.state == SignalState::Alarm).map(|s| s.group.as_str()).collect();
    let unreachable_credit = signals
        .iter()
        .filter(|s| s.state == SignalState::Unreachable && s.region == from && !alarming.contains(s.group.as_str()))
        .map(|s| s.group.as_str())
        .min();
    let counted = alarming.len() as u32 + u32::from(unreachable_credit.is_some());
    QuorumTally {
        required,
        groups_in_alarm: alarming.iter().map(|g| g.to_string()).collect(),
        unreachable_credit: unreachable_credit.map(str::to_string),
        counted,
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// Readiness and RPO findings for the region being activated.
pub fn standby_findings(standby: &StandbyFacts, rpo_seconds: u32) -> Vec<NoGoReason> {
    let mut out = Vec::new();
    let budget = Duration::from_secs(u64::from(rpo_seconds));
    for a in &standby.aurora {
        if a.status.as_deref() != Some("available") {
            out.push(NoGoReason::AuroraNotAvailable {
                cluster_id: a.cluster_id.clone(),
                status: a.status.clone(),
                detail: a.error.clone(),
            });
        } else if !a.in_global_cluster {
            out.push(NoGoReason::AuroraNotInGlobalCluster {
                cluster_id: a.cluster_id.clone(),
                global_cluster_id: a.global_cluster_id.clone(),
            });
        }
        // The writer has no replication lag to speak of: it already has the data.
        if a.is_writer {
            continue;
        }
        match a.lag {
            Some(lag) if lag > budget => out.push(NoGoReason::LagOverBudget {
                cluster_id: a.cluster_id.clone(),
                lag_ms: u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                budget_seconds: rpo_seconds,
            }),
            Some(_) => {}
            None => out.push(NoGoReason::LagUnknown { cluster_id: a.cluster_id.clone() }),
        }
    }
    for e in &standby.ecs {
        if e.status.as_deref() != Some("ACTIVE") {
            out.push(NoGoReason::EcsServiceMissing {
                cluster: e.cluster.clone(),
                service: e.service.clone(),
                status: e.status.clone(),
                detail: e.error.clone(),
            });
        }
    }
    out
}

pub fn cooldown_finding(
    last: Option<&FailoverRecord>,
    now: DateTime<Utc>,
    cooldown_seconds: u32,
) -> Option<NoGoReason> {
    let last = last?;
    let ends = last.at + chrono::Duration::seconds(i64::from(cooldown_seconds));
    (now < ends).then(|| NoGoReason::Cooldown {
        last_run_id: last.run_id.clone(),
        last_at: last.at,
        remaining_seconds: u64::try_from((ends - now).num_seconds()).unwrap_or(0).max(1),
    })
}

/// A run may start (subject to the lease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub mode: Mode,
    pub from: String,
    pub to: String,
    pub quorum: QuorumTally,
    /// Gates a person forced past, with what they would have stopped.
    pub forced: Vec<Gate>,
    /// Failed checks that did not bind (drill, forced, or not applicable to the mode).
    pub findings: Vec<NoGoReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub mode: Mode,
    pub from: String,
    pub to: String,
    pub quorum: QuorumTally,
    pub reasons: Vec<NoGoReason>,
    /// Failed checks that did not bind; reported, not part of the "why".
    pub findings: Vec<NoGoReason>,
}

impl Suppression {
    /// "failover suppressed: 1 of 2 signals; standby lag 73 s over the 60 s budget"
    pub fn message(&self) -> String {
        let what = match self.mode {
            Mode::Unplanned => "failover",
            Mode::Planned => "switchover",
            Mode::Drill => "drill",
            Mode::Failback => "failback",
        };
        let why: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
        format!("{what} suppressed: {}", why.join("; "))
    }

    pub fn gates(&self) -> Vec<Gate> {
        let set: BTreeSet<Gate> = self.reasons.iter().map(NoGoReason::gate).collect();
        set.into_iter().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Proceed(Approval),
    Suppress(Suppression),
}

/// Does `gate` bind for this request, and may it be forced?
fn binds(request: &Request, gate: Gate) -> Binding {
    let auto = request.origin.is_automatic();
    let f = request.force;
    match (request.mode, gate) {
        (Mode::Drill, _) => Binding::Reported,
        (Mode::Unplanned, Gate::Quorum) => forceable(!auto && f.quorum),
        (Mode::Planned | Mode::Failback, Gate::Quorum) => Binding::NotApplicable,
        (_, Gate::Readiness) => forceable(!auto && f.readiness),
        (_, Gate::Rpo) => forceable(!auto && f.rpo),
        (_, Gate::Cooldown) if auto => Binding::Binds,
        (_, Gate::Cooldown) => Binding::Reported,
    }
}

fn forceable(forced: bool) -> Binding {
    if forced { Binding::Forced } else { Binding::Binds }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Binds,
    Forced,
    Reported,
    NotApplicable,
}

/// The whole policy. Deterministic: the same request and facts give the same verdict.
pub fn evaluate(topology: &Topology, request: &Request, facts: &Facts) -> Verdict {
    let policy = &topology.policy;
    let quorum = tally(&facts.signals, &request.from, policy.quorum);
    let mut candidates: Vec<NoGoReason> = Vec::new();
    if !quorum.met() {
        candidates.push(NoGoReason::QuorumNotMet {
            groups_in_alarm: quorum.groups_in_alarm.clone(),
            counted: quorum.counted,
            required: quorum.required,
        });
    }
    candidates.extend(standby_findings(&facts.standby, topology.objectives.rpo_seconds));
    candidates.extend(cooldown_finding(facts.last_failover.as_ref(), facts.now, policy.cooldown_seconds));

    let mut reasons = Vec::new();
    let mut findings = Vec::new();
    let mut forced = BTreeMap::new();
    for c in candidates {
        match binds(request, c.gate()) {
            Binding::Binds => reasons.push(c),
            Binding::Forced => {
                forced.insert(c.gate(), ());
                findings.push(c);
            }
            Binding::Reported => findings.push(c),
            Binding::NotApplicable => {}
        }
    }
    let (mode, from, to) = (request.mode, request.from.clone(), request.to.clone());
    if reasons.is_empty() {
        Verdict::Proceed(Approval { mode, from, to, quorum, forced: forced.into_keys().collect(), findings })
    } else {
        Verdict::Suppress(Suppression { mode, from, to, quorum, reasons, findings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::trigger::{AlarmState, ForceFlags, ManualAction};
    use crate::policy::request::Origin;
    use proptest::prelude::*;

    const FROM: &str = "us-east-1";
    const TO: &str = "us-west-2";

    fn topology() -> Topology {
        Topology::from_json(include_str!("../../../docs/topology.example.json")).unwrap()
    }

    fn sig(name: &str, region: &str, group: &str, state: SignalState) -> SignalReading {
        SignalReading { alarm_name: name.into(), region: region.into(), group: group.into(), state }
    }

    fn ready() -> StandbyFacts {
        StandbyFacts {
            aurora: vec![AuroraFacts {
                global_cluster_id: "shop-global".into(),
                cluster_id: "shop-usw2".into(),
                status: Some("available".into()),
                in_global_cluster: true,
                is_writer: false,
                lag: Some(Duration::from_millis(200)),
                error: None,
            }],
            ecs: vec![EcsFacts {
                cluster: "shop-usw2".into(),
                service: "web".into(),
                status: Some("ACTIVE".into()),
                error: None,
            }],
        }
    }

    fn facts(signals: Vec<SignalReading>) -> Facts {
        Facts { signals, standby: ready(), last_failover: None, now: Utc::now() }
    }

    fn both_alarming() -> Vec<SignalReading> {
        vec![sig("probe", TO, "probe", SignalState::Alarm), sig("alb", FROM, "alb", SignalState::Alarm)]
    }

    fn alarm_request() -> Request {
        Request {
            mode: Mode::Unplanned,
            from: FROM.into(),
            to: TO.into(),
            origin: Origin::Alarm {
                alarm_name: "probe".into(),
                region: TO.into(),
                group: "probe".into(),
                state: AlarmState::Alarm,
            },
            force: ForceFlags::default(),
        }
    }

    fn manual(action: ManualAction, mode: Mode, force: ForceFlags) -> Request {
        Request {
            mode,
            from: FROM.into(),
            to: TO.into(),
            origin: Origin::Manual { action, requested_by: "alice".into(), reason: "test".into(), request_id: None },
            force,
        }
    }

    fn suppressed(v: Verdict) -> Suppression {
        match v {
            Verdict::Suppress(s) => s,
            other => panic!("expected a no-go, got {other:?}"),
        }
    }

    fn approved(v: Verdict) -> Approval {
        match v {
            Verdict::Proceed(a) => a,
            other => panic!("expected a go, got {other:?}"),
        }
    }

    #[test]
    fn quorum_met_goes() {
        let a = approved(evaluate(&topology(), &alarm_request(), &facts(both_alarming())));
        assert_eq!(a.quorum.counted, 2);
        assert!(a.forced.is_empty() && a.findings.is_empty());
    }

    #[test]
    fn one_of_two_signals_is_suppressed_with_the_documented_message() {
        let mut f =
            facts(vec![sig("probe", TO, "probe", SignalState::Alarm), sig("alb", FROM, "alb", SignalState::Ok)]);
        f.standby.aurora[0].lag = Some(Duration::from_millis(72_400));
        let s = suppressed(evaluate(&topology(), &alarm_request(), &f));
        assert_eq!(s.message(), "failover suppressed: 1 of 2 signals; standby lag 73 s over the 60 s budget");
        assert_eq!(s.gates(), vec![Gate::Quorum, Gate::Rpo]);
    }

    #[test]
    fn two_alarms_of_one_group_count_once() {
        let f = facts(vec![
            sig("probe-a", TO, "probe", SignalState::Alarm),
            sig("probe-b", TO, "probe", SignalState::Alarm),
        ]);
        let s = suppressed(evaluate(&topology(), &alarm_request(), &f));
        assert_eq!(s.quorum.counted, 1);
    }

    #[test]
    fn the_unreachable_failing_region_credits_one_group() {
        let f = facts(vec![
            sig("probe", TO, "probe", SignalState::Alarm),
            sig("alb", FROM, "alb", SignalState::Unreachable),
            sig("aurora", FROM, "db", SignalState::Unreachable),
        ]);
        let t = tally(&f.signals, FROM, 3);
        assert_eq!(t.counted, 2, "unreachability is one piece of evidence: {t:?}");
        assert_eq!(t.unreachable_credit.as_deref(), Some("alb"));
        approved(evaluate(&topology(), &alarm_request(), &f));
    }

    #[test]
    fn an_unreachable_alarm_in_the_activated_region_does_not_count() {
        let f = facts(vec![
            sig("probe", TO, "probe", SignalState::Unreachable),
            sig("alb", FROM, "alb", SignalState::Alarm),
        ]);
        assert_eq!(tally(&f.signals, FROM, 2).counted, 1);
    }

    type Mutation = Box<dyn Fn(&mut StandbyFacts)>;

    #[test]
    fn each_readiness_gate_fails_on_its_own() {
        let cases: Vec<(&str, Mutation, Gate)> = vec![
            ("not available", Box::new(|s| s.aurora[0].status = Some("failing-over".into())), Gate::Readiness),
            ("not found", Box::new(|s| s.aurora[0].status = None), Gate::Readiness),
            ("not in global", Box::new(|s| s.aurora[0].in_global_cluster = false), Gate::Readiness),
            ("lag over", Box::new(|s| s.aurora[0].lag = Some(Duration::from_secs(61))), Gate::Rpo),
            ("lag unknown", Box::new(|s| s.aurora[0].lag = None), Gate::Rpo),
            ("ecs missing", Box::new(|s| s.ecs[0].status = None), Gate::Readiness),
            ("ecs draining", Box::new(|s| s.ecs[0].status = Some("DRAINING".into())), Gate::Readiness),
        ];
        for (name, mutate, gate) in cases {
            let mut f = facts(both_alarming());
            mutate(&mut f.standby);
            let s = suppressed(evaluate(&topology(), &alarm_request(), &f));
            assert_eq!(s.gates(), vec![gate], "{name}: {}", s.message());
            assert_eq!(s.reasons.len(), 1, "{name}");
        }
    }

    #[test]
    fn lag_exactly_at_the_budget_is_within_it() {
        let mut f = facts(both_alarming());
        f.standby.aurora[0].lag = Some(Duration::from_secs(60));
        approved(evaluate(&topology(), &alarm_request(), &f));
    }

    #[test]
    fn cooldown_binds_alarms_not_people() {
        let mut f = facts(both_alarming());
        f.last_failover = Some(FailoverRecord {
            run_id: "run-1".into(),
            fencing_token: 1,
            mode: Mode::Unplanned,
            from_region: TO.into(),
            to_region: FROM.into(),
            at: f.now - chrono::Duration::seconds(600),
        });
        let s = suppressed(evaluate(&topology(), &alarm_request(), &f));
        assert_eq!(s.gates(), vec![Gate::Cooldown]);
        assert!(s.message().contains("cooldown after run run-1 (3000 s left)"), "{}", s.message());

        let a =
            approved(evaluate(&topology(), &manual(ManualAction::Failback, Mode::Failback, ForceFlags::default()), &f));
        assert_eq!(a.findings.len(), 1, "the cooldown is reported to a person, not enforced");

        f.now += chrono::Duration::seconds(3000);
        approved(evaluate(&topology(), &alarm_request(), &f));
    }

    #[test]
    fn a_person_may_force_past_quorum_and_readiness_but_must_say_so() {
        let mut f = facts(vec![sig("probe", TO, "probe", SignalState::Ok)]);
        f.standby.ecs[0].status = None;
        f.standby.aurora[0].lag = Some(Duration::from_secs(300));
        let unforced = manual(ManualAction::Failover, Mode::Unplanned, ForceFlags::default());
        assert_eq!(
            suppressed(evaluate(&topology(), &unforced, &f)).gates(),
            vec![Gate::Quorum, Gate::Readiness, Gate::Rpo]
        );

        let partly = manual(
            ManualAction::Failover,
            Mode::Unplanned,
            ForceFlags { quorum: true, readiness: true, ..Default::default() },
        );
        assert_eq!(suppressed(evaluate(&topology(), &partly, &f)).gates(), vec![Gate::Rpo]);

        let all = manual(
            ManualAction::Failover,
            Mode::Unplanned,
            ForceFlags { quorum: true, readiness: true, rpo: true, detach: false },
        );
        let a = approved(evaluate(&topology(), &all, &f));
        assert_eq!(a.forced, vec![Gate::Quorum, Gate::Readiness, Gate::Rpo]);
        assert_eq!(a.findings.len(), 3);
    }

    #[test]
    fn force_flags_on_an_alarm_are_ignored() {
        let mut r = alarm_request();
        r.force = ForceFlags { quorum: true, readiness: true, rpo: true, detach: true };
        let f = facts(vec![sig("probe", TO, "probe", SignalState::Alarm)]);
        suppressed(evaluate(&topology(), &r, &f));
    }

    #[test]
    fn planned_and_failback_need_no_quorum_but_a_ready_standby() {
        for (action, mode) in [(ManualAction::Switchover, Mode::Planned), (ManualAction::Failback, Mode::Failback)] {
            let r = manual(action, mode, ForceFlags::default());
            let f = facts(vec![]);
            approved(evaluate(&topology(), &r, &f));
            let mut g = facts(vec![]);
            g.standby.aurora[0].status = Some("modifying".into());
            assert_eq!(suppressed(evaluate(&topology(), &r, &g)).gates(), vec![Gate::Readiness]);
        }
    }

    #[test]
    fn a_drill_never_stops_at_a_gate_and_reports_what_would_have() {
        let mut f = facts(vec![]);
        f.standby.aurora[0].lag = None;
        let a = approved(evaluate(&topology(), &manual(ManualAction::Drill, Mode::Drill, ForceFlags::default()), &f));
        assert!(a.forced.is_empty());
        let gates: Vec<Gate> = a.findings.iter().map(NoGoReason::gate).collect();
        assert_eq!(gates, vec![Gate::Quorum, Gate::Rpo]);
    }

    #[test]
    fn the_writer_has_no_lag_gate() {
        let mut f = facts(both_alarming());
        f.standby.aurora[0].is_writer = true;
        f.standby.aurora[0].lag = None;
        approved(evaluate(&topology(), &alarm_request(), &f));
    }

    fn state() -> impl Strategy<Value = SignalState> {
        prop_oneof![
            Just(SignalState::Alarm),
            Just(SignalState::Ok),
            Just(SignalState::InsufficientData),
            Just(SignalState::Missing),
            Just(SignalState::Unreachable),
        ]
    }

    fn readings() -> impl Strategy<Value = Vec<SignalReading>> {
        prop::collection::vec(
            (0..4usize, prop_oneof![Just(FROM), Just(TO)], 0..3usize, state())
                .prop_map(|(n, region, g, state)| sig(&format!("a{n}-{region}"), region, &format!("g{g}"), state)),
            0..8,
        )
    }

    proptest! {
        #[test]
        fn the_count_is_bounded_by_the_distinct_groups(signals in readings(), q in 1u32..4) {
            let t = tally(&signals, FROM, q);
            let groups: BTreeSet<&str> = signals.iter().map(|s| s.group.as_str()).collect();
            prop_assert!(t.counted as usize <= groups.len());
            prop_assert!(t.counted as usize <= t.groups_in_alarm.len() + 1);
        }

        #[test]
        fn another_alarm_never_lowers_the_count(signals in readings(), extra in (0..3usize, prop_oneof![Just(FROM), Just(TO)])) {
            let before = tally(&signals, FROM, 2).counted;
            let mut more = signals.clone();
            more.push(sig("extra", extra.1, &format!("g{}", extra.0), SignalState::Alarm));
            prop_assert!(tally(&more, FROM, 2).counted >= before);
        }

        #[test]
        fn automatic_go_implies_quorum_ready_and_no_cooldown(signals in readings(), lag_s in 0u64..200, avail in any::<bool>(), ecs in any::<bool>(), since in 0i64..7200) {
            let mut f = facts(signals);
            f.standby.aurora[0].lag = Some(Duration::from_secs(lag_s));
            if !avail { f.standby.aurora[0].status = Some("failing-over".into()); }
            if !ecs { f.standby.ecs[0].status = None; }
            f.last_failover = Some(FailoverRecord { run_id: "r".into(), fencing_token: 1, mode: Mode::Unplanned, from_region: TO.into(), to_region: FROM.into(), at: f.now - chrono::Duration::seconds(since) });
            let t = topology();
            match evaluate(&t, &alarm_request(), &f) {
                Verdict::Proceed(a) => {
                    prop_assert!(a.quorum.met());
                    prop_assert!(lag_s <= 60 && avail && ecs && since >= 3600);
                    prop_assert!(a.forced.is_empty());
                }
                Verdict::Suppress(s) => {
                    prop_assert!(!s.reasons.is_empty());
                    prop_assert!(s.message().starts_with("failover suppressed: "));
                }
            }
        }
    }
}
