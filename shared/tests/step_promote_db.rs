//! promote-db against the emulator in two regions.

mod step_support;

use drover_core::events::PublishedEvent;
use drover_core::ports::{FailoverStatus, GlobalDatabase};
use drover_core::steps::promote_db::{self, PromotionPath};
use drover_core::steps::{Action, Detail, Outcome, StepError, StepResult, WriteStatus};
use drover_core::{ErrorKind, Mode};
use step_support::*;

fn clusters(r: &StepResult) -> &[promote_db::ClusterReport] {
    match &r.detail {
        Detail::PromoteDb { clusters } => clusters,
        other => panic!("not a promote-db detail: {other:?}"),
    }
}

async fn writer_is_standby(run: &Run) -> bool {
    let db = drover_core::aws::rds::RdsGlobalDatabase::new(&*run.w.clients(STANDBY).await);
    let cfg = &run.w.region(STANDBY).aurora[0];
    let g = db.global_cluster(&cfg.global_cluster_id).await.unwrap();
    g.writer().map(|m| m.cluster_arn.as_str()) == Some(cfg.cluster_arn.as_str())
}

#[tokio::test]
async fn unplanned_failover_with_the_primary_down_then_a_repeat_writes_nothing() {
    let run = Run::new(60.0).await;
    run.w.emu.region_down(PRIMARY);
    let results = drive(&run.ports, Which::PromoteDb, run.input(Mode::Unplanned, Action::Start), 60).await;
    let first = &results[0];
    assert!(matches!(first.outcome, Outcome::InProgress { .. }), "{first:#?}");
    assert_eq!(calls_of(&first.writes), ["rds:FailoverGlobalCluster@us-west-2"]);
    assert!(first.writes.iter().all(|w| w.status == WriteStatus::Made));
    let c = &clusters(first)[0];
    assert_eq!(c.path, Some(PromotionPath::FailoverAllowDataLoss));
    assert_eq!(c.replication_lag_ms, Some(200), "the RPO evidence is read before acting");
    assert_eq!(c.rpo_budget_ms, 60_000);
    // While it runs, status reports the FailoverState.
    let during: Vec<_> =
        results[1..results.len() - 1].iter().filter_map(|r| clusters(r)[0].failover_state.clone()).collect();
    assert!(!during.is_empty(), "FailoverState reported while in progress: {results:#?}");
    assert!(
        during
            .iter()
            .all(|f| f.data_loss_allowed && matches!(f.status, FailoverStatus::Pending | FailoverStatus::FailingOver))
    );
    let last = results.last().unwrap();
    assert_eq!(last.outcome, Outcome::Done, "{last:#?}");
    assert!(writer_is_standby(&run).await);
    let writes = run.effective_writes();
    assert!(writes.iter().all(|c| c.ends_with(STANDBY)), "only the activated region was written: {writes:?}");
    assert_eq!(writes.iter().filter(|c| c.starts_with("rds:")).count(), 1, "{writes:?}");

    // The step published its own event (the write it started) with the RPO evidence.
    let events = published(&run);
    let started: PublishedEvent = serde_json::from_str(events[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(started.event_type.as_str(), "step_started");
    assert_eq!(started.evidence["replication_lag"][0]["replication_lag_ms"], 200);

    // Already promoted: done at once, nothing written at all.
    run.w.emu.clear_calls();
    let again = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert_eq!(again.outcome, Outcome::Done);
    assert!(again.writes.is_empty());
    assert!(run.w.emu.writes().is_empty(), "a repeated call writes nothing: {:?}", run.w.emu.writes());
}

#[tokio::test]
async fn planned_switchover() {
    let run = Run::new(60.0).await;
    let results = drive(&run.ports, Which::PromoteDb, run.input(Mode::Planned, Action::Start), 60).await;
    assert_eq!(calls_of(&results[0].writes), ["rds:SwitchoverGlobalCluster@us-west-2"]);
    assert_eq!(clusters(&results[0])[0].path, Some(PromotionPath::Switchover));
    assert!(results.iter().skip(1).filter_map(|r| clusters(r)[0].failover_state.clone()).all(|f| !f.data_loss_allowed));
    assert_eq!(results.last().unwrap().outcome, Outcome::Done);
    assert!(writer_is_standby(&run).await);
}

#[tokio::test]
async fn detach_and_promote_only_when_allowed_and_the_global_failover_is_refused() {
    let run = Run::new(60.0).await;
    // The global operation is impossible: RDS answers the documented state fault.
    run.fault_with_code("rds", "FailoverGlobalCluster", "throttle", "InvalidGlobalClusterStateFault", None);
    let refused = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    let Outcome::Failed { reason } = &refused.outcome else { panic!("{refused:#?}") };
    assert!(reason.contains("force.detach"), "the reason says how to allow detaching: {reason}");
    assert!(run.effective_writes().iter().all(|c| !c.starts_with("rds:")), "{:?}", run.effective_writes());

    let mut input = run.input(Mode::Unplanned, Action::Start);
    input.force.detach = true;
    let results = drive(&run.ports, Which::PromoteDb, input, 60).await;
    assert_eq!(clusters(&results[0])[0].path, Some(PromotionPath::DetachAndPromote));
    assert_eq!(calls_of(&results[0].writes), ["rds:RemoveFromGlobalCluster@us-west-2"]);
    assert_eq!(results.last().unwrap().outcome, Outcome::Done, "{:#?}", results.last());
    let db = drover_core::aws::rds::RdsGlobalDatabase::new(&*run.w.clients(STANDBY).await);
    let c = db.cluster(&run.w.region(STANDBY).aurora[0].cluster_id).await.unwrap();
    assert!(c.global_cluster_id.is_none() && c.status == "available", "{c:?}");
}

#[tokio::test]
async fn lag_over_the_rpo_budget_is_refused_unless_forced() {
    let run = Run::new(60.0).await;
    let standby_id = run.w.region(STANDBY).aurora[0].cluster_id.clone();
    run.w.emu.set_replication_lag(STANDBY, &standby_id, 95_000);
    run.w.emu.clear_calls();
    let r = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    let Outcome::Failed { reason } = &r.outcome else { panic!("{r:#?}") };
    assert!(reason.contains("95.0 s") && reason.contains("force.rpo"), "{reason}");
    assert_eq!(clusters(&r)[0].replication_lag_ms, Some(95_000));
    assert_eq!(run.effective_writes(), ["sns:Publish@us-west-2"], "only the failure is published");
    let failed: PublishedEvent = serde_json::from_str(published(&run)[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(failed.event_type.as_str(), "step_failed");
    assert_eq!(published(&run)[0]["attributes"]["severity"], "critical");

    let mut forced = run.input(Mode::Unplanned, Action::Start);
    forced.force.rpo = true;
    let r = promote_db::run(&run.ports, &forced).await.unwrap();
    assert!(matches!(r.outcome, Outcome::InProgress { .. }), "{r:#?}");
    assert_eq!(calls_of(&r.writes), ["rds:FailoverGlobalCluster@us-west-2"]);
}

#[tokio::test]
async fn a_stale_or_wrong_fencing_token_is_refused_and_writes_nothing() {
    let run = Run::new(60.0).await;
    let mut wrong = run.input(Mode::Unplanned, Action::Start);
    wrong.fencing_token = run.token + 7;
    let err = promote_db::run(&run.ports, &wrong).await.unwrap_err();
    assert!(matches!(err, StepError::Fenced(_)), "{err}");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());

    run.lose_lease().await;
    let err = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert!(matches!(err, StepError::Fenced(_)), "{err}");
    assert_eq!(err.error_type(), "NonRetryable");
    assert!(err.to_string().contains("stale"), "{err}");
    assert!(run.w.emu.writes().is_empty(), "{:?}", run.w.emu.writes());
    assert!(!writer_is_standby(&run).await);
}

#[tokio::test]
async fn a_drill_writes_nothing_and_reports_the_intended_writes() {
    let run = Run::new(60.0).await;
    let r = promote_db::run(&run.ports, &run.input(Mode::Drill, Action::Start)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{r:#?}");
    assert!(run.w.emu.writes().is_empty(), "a drill writes nothing: {:?}", run.w.emu.writes());
    assert_eq!(calls_of(&r.writes), ["rds:FailoverGlobalCluster@us-west-2"]);
    assert!(r.writes.iter().all(|w| w.status == WriteStatus::Intended));
    assert_eq!(clusters(&r)[0].replication_lag_ms, Some(200));
    assert!(!writer_is_standby(&run).await);
    // The intended write is the one a real run makes.
    let real = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert_eq!(calls_of(&real.writes), calls_of(&r.writes));
    assert!(run.effective_writes().contains(&"rds:FailoverGlobalCluster@us-west-2".to_string()));
}

#[tokio::test]
async fn faults_are_retried_or_end_in_a_retryable_error() {
    let run = Run::with_attempts(60.0, 1).await;
    // A persistent 5xx on the promotion itself: a retryable error for Step Functions, no effect.
    run.w.emu.fault("rds", STANDBY, "FailoverGlobalCluster", FaultKind::Error5xx, None);
    let err = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.error_type(), "Retryable");
    assert!(run.effective_writes().is_empty());
    run.w.emu.clear_faults();
    // The activated region down: retryable too.
    run.w.emu.region_down(STANDBY);
    let err = promote_db::run(&run.ports, &run.input(Mode::Unplanned, Action::Start)).await.unwrap_err();
    let StepError::Aws(e) = &err else { panic!("{err}") };
    assert_eq!(e.kind, ErrorKind::Unavailable);
    run.w.emu.region_up(STANDBY);
    // Latency and a short burst of throttling are absorbed (the default SDK retries 3 times).
    let patient = Run::new(60.0).await;
    patient.w.emu.fault("rds", STANDBY, "DescribeGlobalClusters", FaultKind::Throttle, Some(2));
    patient.w.emu.fault("rds", STANDBY, "FailoverGlobalCluster", FaultKind::Latency(1500), Some(1));
    let r = promote_db::run(&patient.ports, &patient.input(Mode::Unplanned, Action::Start)).await.unwrap();
    assert!(matches!(r.outcome, Outcome::InProgress { .. }), "{r:#?}");
}
