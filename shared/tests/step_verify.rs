//! verify against the emulator: reads only, in the activated region; done once the recovery
//! holds, failed with the reasons before it does, a report only in a drill.

mod step_support;

use drover_core::Mode;
use drover_core::probe::{ProbeConfig, Prober};
use drover_core::steps::{Action, Detail, Outcome, StepError, StepResult, verify};
use drover_harness::AppEndpoint;
use step_support::*;

fn prober() -> Prober {
    Prober::new(ProbeConfig { count: 1, timeout: std::time::Duration::from_secs(2), ..ProbeConfig::default() }).unwrap()
}

/// A run whose standby health URL is a local endpoint that answers.
async fn run_with_endpoint() -> (Run, AppEndpoint) {
    let app = AppEndpoint::start(STANDBY);
    let url = app.url.clone();
    let run = Run::with_topology(60.0, move |t| {
        t.regions.iter_mut().find(|r| r.name == STANDBY).unwrap().alb.health_url = url;
    })
    .await;
    (run, app)
}

fn failing(r: &StepResult) -> Vec<String> {
    match &r.detail {
        Detail::Verify(v) => v.checks.iter().filter(|c| !c.ok).map(|c| c.name.clone()).collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn before_the_recovery_it_fails_and_names_what_is_missing() {
    let (run, _app) = run_with_endpoint().await;
    let r = verify::run(&run.ports, &prober(), &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    let Outcome::Failed { reason } = &r.outcome else { panic!("{:?}", r.outcome) };
    assert!(reason.contains("aurora writer") && reason.contains("gate"), "{reason}");
    assert_eq!(failing(&r).len(), 3, "writer, services and gate fail; the endpoint answers: {:?}", failing(&r));
    assert!(run.effective_writes().is_empty(), "{:?}", run.effective_writes());
}

#[tokio::test]
async fn after_promote_scale_and_shift_it_is_done() {
    let (run, app) = run_with_endpoint().await;
    for which in [Which::PromoteDb, Which::ScaleCompute, Which::ShiftTraffic] {
        let last = drive(&run.ports, which, run.input(Mode::Unplanned, Action::Start), 60).await;
        assert!(!matches!(last.last().unwrap().outcome, Outcome::Failed { .. }), "{which:?}: {:?}", last.last());
    }
    run.w.emu.clear_calls();
    let r = verify::run(&run.ports, &prober(), &run.input(Mode::Unplanned, Action::Status)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{}", r.message);
    assert!(run.effective_writes().is_empty(), "verify only reads: {:?}", run.effective_writes());
    assert!(run.w.emu.calls().iter().all(|c| c["region"] == STANDBY), "only the activated region is called");

    app.set_up(false);
    let r = verify::run(&run.ports, &prober(), &run.input(Mode::Unplanned, Action::Status)).await.unwrap();
    assert_eq!(failing(&r), vec![format!("{STANDBY} health URL")]);
}

#[tokio::test]
async fn a_drill_reports_the_live_state_and_is_done() {
    let (run, _app) = run_with_endpoint().await;
    let r = verify::run(&run.ports, &prober(), &run.input(Mode::Drill, Action::Start)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert!(r.message.starts_with("drill: nothing was changed"), "{}", r.message);
    assert!(run.effective_writes().is_empty());
}

#[tokio::test]
async fn a_stale_token_is_refused() {
    let (run, _app) = run_with_endpoint().await;
    run.lose_lease().await;
    let input = run.input(Mode::Unplanned, Action::Start);
    assert!(matches!(verify::run(&run.ports, &prober(), &input).await, Err(StepError::Fenced(_))));
}

#[tokio::test]
async fn a_status_poll_past_the_deadline_fails_without_a_call() {
    let (run, _app) = run_with_endpoint().await;
    let mut input = run.input(Mode::Unplanned, Action::Status);
    input.deadline = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    run.w.emu.clear_calls();
    for which in [Which::PromoteDb, Which::ScaleCompute, Which::ShiftTraffic] {
        let r = call(&run.ports, which, &input).await.unwrap();
        assert!(matches!(&r.outcome, Outcome::Failed { reason } if reason.contains("deadline")), "{:?}", r.outcome);
    }
    assert!(matches!(verify::run(&run.ports, &prober(), &input).await.unwrap().outcome, Outcome::Failed { .. }));
    assert!(run.w.emu.calls().is_empty(), "{:?}", run.w.emu.calls());
    // `start` is never cut short: the first attempt always runs.
    input.action = Action::Start;
    let r = call(&run.ports, Which::ScaleCompute, &input).await.unwrap();
    assert!(!matches!(r.outcome, Outcome::Failed { .. }), "{:?}", r.outcome);
}
