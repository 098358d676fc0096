//! shift-traffic against the emulator: the gate (CloudWatch, the activated region) first, then
//! the weights (Route 53, us-east-1), degraded when Route 53 fails.

mod step_support;

use drover_core::Mode;
use drover_core::aws::route53::Route53TrafficRouter;
use drover_core::ports::TrafficRouter;
use drover_core::steps::shift_traffic;
use drover_core::steps::{Action, Detail, Outcome, StepError, StepResult, WriteStatus};
use step_support::*;

async fn router(run: &Run, region: &str) -> Route53TrafficRouter {
    Route53TrafficRouter::new(&*run.w.clients(region).await)
}

fn report(r: &StepResult) -> &shift_traffic::TrafficReport {
    match &r.detail {
        Detail::ShiftTraffic(t) => t,
        other => panic!("{other:?}"),
    }
}

async fn weights(run: &Run) -> Vec<(String, u8)> {
    let r53 = run.w.region(STANDBY).route53.clone();
    let mut v: Vec<_> = router(run, STANDBY)
        .await
        .weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.set_identifier, r.weight))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn gate_then_weights_done_at_insync_and_a_repeat_writes_nothing() {
    let run = Run::new(60.0).await;
    let results = drive(&run.ports, Which::ShiftTraffic, run.input(Mode::Unplanned, Action::Start), 60).await;
    let first = &results[0];
    assert_eq!(
        calls_of(&first.writes),
        ["monitoring:PutMetricData@us-west-2", "route53:ChangeResourceRecordSets@us-east-1"],
        "gate first"
    );
    assert!(report(first).change_id.is_some());
    assert!(results.len() > 2, "INSYNC takes modeled time: {results:#?}");
    assert_eq!(results.last().unwrap().outcome, Outcome::Done);
    let primary_gate = run.w.region(PRIMARY).gate.clone();
    assert_eq!(
        router(&run, STANDBY).await.gate(&primary_gate).await.unwrap(),
        Some(false),
        "the old primary's gate is closed in the standby region"
    );
    assert_eq!(weights(&run).await, [(PRIMARY.to_string(), 0), (STANDBY.to_string(), 100)]);
    let writes = run.effective_writes();
    assert!(writes.iter().all(|c| c.ends_with(STANDBY) || c.starts_with("route53:")), "{writes:?}");

    run.w.emu.clear_calls();
    let again = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert_eq!(again.outcome, Outcome::Done);
    assert!(run.w.emu.writes().is_empty(), "a repeated call writes nothing: {:?}", run.w.emu.writes());
}

#[tokio::test]
async fn with_route53_down_the_gate_still_flips_and_the_step_is_degraded() {
    let run = Run::with_attempts(60.0, 1).await;
    run.w.emu.region_down(PRIMARY); // Route 53's control plane is in us-east-1
    let r = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    let Outcome::Degraded { reason } = &r.outcome else { panic!("{r:#?}") };
    assert!(reason.contains("gate only"), "{reason}");
    assert_eq!(calls_of(&r.writes), ["monitoring:PutMetricData@us-west-2"]);
    assert!(report(&r).route53_error.is_some());
    let primary_gate = run.w.region(PRIMARY).gate.clone();
    assert_eq!(router(&run, STANDBY).await.gate(&primary_gate).await.unwrap(), Some(false));
    assert_eq!(
        run.effective_writes(),
        ["monitoring:PutMetricData@us-west-2", "sns:Publish@us-west-2"],
        "the degraded outcome is published"
    );
    let event = &published(&run)[0];
    assert_eq!(event["attributes"]["event_type"], "step_degraded");

    // A Route 53 API fault rather than a region outage: the same outcome, the gate not re-published.
    let run = Run::with_attempts(60.0, 1).await;
    run.w.emu.fault("route53", "*", "ChangeResourceRecordSets", FaultKind::Error5xx, None);
    let r = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert!(matches!(r.outcome, Outcome::Degraded { .. }), "{r:#?}");
    run.w.emu.clear_calls();
    let again = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert!(matches!(again.outcome, Outcome::Degraded { .. }));
    assert!(again.writes.is_empty(), "the gate is already closed: {:?}", again.writes);
    // Route 53 recovers: the re-run moves the weights.
    run.w.emu.clear_faults();
    let results = drive(&run.ports, Which::ShiftTraffic, run.input(Mode::Unplanned, Action::Start), 60).await;
    assert_eq!(results.last().unwrap().outcome, Outcome::Done);
    assert_eq!(weights(&run).await, [(PRIMARY.to_string(), 0), (STANDBY.to_string(), 100)]);
}

#[tokio::test]
async fn never_closes_both_gates() {
    let run = Run::new(60.0).await;
    // The activated region's own record is unhealthy: closing the other would fail open.
    run.w.emu.set_health_check(&run.w.region(STANDBY).route53.health_check_id, false);
    let r = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    let Outcome::Failed { reason } = &r.outcome else { panic!("{r:#?}") };
    assert!(reason.contains("fail") || reason.contains("both"), "{reason}");
    assert!(run.effective_writes().iter().all(|c| c.starts_with("sns:")), "{:?}", run.effective_writes());

    // A failback: the activated region's own gate is still closed from the earlier failover
    // (published in the peer region); it is re-opened there before the other one is closed.
    let run = Run::new(60.0).await;
    let own_gate = run.w.region(STANDBY).gate.clone();
    router(&run, PRIMARY).await.set_gate(&own_gate, false).await.unwrap();
    run.w.emu.clear_calls();
    let r = shift_traffic::run(&run.ports, &run.input(Mode::Failback, Action::Start)).await.unwrap();
    assert_eq!(
        calls_of(&r.writes),
        [
            "monitoring:PutMetricData@us-east-1",
            "monitoring:PutMetricData@us-west-2",
            "route53:ChangeResourceRecordSets@us-east-1"
        ],
        "{r:#?}"
    );
    assert_eq!(report(&r).own_gate.before, Some(false));
}

#[tokio::test]
async fn a_stale_token_is_refused_and_writes_nothing() {
    let run = Run::new(60.0).await;
    run.lose_lease().await;
    let err = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert!(matches!(err, StepError::Fenced(_)), "{err}");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
}

#[tokio::test]
async fn a_drill_writes_nothing_and_reports_the_intended_writes() {
    let run = Run::new(60.0).await;
    let r = shift_traffic::run(&run.ports, &run.input(Mode::Drill, Action::Start)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{r:#?}");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
    assert!(r.writes.iter().all(|w| w.status == WriteStatus::Intended));
    assert_eq!(
        calls_of(&r.writes),
        ["monitoring:PutMetricData@us-west-2", "route53:ChangeResourceRecordSets@us-east-1"]
    );
    assert_eq!(weights(&run).await, [(PRIMARY.to_string(), 100), (STANDBY.to_string(), 0)], "unchanged");
}

#[tokio::test]
async fn a_gate_fault_is_retryable_and_nothing_reaches_route53() {
    let run = Run::with_attempts(60.0, 1).await;
    run.w.emu.fault("monitoring", STANDBY, "PutMetricData", FaultKind::Error5xx, None);
    let err = shift_traffic::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert!(run.effective_writes().is_empty(), "no weights before the gate: {:?}", run.effective_writes());
    // Latency and a short throttling burst are absorbed by the SDK's retries.
    let patient = Run::new(60.0).await;
    patient.w.emu.fault("monitoring", STANDBY, "GetMetricData", FaultKind::Latency(1000), Some(1));
    patient.w.emu.fault("monitoring", STANDBY, "PutMetricData", FaultKind::Throttle, Some(2));
    let r = shift_traffic::run(&patient.ports, &patient.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert!(matches!(r.outcome, Outcome::InProgress { .. }), "{r:#?}");
}
