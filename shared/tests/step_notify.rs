//! notify against the emulator: the report read back from the topic matches the schema, the
//! topic is the KMS-encrypted one of the region notify runs in.

mod step_support;

use drover_core::Mode;
use drover_core::events::PublishedEvent;
use drover_core::events::published::EVENT_SCHEMA;
use drover_core::steps::notify::{self, NotifyInput};
use drover_core::steps::{Action, Detail, Outcome, StepError, promote_db, scale_compute, shift_traffic};
use serde_json::{Value, json};
use step_support::*;

fn input(run: &Run, v: Value) -> NotifyInput {
    let mut base = json!({
        "run_id": run.run_id, "fencing_token": run.token,
        "from_region": PRIMARY, "to_region": STANDBY,
    });
    base.as_object_mut().unwrap().extend(v.as_object().unwrap().clone());
    NotifyInput::from_value(base).unwrap()
}

fn read_back(run: &Run) -> Vec<(Value, PublishedEvent)> {
    published(run)
        .into_iter()
        .map(|m| {
            let e: PublishedEvent = serde_json::from_str(m["message"].as_str().unwrap())
                .expect("the message is a drover.event/v1 document");
            (m, e)
        })
        .collect()
}

#[tokio::test]
async fn a_drill_report_is_published_to_the_encrypted_topic_with_the_intended_writes() {
    let run = Run::new(60.0).await;
    let drill = run.input(Mode::Drill, Action::Start);
    let results = vec![
        promote_db::run(&run.ports, &drill).await.unwrap(),
        scale_compute::run(&run.ports, &drill).await.unwrap(),
        shift_traffic::run(&run.ports, &drill).await.unwrap(),
    ];
    assert!(run.w.emu.writes().is_empty(), "the drill steps wrote nothing: {:?}", run.w.emu.writes());
    let n_intended: usize = results.iter().map(|r| r.writes.len()).sum();

    let started_at = chrono::Utc::now() - chrono::Duration::seconds(42);
    let mut i = input(&run, json!({ "event_type": "run_succeeded", "mode": "drill" }));
    i.results = results;
    i.started_at = Some(started_at);
    let r = notify::run(&run.ports, &i).await.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{r:#?}");
    let Detail::Notify(report) = &r.detail else { panic!() };
    let sns = &run.w.region(STANDBY).sns;
    assert_eq!(report.topic_arn, sns.topic_arn, "the topic of the region notify runs in");
    assert_eq!(report.kms_key_id.as_deref(), Some(sns.kms_key_id.as_str()), "the KMS-encrypted topic");
    assert_eq!(run.effective_writes(), ["sns:Publish@us-west-2"], "a drill's report is real: its only write");

    let sent = read_back(&run);
    assert_eq!(sent.len(), 1);
    let (raw, e) = &sent[0];
    assert_eq!(e.schema, EVENT_SCHEMA);
    assert_eq!(e.event_type.as_str(), "run_succeeded");
    assert_eq!(e.mode, Some(Mode::Drill));
    assert_eq!((e.from_region.as_deref(), e.to_region.as_deref()), (Some(PRIMARY), Some(STANDBY)));
    assert_eq!(e.run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(e.evidence["intended_writes"].as_array().unwrap().len(), n_intended);
    assert_eq!(e.evidence["replication_lag_ms"], 200, "the RPO evidence travels into the report");
    assert!(e.timings.duration_ms.unwrap() >= 42_000);
    assert!(e.message.contains("Drill") && e.message.contains("would make"), "{}", e.message);
    assert_eq!(raw["subject"], e.subject());
    assert_eq!(raw["subject"], "[drover INFO] shop drill us-east-1->us-west-2: run succeeded");
    assert_eq!(raw["attributes"]["event_type"], "run_succeeded");
    assert_eq!(raw["attributes"]["severity"], "info");
    assert_eq!(raw["attributes"]["mode"], "drill");
    // The raw JSON has every documented field.
    let body: Value = serde_json::from_str(raw["message"].as_str().unwrap()).unwrap();
    for key in [
        "schema",
        "event_id",
        "event_type",
        "severity",
        "application",
        "run_id",
        "fencing_token",
        "mode",
        "from_region",
        "to_region",
        "step",
        "status",
        "timings",
        "evidence",
        "message",
        "emitted_at",
    ] {
        assert!(body.get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn a_failure_from_the_catch_is_critical_and_actionable() {
    let run = Run::new(60.0).await;
    let i = input(
        &run,
        json!({
            "event_type": "run_failed", "mode": "unplanned", "step": "promote-db",
            "error": {"Error": "NonRetryable", "Cause": "replication lag of shop-usw2 is 95.0 s, over the RPO budget of 60 s"}
        }),
    );
    notify::run(&run.ports, &i).await.unwrap();
    let (raw, e) = &read_back(&run)[0];
    assert_eq!(raw["subject"], "[drover CRITICAL] shop unplanned us-east-1->us-west-2: promote-db failed");
    assert_eq!(raw["attributes"]["severity"], "critical");
    assert_eq!(raw["attributes"]["step"], "promote-db");
    assert!(e.message.contains("95.0 s") && e.message.contains("What to do"), "{}", e.message);
    assert_eq!(e.evidence["error"]["Error"], "NonRetryable");
}

#[tokio::test]
async fn a_topic_not_under_the_configured_key_is_reported_degraded() {
    let run = Run::with_topology(60.0, |t| {
        let r = t.regions.iter_mut().find(|r| r.name == STANDBY).unwrap();
        r.sns.kms_key_id = "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-000000000000".into();
    })
    .await;
    let r =
        notify::run(&run.ports, &input(&run, json!({ "event_type": "run_started", "mode": "planned" }))).await.unwrap();
    let Outcome::Degraded { reason } = &r.outcome else { panic!("{r:#?}") };
    assert!(reason.contains("not the configured key"), "{reason}");
    assert_eq!(read_back(&run).len(), 1, "published all the same: the report matters more");
}

#[tokio::test]
async fn faults_are_retried_or_retryable() {
    let run = Run::with_attempts(60.0, 1).await;
    let i = input(&run, json!({ "event_type": "run_started", "mode": "unplanned" }));
    run.w.emu.fault("sns", STANDBY, "Publish", FaultKind::Throttle, None);
    let err = notify::run(&run.ports, &i).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    run.w.emu.clear_faults();
    run.w.emu.region_down(STANDBY);
    let err = notify::run(&run.ports, &i).await.unwrap_err();
    assert!(matches!(&err, StepError::Aws(e) if e.is_retryable()), "{err}");
    run.w.emu.region_up(STANDBY);

    let patient = Run::new(60.0).await;
    patient.w.emu.fault("sns", STANDBY, "Publish", FaultKind::Error5xx, Some(2));
    patient.w.emu.fault("sns", STANDBY, "GetTopicAttributes", FaultKind::Latency(1000), Some(1));
    notify::run(&patient.ports, &input(&patient, json!({ "event_type": "run_started", "mode": "unplanned" })))
        .await
        .unwrap();
    assert_eq!(read_back(&patient).len(), 1);
}

#[tokio::test]
async fn notify_reports_even_for_a_run_that_lost_its_lease() {
    // The one step that does not fence: its only write is the report, and this is the report
    // a person must see.
    let run = Run::new(60.0).await;
    run.lose_lease().await;
    let i =
        input(&run, json!({ "event_type": "run_failed", "mode": "unplanned", "message": "the lease expired mid-run" }));
    notify::run(&run.ports, &i).await.unwrap();
    assert_eq!(run.effective_writes(), ["sns:Publish@us-west-2"]);
}

#[tokio::test]
async fn the_final_report_releases_the_lease_once() {
    use drover_core::ports::Lease;
    let run = Run::new(60.0).await;
    let report = input(&run, json!({"event_type": "run_succeeded", "mode": "unplanned", "release_lease": true}));
    let r = notify::run(&run.ports, &report).await.unwrap();
    assert!(r.message.contains(&format!("lease {} released", run.token)), "{}", r.message);
    let current = lease(&run.w).await.current().await.unwrap().unwrap();
    assert_eq!(current.holder, None, "released");
    assert_eq!(current.fencing_token, run.token);

    // A second report (a retried state) still publishes and releases nothing more.
    let again = notify::run(&run.ports, &report).await.unwrap();
    assert_eq!(read_back(&run).len(), 2);
    assert_eq!(again.writes.len(), 1, "only the publish: {:?}", again.writes);

    // A run whose lease was taken over reports without touching the new holder's lease.
    let newer =
        lease(&run.w).await.acquire("another-runner", "run-other", std::time::Duration::from_secs(600)).await.unwrap();
    let r = notify::run(&run.ports, &report).await.unwrap();
    assert!(r.message.contains("lease not released"), "{}", r.message);
    assert_eq!(lease(&run.w).await.current().await.unwrap().unwrap().fencing_token, newer.fencing_token);
    assert_eq!(lease(&run.w).await.current().await.unwrap().unwrap().holder.as_deref(), Some("another-runner"));
}
