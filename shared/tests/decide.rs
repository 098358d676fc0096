//! decide against the emulator: quorum, readiness gates, cooldown, concurrency, bad input,
//! manual force. Runs in the standby (us-west-2), which it would activate.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use drover_core::aws::state_store::DynamoStateStore;
use drover_core::model::Mode;
use drover_core::policy::decide::{DecideError, Decider, Outcome};
use drover_core::policy::evaluate::{Gate, NoGoReason};
use drover_core::ports::{Lease, StateStore, SystemClock};
use serde_json::{Value, json};

fn probe_alarm(w: &World) -> String {
    w.topology.signals_watching(PRIMARY).find(|s| s.group == "probe").unwrap().alarm_name.clone()
}

fn alb_alarm(w: &World) -> String {
    w.topology.signals_watching(PRIMARY).find(|s| s.group == "alb").unwrap().alarm_name.clone()
}

/// An EventBridge "CloudWatch Alarm State Change" event, as the rule delivers it.
fn alarm_event(name: &str, region: &str, state: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid(),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-30T03:04:40Z",
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": { "value": state, "reason": "test", "timestamp": "2026-11-30T03:04:40.989+0000" },
            "previousState": { "value": "OK", "reason": "test", "timestamp": "2026-11-30T03:00:00.000+0000" },
            "configuration": { "metrics": [] }
        }
    })
}

fn uuid() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

fn manual(action: &str, force: Value) -> Value {
    json!({ "action": action, "target_region": STANDBY, "reason": "game day", "requested_by": "alice@example.com", "force": force })
}

async fn decider(w: &World) -> Decider {
    let mut d =
        Decider::from_factory(Arc::new(w.topology.clone()), STANDBY, &w.factory, Arc::new(SystemClock)).await.unwrap();
    d.peer_timeout = Duration::from_secs(3);
    d
}

async fn lease_holder(w: &World) -> Option<String> {
    let c = w.clients(STANDBY).await;
    let lease = drover_core::aws::dynamodb::DynamoLease::new(&c, &w.region(STANDBY).lease_table);
    lease.current().await.unwrap().and_then(|r| r.holder)
}

fn topic(w: &World) -> String {
    w.region(STANDBY).sns.topic_arn.clone()
}

fn published_types(w: &World) -> Vec<String> {
    w.emu
        .sns_messages(&topic(w))
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m["message"].as_str().unwrap()).unwrap()["event_type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn go(o: Outcome) -> drover_core::policy::Plan {
    match o {
        Outcome::Go(p) => p,
        other => panic!("expected go, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

fn no_go(o: Outcome) -> drover_core::policy::decide::NoGo {
    match o {
        Outcome::NoGo(n) => n,
        other => panic!("expected no-go, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

#[tokio::test]
async fn quorum_met_goes_takes_the_lease_and_records_the_failover() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    w.emu.clear_calls();
    let d = decider(&w).await;
    let plan = go(d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "inv-1").await.unwrap());
    assert_eq!((plan.mode, plan.from_region.as_str(), plan.to_region.as_str()), (Mode::Unplanned, PRIMARY, STANDBY));
    assert!(plan.fencing_token >= 1 && plan.allow_data_loss);
    assert_eq!(plan.quorum.counted, 2);
    assert_eq!(plan.budgets.rto_seconds, w.topology.objectives.rto_seconds);
    assert_eq!(lease_holder(&w).await.as_deref(), Some("decide@us-west-2/inv-1"));
    // What decide answers is what the steps take as input (the state machine passes it on).
    let as_sent = serde_json::to_value(Outcome::Go(plan.clone())).unwrap();
    assert_eq!(as_sent["outcome"], "go");
    let step_input = drover_core::steps::StepInput::from_value(as_sent).unwrap();
    assert_eq!((step_input.run_id.as_str(), step_input.fencing_token), (plan.run_id.as_str(), plan.fencing_token));
    step_input.validate(&w.topology, STANDBY).unwrap();

    let store = DynamoStateStore::new(&*w.clients(STANDBY).await, &w.region(STANDBY).lease_table);
    let last = store.last_failover().await.unwrap().expect("the failover is recorded for the cooldown");
    assert_eq!((last.run_id.as_str(), last.fencing_token), (plan.run_id.as_str(), plan.fencing_token));
    assert_eq!(published_types(&w), vec!["run_started"]);
    // Every write in the activated region; the failing region is only read.
    for wr in w.emu.writes() {
        assert!(wr.ends_with("@us-west-2"), "write outside the activated region: {wr}");
    }
    // The activated region's alarms are read before the other region's.
    let describes: Vec<String> = w
        .emu
        .calls()
        .iter()
        .filter(|c| c["action"] == "DescribeAlarms")
        .map(|c| c["region"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(describes, vec![STANDBY, PRIMARY]);
}

#[tokio::test]
async fn one_signal_is_no_quorum_no_lease_and_a_published_reason() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.clear_calls();
    let d = decider(&w).await;
    let n = no_go(d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "inv-1").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Quorum]);
    assert_eq!(n.message, "failover suppressed: 1 of 2 signals");
    assert!(n.event_message_id.is_some());
    assert_eq!(lease_holder(&w).await, None);
    assert_eq!(w.emu.writes(), vec!["sns:Publish@us-west-2"], "a no-go writes nothing but its event");
    assert_eq!(published_types(&w), vec!["failover_suppressed"]);
    let msg: Value = serde_json::from_str(w.emu.sns_messages(&topic(&w))[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(msg["message"], "failover suppressed: 1 of 2 signals");
    assert_eq!(msg["evidence"]["reasons"][0]["reason"], "quorum_not_met");
}

#[tokio::test]
async fn quorum_not_met_and_lag_over_budget_say_both() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_replication_lag(STANDBY, &w.region(STANDBY).aurora[0].cluster_id, 72_400);
    let d = decider(&w).await;
    let n = no_go(d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "inv-1").await.unwrap());
    assert_eq!(n.message, "failover suppressed: 1 of 2 signals; standby lag 73 s over the 60 s budget");
}

#[tokio::test]
async fn the_primary_region_down_counts_once_towards_the_quorum() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.region_down(PRIMARY);
    let d = decider(&w).await;
    let plan = go(d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "inv-1").await.unwrap());
    assert_eq!(plan.quorum.unreachable_credit.as_deref(), Some("alb"));
}

#[tokio::test]
async fn each_readiness_gate_fails_on_its_own() {
    let w = World::new(1.0);
    let c = w.clients(STANDBY).await;
    let standby = w.region(STANDBY).clone();
    let d = decider(&w).await;
    let both = |w: &World| {
        w.emu.set_alarm(STANDBY, &probe_alarm(w), "ALARM");
        w.emu.set_alarm(PRIMARY, &alb_alarm(w), "ALARM");
    };
    let event = alarm_event(&probe_alarm(&w), STANDBY, "ALARM");

    // Lag over the RPO budget.
    both(&w);
    w.emu.set_replication_lag(STANDBY, &standby.aurora[0].cluster_id, 61_000);
    let n = no_go(d.decide(&event, "lag").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Rpo], "{}", n.message);
    assert_eq!(n.message, "failover suppressed: standby lag 61 s over the 60 s budget");

    // ECS service missing (lag back to normal: a fresh emulator minute is not needed, the
    // gate reads the maximum of the minute, so use a new world for each remaining case).
    let w = World::new(1.0);
    let d = decider(&w).await;
    both(&w);
    let c2 = w.clients(STANDBY).await;
    c2.ecs
        .delete_service()
        .cluster(&standby.ecs[0].cluster)
        .service(&standby.ecs[0].service)
        .force(true)
        .send()
        .await
        .unwrap();
    let n = no_go(d.decide(&event, "ecs").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Readiness], "{}", n.message);
    assert!(matches!(n.reasons[0], NoGoReason::EcsServiceMissing { .. }), "{}", n.message);

    // Aurora secondary not in the global cluster (detached, then settled as a standalone).
    let w = World::new(1.0);
    let d = decider(&w).await;
    both(&w);
    let c3 = w.clients(STANDBY).await;
    c3.rds
        .remove_from_global_cluster()
        .global_cluster_identifier(&standby.aurora[0].global_cluster_id)
        .db_cluster_identifier(&standby.aurora[0].cluster_arn)
        .send()
        .await
        .unwrap();
    // While detaching it is not available.
    let n = no_go(d.decide(&event, "detaching").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Readiness], "{}", n.message);
    assert!(matches!(n.reasons[0], NoGoReason::AuroraNotAvailable { .. }), "{}", n.message);
    w.emu.control("POST", "/_drover/clock", Some(json!({ "advance": 120 })));
    let n = no_go(d.decide(&event, "detached").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Readiness], "{}", n.message);
    assert!(matches!(n.reasons[0], NoGoReason::AuroraNotInGlobalCluster { .. }), "{}", n.message);
    drop(c);
}

#[tokio::test]
async fn cooldown_after_a_failover_suppresses_alarms_but_not_a_person() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    let d = decider(&w).await;
    let event = alarm_event(&probe_alarm(&w), STANDBY, "ALARM");
    let first = go(d.decide(&event, "first").await.unwrap());
    d.lease.release(first.fencing_token).await.unwrap();

    let n = no_go(d.decide(&event, "second").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Cooldown]);
    assert!(
        n.message.starts_with(&format!("failover suppressed: in cooldown after run {}", first.run_id)),
        "{}",
        n.message
    );
    assert_eq!(lease_holder(&w).await, None);

    let back = go(d.decide(&manual("failover", json!({})), "person").await.unwrap());
    assert!(back.fencing_token > first.fencing_token);
    assert_eq!(back.findings.len(), 1, "the cooldown is reported to the person");
}

#[tokio::test]
async fn twenty_concurrent_triggers_give_one_go_and_the_run_id_to_the_others() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    let d = Arc::new(decider(&w).await);
    let events = [alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), alarm_event(&alb_alarm(&w), PRIMARY, "ALARM")];
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let d = d.clone();
            let e = events[i % 2].clone();
            tokio::spawn(async move { d.decide(&e, &format!("inv-{i}")).await })
        })
        .collect();
    let mut plans = Vec::new();
    let mut running = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Outcome::Go(p) => plans.push(p),
            Outcome::AlreadyRunning(a) => running.push(a),
            other => panic!("unexpected {}", serde_json::to_string(&other).unwrap()),
        }
    }
    assert_eq!(plans.len(), 1, "exactly one go");
    assert_eq!(running.len(), 19);
    assert!(running.iter().all(|r| r.run_id == plans[0].run_id && r.fencing_token == plans[0].fencing_token));
    assert!(running[0].message.starts_with("already running: run "), "{}", running[0].message);
    assert_eq!(published_types(&w), vec!["run_started"], "duplicates publish nothing");
}

#[tokio::test]
async fn malformed_and_unknown_events_are_clear_errors_with_no_lease_and_no_write() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    w.emu.clear_calls();
    let d = decider(&w).await;
    let ec2 = json!({ "version": "0", "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "region": STANDBY, "detail": {} });
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), "expected a JSON object"),
        (json!({ "hello": "world" }), "not recognised"),
        (ec2, "unsupported event"),
        (alarm_event("someone-elses-alarm", STANDBY, "ALARM"), "not one of the configured signals"),
        (alarm_event(&probe_alarm(&w), "eu-west-3", "ALARM"), "eu-west-3"),
        (json!({ "action": "failover", "target_region": STANDBY, "reason": "x", "requested_by": " " }), "requested_by"),
        (json!({ "action": "failover", "target_region": STANDBY, "requested_by": "bob" }), "reason"),
        (
            json!({ "action": "failover", "target_region": PRIMARY, "reason": "x", "requested_by": "bob" }),
            "start it in us-east-1",
        ),
        (
            json!({ "action": "failover", "target_region": STANDBY, "reason": "x", "requested_by": "bob", "force": { "lease": true } }),
            "lease",
        ),
    ];
    for (event, expected) in cases {
        let err = d.decide(&event, "bad").await.expect_err(&event.to_string());
        assert!(err.to_string().contains(expected), "{event}: {err}");
        assert!(!err.is_retryable() && err.error_type() == "NonRetryable", "{err}");
        assert!(matches!(err, DecideError::Trigger(_) | DecideError::Request(_)), "{err:?}");
    }
    assert!(w.emu.writes().is_empty(), "{:?}", w.emu.writes());
    assert!(w.emu.calls().is_empty(), "bad input is refused before any call: {:?}", w.emu.calls());
    assert_eq!(lease_holder(&w).await, None);
}

#[tokio::test]
async fn an_alarm_back_to_ok_or_watching_this_region_is_ignored_without_a_call() {
    let w = World::new(1.0);
    let d = decider(&w).await;
    let ok = d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "OK"), "ok").await.unwrap();
    assert_eq!(ok.name(), "ignored");
    let own = w.topology.signals_watching(STANDBY).next().unwrap().clone();
    let mine = d.decide(&alarm_event(&own.alarm_name, &own.region, "ALARM"), "own").await.unwrap();
    assert_eq!(mine.name(), "ignored");
    assert!(w.emu.calls().is_empty());
}

#[tokio::test]
async fn a_manual_force_passes_quorum_and_rpo_but_never_the_lease() {
    let w = World::new(1.0);
    w.emu.set_replication_lag(STANDBY, &w.region(STANDBY).aurora[0].cluster_id, 90_000);
    let d = decider(&w).await;
    let n = no_go(d.decide(&manual("failover", json!({})), "unforced").await.unwrap());
    assert_eq!(n.gates, vec![Gate::Quorum, Gate::Rpo]);

    let plan = go(d
        .decide(&manual("failover", json!({ "quorum": true, "rpo": true, "detach": true })), "forced")
        .await
        .unwrap());
    assert_eq!(plan.forced, vec![Gate::Quorum, Gate::Rpo]);
    assert!(plan.allow_detach, "force.detach allows detach-and-promote");
    assert!(
        matches!(&plan.origin, drover_core::policy::Origin::Manual { requested_by, .. } if requested_by == "alice@example.com")
    );

    // The lease is held: forcing everything still answers "already running".
    let again = d
        .decide(&manual("failover", json!({ "quorum": true, "readiness": true, "rpo": true })), "again")
        .await
        .unwrap();
    match again {
        Outcome::AlreadyRunning(a) => assert_eq!(a.run_id, plan.run_id),
        other => panic!("expected already running, got {other:?}"),
    }
}

#[tokio::test]
async fn modes_follow_the_request_and_status_writes_nothing() {
    let w = World::new(1.0);
    let d = decider(&w).await;
    w.emu.clear_calls();
    let status = d.decide(&manual("status", json!({})), "status").await.unwrap();
    assert_eq!(status.name(), "status");
    assert!(w.emu.writes().is_empty(), "{:?}", w.emu.writes());

    let drill = go(d.decide(&manual("drill", json!({})), "drill").await.unwrap());
    assert_eq!(drill.mode, Mode::Drill);
    assert!(!drill.allow_data_loss);
    assert!(
        drill.findings.iter().any(|f| matches!(f, NoGoReason::QuorumNotMet { .. })),
        "a drill reports the missing quorum"
    );
    d.lease.release(drill.fencing_token).await.unwrap();
    let store = DynamoStateStore::new(&*w.clients(STANDBY).await, &w.region(STANDBY).lease_table);
    assert!(store.last_failover().await.unwrap().is_none(), "a drill does not start a cooldown");

    let planned = go(d.decide(&manual("switchover", json!({})), "planned").await.unwrap());
    assert_eq!(planned.mode, Mode::Planned);
    assert!(!planned.allow_data_loss);
    d.lease.release(planned.fencing_token).await.unwrap();
    let back = go(d.decide(&manual("failback", json!({})), "failback").await.unwrap());
    assert_eq!(back.mode, Mode::Failback);
}

#[tokio::test]
async fn a_throttled_standby_read_is_retryable_and_leaves_nothing_behind() {
    let w = World::with_attempts(1.0, 1);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    w.emu.fault("rds", STANDBY, "DescribeDBClusters", FaultKind::Throttle, None);
    w.emu.clear_calls();
    let d = decider(&w).await;
    let err = d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "throttled").await.unwrap_err();
    assert!(err.is_retryable() && err.error_type() == "Retryable", "{err}");
    assert!(w.emu.writes().is_empty(), "{:?}", w.emu.writes());
    assert_eq!(lease_holder(&w).await, None);

    // Once the region recovers the retry goes.
    w.emu.clear_faults();
    go(d.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "retry").await.unwrap());
}

#[tokio::test]
async fn the_cooldown_crosses_regions_no_ping_pong() {
    let w = World::new(1.0);
    w.emu.set_alarm(STANDBY, &probe_alarm(&w), "ALARM");
    w.emu.set_alarm(PRIMARY, &alb_alarm(&w), "ALARM");
    let there = decider(&w).await;
    let first = go(there.decide(&alarm_event(&probe_alarm(&w), STANDBY, "ALARM"), "a-to-b").await.unwrap());

    // Now the signals watching the new primary fire; the old primary's decide would fail back.
    let watching_standby: Vec<_> = w.topology.signals_watching(STANDBY).cloned().collect();
    for s in &watching_standby {
        w.emu.set_alarm(&s.region, &s.alarm_name, "ALARM");
    }
    let mut here =
        Decider::from_factory(Arc::new(w.topology.clone()), PRIMARY, &w.factory, Arc::new(SystemClock)).await.unwrap();
    here.peer_timeout = Duration::from_secs(3);
    let n = no_go(
        here.decide(&alarm_event(&watching_standby[0].alarm_name, &watching_standby[0].region, "ALARM"), "b-to-a")
            .await
            .unwrap(),
    );
    assert_eq!(n.gates, vec![Gate::Cooldown], "{}", n.message);
    assert!(n.message.contains(&first.run_id), "{}", n.message);

    // If the region that failed over is itself down, its record cannot hold the failback.
    w.emu.region_down(STANDBY);
    let back = here
        .decide(&alarm_event(&watching_standby[0].alarm_name, &watching_standby[0].region, "ALARM"), "b-down")
        .await
        .unwrap();
    assert_eq!(back.name(), "go", "{}", serde_json::to_string(&back).unwrap());
}
