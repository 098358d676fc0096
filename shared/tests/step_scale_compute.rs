//! scale-compute against the emulator in two regions.

mod step_support;

use drover_core::Mode;
use drover_core::aws::ecs::EcsServiceScaler;
use drover_core::ports::{Capacity, ServiceScaler};
use drover_core::steps::scale_compute;
use drover_core::steps::{Action, Detail, Outcome, StepError, StepResult, WriteStatus};
use step_support::*;

async fn scaler(run: &Run, region: &str) -> EcsServiceScaler {
    EcsServiceScaler::new(&*run.w.clients(region).await)
}

fn svc(run: &Run, region: &str) -> (String, String) {
    let s = &run.w.region(region).ecs[0];
    (s.cluster.clone(), s.service.clone())
}

fn fenced(r: &StepResult) -> &[scale_compute::FenceReport] {
    match &r.detail {
        Detail::ScaleCompute { fenced, .. } => fenced,
        other => panic!("{other:?}"),
    }
}

/// The standby service as Terraform leaves it: a scalable target with min = the standby count.
async fn with_autoscaling(run: &Run) {
    let (cluster, service) = svc(run, STANDBY);
    scaler(run, STANDBY).await.set_capacity(&cluster, &service, Capacity { min: 1, max: 3 }).await.unwrap();
    run.w.emu.clear_calls();
}

#[tokio::test]
async fn scales_to_the_active_count_raises_the_minimum_and_is_done_at_steady_state() {
    let run = Run::new(60.0).await;
    with_autoscaling(&run).await;
    let results = drive(&run.ports, Which::ScaleCompute, run.input(Mode::Unplanned, Action::Start), 60).await;
    let first = &results[0];
    assert_eq!(
        calls_of(&first.writes),
        ["application-autoscaling:RegisterScalableTarget@us-west-2", "ecs:UpdateService@us-west-2"]
    );
    assert!(matches!(first.outcome, Outcome::InProgress { .. }), "{first:#?}");
    assert!(results.len() > 2, "the rollout takes modeled time: {results:#?}");
    assert_eq!(results.last().unwrap().outcome, Outcome::Done);
    let (cluster, service) = svc(&run, STANDBY);
    let s = scaler(&run, STANDBY).await;
    let state = s.service(&cluster, &service).await.unwrap();
    assert_eq!((state.desired, state.running), (4, 4));
    assert!(state.is_steady());
    assert_eq!(
        s.capacity(&cluster, &service).await.unwrap(),
        Some(Capacity { min: 4, max: 4 }),
        "min raised, max widened to fit"
    );
    assert!(run.effective_writes().iter().all(|c| c.ends_with(STANDBY)), "{:?}", run.effective_writes());

    run.w.emu.clear_calls();
    let again = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert_eq!(again.outcome, Outcome::Done, "already at the target: done at once");
    assert!(run.w.emu.writes().is_empty(), "a repeated call writes nothing: {:?}", run.w.emu.writes());
}

#[tokio::test]
async fn a_planned_run_follows_the_old_primarys_larger_count() {
    let run = Run::new(60.0).await;
    let (pc, ps) = svc(&run, PRIMARY);
    scaler(&run, PRIMARY).await.set_desired_count(&pc, &ps, 6).await.unwrap();
    run.w.emu.clear_calls();
    let r = scale_compute::run(&run.ports, &run.input(Mode::Planned, Action::Start)).await.unwrap();
    let Detail::ScaleCompute { services, .. } = &r.detail else { panic!() };
    assert_eq!(services[0].source_desired, Some(6));
    assert_eq!(services[0].target_desired, 6);
    assert!(r.writes.iter().any(|w| w.change.contains("-> 6")), "{:?}", r.writes);
}

#[tokio::test]
async fn a_stale_token_is_refused_and_writes_nothing() {
    let run = Run::new(60.0).await;
    run.lose_lease().await;
    let err = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert!(matches!(err, StepError::Fenced(_)), "{err}");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
}

#[tokio::test]
async fn a_drill_writes_nothing_and_reports_the_intended_writes() {
    let run = Run::new(60.0).await;
    with_autoscaling(&run).await;
    let drill = scale_compute::run(&run.ports, &run.input(Mode::Drill, Action::Start)).await.unwrap();
    assert_eq!(drill.outcome, Outcome::Done);
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
    assert!(drill.writes.iter().all(|w| w.status == WriteStatus::Intended));
    let real = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert_eq!(calls_of(&drill.writes), calls_of(&real.writes), "the drill lists what a real run writes");
}

#[tokio::test]
async fn faults_end_in_retryable_errors_and_a_burst_is_absorbed() {
    let run = Run::with_attempts(60.0, 1).await;
    run.w.emu.fault("ecs", STANDBY, "UpdateService", FaultKind::Throttle, None);
    let err = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    run.w.emu.clear_faults();
    run.w.emu.region_down(STANDBY);
    let err = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    run.w.emu.region_up(STANDBY);

    let patient = Run::new(60.0).await;
    patient.w.emu.fault("ecs", STANDBY, "DescribeServices", FaultKind::Error5xx, Some(2));
    patient.w.emu.fault("ecs", STANDBY, "UpdateService", FaultKind::Latency(1000), Some(1));
    let r = scale_compute::run(&patient.ports, &patient.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert!(matches!(r.outcome, Outcome::InProgress { .. }), "{r:#?}");
}

#[tokio::test]
async fn fences_the_old_primary_best_effort_once_steady() {
    let run = Run::with_topology(60.0, |t| t.policy.fence_old_primary = true).await;
    run.w.emu.region_down(PRIMARY);
    let results = drive(&run.ports, Which::ScaleCompute, run.input(Mode::Unplanned, Action::Start), 60).await;
    let last = results.last().unwrap();
    assert_eq!(last.outcome, Outcome::Done, "a region that is down does not stop the step: {last:#?}");
    assert!(fenced(last)[0].desired_before.is_none());
    assert!(last.message.contains("not fenced"), "{}", last.message);

    run.w.emu.region_up(PRIMARY);
    let r = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Status)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(calls_of(&r.writes), ["ecs:UpdateService@us-east-1"]);
    let (pc, ps) = svc(&run, PRIMARY);
    assert_eq!(scaler(&run, PRIMARY).await.service(&pc, &ps).await.unwrap().desired, 0);
    run.w.emu.clear_calls();
    let again = scale_compute::run(&run.ports, &run.input(Mode::Unplanned, Action::Status)).await.unwrap();
    assert_eq!(fenced(&again)[0].note, "already at 0");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
}
