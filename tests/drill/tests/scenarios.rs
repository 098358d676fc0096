//! The failover state machine from infra/, end to end: each scenario runs the real ASL with the
//! real function binaries as Lambdas against the emulator, and asserts what changed.

use drover_drill::{DNS_TTL_SECONDS, Options, Outcome, Scenario, run};
use serde_json::Value;

const PRIMARY: &str = "us-east-1";
const STANDBY: &str = "us-west-2";

fn drill(s: Scenario) -> Outcome {
    let o = Options { build: false, reports: std::env::temp_dir().join("drover-drill-tests"), ..Options::default() };
    let out = run(s, &o).unwrap_or_else(|e| panic!("scenario {}: {e}", s.name()));
    println!("{}", out.report.text());
    out
}

fn events(out: &Outcome) -> Vec<Value> {
    out.published.iter().filter_map(|m| serde_json::from_str(m["message"].as_str()?).ok()).collect()
}

fn event_types(out: &Outcome) -> Vec<String> {
    events(out).iter().filter_map(|e| e["event_type"].as_str().map(str::to_string)).collect()
}

/// Writes to the application's resources (the lease and the events aside).
fn app_writes(out: &Outcome) -> Vec<&String> {
    out.writes.iter().filter(|c| !c.starts_with("dynamodb:") && !c.starts_with("sns:")).collect()
}

#[test]
fn unplanned_failover_from_the_probe_alarm_to_traffic_on_the_standby() {
    let out = drill(Scenario::Unplanned);
    let ex = &out.executions[0];
    assert!(ex.succeeded(), "{:?}", ex.error);
    let d = ex.decision();
    assert_eq!(d["outcome"], "go");
    assert_eq!(d["mode"], "unplanned");
    let writes = app_writes(&out);
    assert!(writes.contains(&&format!("rds:FailoverGlobalCluster@{STANDBY}")), "{writes:?}");
    assert!(writes.contains(&&format!("ecs:UpdateService@{STANDBY}")), "{writes:?}");
    assert!(writes.iter().all(|w| !w.ends_with(PRIMARY) || w.starts_with("route53:")), "nothing written in the failed region: {writes:?}");
    let moved = out.traffic_moved_at.expect("Route 53 answers only the standby");
    assert!(moved + DNS_TTL_SECONDS < 900.0, "modeled RTO {moved} s + TTL within the 15-minute objective");
    assert_eq!(ex.results()["verify"]["outcome"]["state"], "done");
    let lag = &ex.results()["db_start"]["detail"]["clusters"][0]["replication_lag_ms"];
    assert!(lag.is_u64(), "RPO evidence recorded: {lag}");
    assert!(event_types(&out).contains(&"run_succeeded".to_string()), "{:?}", event_types(&out));
}

#[test]
fn drill_mode_changes_nothing_and_reports_the_intended_writes() {
    let out = drill(Scenario::Drill);
    assert!(out.executions[0].succeeded());
    assert!(app_writes(&out).is_empty(), "a drill writes nothing: {:?}", app_writes(&out));
    let report = events(&out).into_iter().find(|e| e["event_type"] == "run_succeeded").expect("a report");
    assert_eq!(report["mode"], "drill");
    assert!(report.to_string().contains("FailoverGlobalCluster"), "the report lists the intended writes");
    assert!(out.traffic_moved_at.is_none(), "traffic stays where it is");
}

#[test]
fn planned_switchover_loses_no_data() {
    let out = drill(Scenario::Planned);
    assert!(out.executions[0].succeeded());
    let writes = app_writes(&out);
    assert!(writes.contains(&&format!("rds:SwitchoverGlobalCluster@{STANDBY}")), "{writes:?}");
    assert!(!writes.iter().any(|w| w.starts_with("rds:FailoverGlobalCluster")), "{writes:?}");
    assert_eq!(out.executions[0].results()["traffic"]["outcome"]["state"], "done", "weights moved and in sync");
}

#[test]
fn with_the_route53_api_down_traffic_moves_through_the_gate() {
    let out = drill(Scenario::Route53Down);
    let ex = &out.executions[0];
    assert!(ex.succeeded(), "{:?}", ex.error);
    assert_eq!(ex.results()["traffic"]["outcome"]["state"], "degraded");
    assert!(out.traffic_moved_at.is_some(), "the gate took the old primary out of DNS");
    assert!(event_types(&out).contains(&"step_degraded".to_string()));
}

#[test]
fn failback_after_an_unplanned_failover() {
    let out = drill(Scenario::Failback);
    assert_eq!(out.executions.len(), 2);
    assert!(out.executions.iter().all(|e| e.succeeded()));
    let back = out.executions[1].decision();
    assert_eq!(back["outcome"], "go", "{back}");
    assert_eq!(back["mode"], "failback");
    assert_eq!(back["to_region"], PRIMARY);
    assert_eq!(out.executions[1].results()["verify"]["outcome"]["state"], "done");
}

#[test]
fn a_step_that_fails_for_good_is_reported_and_a_resume_completes_the_run() {
    let out = drill(Scenario::Resume);
    let (failed, resumed) = (&out.executions[0], &out.executions[1]);
    assert!(failed.error.is_some(), "the first execution fails");
    assert!(failed.states_entered().contains(&"ReportFailure".to_string()));
    assert!(event_types(&out).contains(&"run_failed".to_string()), "{:?}", event_types(&out));
    assert!(resumed.succeeded(), "{:?}", resumed.error);
    assert_eq!(
        resumed.decision()["fencing_token"], failed.decision()["fencing_token"],
        "the resume runs under the lease the failed run kept"
    );
    assert_eq!(resumed.results()["compute"]["outcome"]["state"], "done");
}

#[test]
fn two_triggers_at_once_one_execution_does_the_work() {
    let out = drill(Scenario::Duplicate);
    let working: Vec<_> = out.executions.iter().filter(|e| e.states_entered().iter().any(|s| s == "Recover")).collect();
    assert_eq!(working.len(), 1);
    let idle = out.executions.iter().find(|e| !e.states_entered().iter().any(|s| s == "Recover")).unwrap();
    assert_eq!(idle.decision()["outcome"], "already_running");
    assert_eq!(idle.decision()["run_id"], working[0].decision()["run_id"]);
    let failovers = out.writes.iter().filter(|w| w.starts_with("rds:FailoverGlobalCluster")).count();
    assert_eq!(failovers, 1, "{:?}", out.writes);
}

#[test]
fn the_state_machine_definition_is_valid_asl() {
    let root = drover_harness::workspace_root();
    let out = std::process::Command::new("node")
        .arg("--require")
        .arg(root.join("tests/sfn/polyfill.cjs"))
        .arg(root.join("tests/sfn/run.mjs"))
        .args(["--validate-only", "--asl"])
        .arg(root.join(drover_drill::ASL))
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("ValidDefinition"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
}
