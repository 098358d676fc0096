//! Trigger parsing against the real-shaped samples in tests/events, malformed variants, and
//! arbitrary JSON (the parser must never panic).

use drover_core::Topology;
use drover_core::events::{AlarmSource, AlarmState, ManualAction, Trigger, TriggerError};
use proptest::prelude::*;
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let path = format!("{}/../tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn topology() -> Topology {
    Topology::from_json(include_str!("../../docs/topology.example.json")).unwrap()
}

#[test]
fn eventbridge_alarm_state_change() {
    let Trigger::Alarm(a) = Trigger::parse(&sample("eventbridge-alarm-probe.json")).unwrap() else {
        panic!("not an alarm")
    };
    assert_eq!(a.source, AlarmSource::EventBridge);
    assert_eq!(a.alarm_name, "drover-shop-probe-us-east-1");
    assert_eq!(a.region, "us-west-2");
    assert_eq!(a.state, AlarmState::Alarm);
    assert_eq!(a.previous_state, Some(AlarmState::Ok));
    assert_eq!(
        a.alarm_arn.as_deref(),
        Some("arn:aws:cloudwatch:us-west-2:123456789012:alarm:drover-shop-probe-us-east-1")
    );
    assert_eq!(a.changed_at.unwrap().to_rfc3339(), "2026-11-30T03:04:40.989+00:00");
}

#[test]
fn alarm_invoking_lambda_directly() {
    let Trigger::Alarm(a) = Trigger::parse(&sample("lambda-alarm-action-alb-5xx.json")).unwrap() else { panic!() };
    assert_eq!(a.source, AlarmSource::LambdaAction);
    assert_eq!(a.alarm_name, "drover-shop-alb-5xx-us-east-1");
    assert_eq!(a.region, "us-east-1");
    assert_eq!(a.account_id.as_deref(), Some("123456789012"));
    assert_eq!(a.state, AlarmState::Alarm);
}

#[test]
fn sns_wrapped_alarm_takes_the_region_from_the_arn() {
    let Trigger::Alarm(a) = Trigger::parse(&sample("sns-alarm-alb-5xx.json")).unwrap() else { panic!() };
    assert_eq!(a.source, AlarmSource::Sns);
    assert_eq!(a.region, "us-east-1", "the message's Region is a display name; the ARN has the code");
    assert_eq!(a.state, AlarmState::Alarm);
    assert_eq!(a.previous_state, Some(AlarmState::Ok));
    assert!(a.reason.starts_with("Threshold Crossed"));
}

#[test]
fn manual_requests() {
    let Trigger::Manual(m) = Trigger::parse(&sample("manual-failover.json")).unwrap() else { panic!() };
    assert_eq!(m.action, ManualAction::Failover);
    assert_eq!(m.target_region, "us-west-2");
    assert_eq!(m.requested_by, "alice@example.com");
    assert!(!m.force.quorum);
    let Trigger::Manual(d) = Trigger::parse(&sample("manual-drill.json")).unwrap() else { panic!() };
    assert_eq!(d.action, ManualAction::Drill);
    assert!(!d.force.readiness, "force flags default to off");
}

#[test]
fn every_sample_names_regions_of_the_topology() {
    let t = topology();
    for name in [
        "eventbridge-alarm-probe.json",
        "lambda-alarm-action-alb-5xx.json",
        "sns-alarm-alb-5xx.json",
        "manual-failover.json",
        "manual-drill.json",
    ] {
        Trigger::parse(&sample(name)).unwrap().check_against(&t).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn other_eventbridge_events_are_unsupported_and_say_what_they_are() {
    let err = Trigger::parse(&sample("ec2-state-change.json")).unwrap_err();
    assert!(matches!(err, TriggerError::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("EC2 Instance State-change Notification"), "{err}");
}

fn expect_malformed(v: Value, field: &str) {
    match Trigger::parse(&v) {
        Err(TriggerError::Malformed { field: f, .. }) => assert_eq!(f, field, "{v}"),
        other => panic!("expected Malformed({field}), got {other:?} for {v}"),
    }
}

#[test]
fn malformed_inputs_name_what_is_wrong() {
    let mut v = sample("eventbridge-alarm-probe.json");
    v["detail"]["alarmName"] = json!("");
    expect_malformed(v, "alarmName");

    let mut v = sample("eventbridge-alarm-probe.json");
    v["detail"].as_object_mut().unwrap().remove("state");
    expect_malformed(v, "state");

    let mut v = sample("eventbridge-alarm-probe.json");
    v["detail"]["state"]["value"] = json!(3);
    expect_malformed(v, "detail");

    let mut v = sample("eventbridge-alarm-probe.json");
    v["region"] = json!("mars-north-1a");
    expect_malformed(v, "region");

    let mut v = sample("lambda-alarm-action-alb-5xx.json");
    v["source"] = json!("aws.ec2");
    expect_malformed(v, "source");

    let mut v = sample("sns-alarm-alb-5xx.json");
    v["Records"][0]["Sns"]["Message"] = json!("not json");
    expect_malformed(v, "Records[0].Sns.Message");

    let mut v = sample("sns-alarm-alb-5xx.json");
    let r = v["Records"][0].clone();
    v["Records"] = json!([r.clone(), r]);
    expect_malformed(v, "Records");

    let mut v = sample("manual-failover.json");
    v["action"] = json!("nuke");
    expect_malformed(v, "action");

    let mut v = sample("manual-failover.json");
    v.as_object_mut().unwrap().remove("requested_by");
    expect_malformed(v, "(request)");

    let mut v = sample("manual-failover.json");
    v["requested_by"] = json!("  ");
    expect_malformed(v, "requested_by");

    let mut v = sample("manual-failover.json");
    v["force"]["lease"] = json!(true);
    expect_malformed(v, "force.lease");
}

#[test]
fn a_region_outside_the_topology_is_refused_by_name() {
    let mut v = sample("manual-failover.json");
    v["target_region"] = json!("eu-west-1");
    let err = Trigger::parse(&v).unwrap().check_against(&topology()).unwrap_err();
    assert!(err.to_string().contains("eu-west-1"), "{err}");
}

#[test]
fn non_json_and_unknown_shapes() {
    assert!(matches!(Trigger::parse_str("{not json"), Err(TriggerError::NotJson(_))));
    assert!(matches!(Trigger::parse(&json!([1, 2])), Err(TriggerError::Unrecognised(_))));
    assert!(matches!(Trigger::parse(&json!({"hello": "world"})), Err(TriggerError::Unrecognised(_))));
    assert!(matches!(Trigger::parse(&Value::Null), Err(TriggerError::Unrecognised(_))));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("ALARM"),
            Just("OK"),
            Just("aws.cloudwatch"),
            Just("aws:sns"),
            Just("us-east-1"),
            Just("CloudWatch Alarm State Change"),
            Just("failover"),
            Just("2026-11-30T03:04:40.989+0000"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    let keys = prop_oneof![
        Just("detail-type".to_string()),
        Just("source".to_string()),
        Just("detail".to_string()),
        Just("region".to_string()),
        Just("alarmData".to_string()),
        Just("alarmName".to_string()),
        Just("state".to_string()),
        Just("value".to_string()),
        Just("Records".to_string()),
        Just("Sns".to_string()),
        Just("Message".to_string()),
        Just("EventSource".to_string()),
        Just("action".to_string()),
        Just("target_region".to_string()),
        Just("force".to_string()),
        Just("time".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces one value somewhere in a real sample, to explore near-valid inputs.
fn mutate(mut v: Value, path: &[usize], replacement: Value) -> Value {
    fn at<'a>(cur: &'a mut Value, path: &[usize]) -> &'a mut Value {
        let Some((&i, rest)) = path.split_first() else { return cur };
        let has_child = match &*cur {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        };
        if !has_child {
            return cur;
        }
        match cur {
            Value::Object(m) => {
                let k = m.keys().nth(i % m.len()).cloned().unwrap();
                at(m.get_mut(&k).unwrap(), rest)
            }
            Value::Array(a) => {
                let n = a.len();
                at(&mut a[i % n], rest)
            }
            other => other,
        }
    }
    *at(&mut v, path) = replacement;
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_json(v in arb_json()) {
        let _ = Trigger::parse(&v);
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in ".{0,200}") {
        let _ = Trigger::parse_str(&s);
    }

    #[test]
    fn never_panics_on_mutated_samples(
        which in 0usize..5,
        path in prop::collection::vec(0usize..16, 0..5),
        replacement in arb_json(),
    ) {
        let names = ["eventbridge-alarm-probe.json", "lambda-alarm-action-alb-5xx.json", "sns-alarm-alb-5xx.json", "manual-failover.json", "manual-drill.json"];
        let v = mutate(sample(names[which]), &path, replacement);
        if let Ok(t) = Trigger::parse(&v) {
            // Whatever parses must carry what a decision needs.
            match t {
                Trigger::Alarm(a) => prop_assert!(!a.alarm_name.trim().is_empty() && drover_core::config::is_region_name(&a.region)),
                Trigger::Manual(m) => prop_assert!(!m.requested_by.trim().is_empty() && !m.reason.trim().is_empty()),
            }
        }
    }
}
