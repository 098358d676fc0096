//! The game-day drill: the failover state machine from infra/, run locally end to end.
//!
//! The emulator stands in for AWS in both regions, on a modeled clock; each region's
//! application endpoint is a local HTTP server; the function binaries run as Lambdas under
//! `cargo lambda watch`, configured for the region they activate as Terraform configures them;
//! the ASL from `infra/modules/orchestrator/failover.asl.json` is executed by
//! `tests/sfn/run.mjs`, its Task states invoking those Lambdas. Signals flow as in AWS: the
//! probe Lambda publishes its metrics, the emulator's alarm evaluates them, and the alarm's
//! state change becomes the EventBridge event that starts the execution.

pub mod report;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drover_harness::{AppEndpoint, Emulator, FaultKind, LambdaWatch, workspace_root};
use report::Report;
use serde_json::{Value, json};

pub const FUNCTIONS: &[&str] = &["probe", "decide", "promote-db", "scale-compute", "shift-traffic", "verify", "notify"];
pub const ASL: &str = "infra/modules/orchestrator/failover.asl.json";
/// The seeded records' TTL: resolvers may keep the old answer this long.
pub const DNS_TTL_SECONDS: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The primary region goes down; the probe's alarm starts the failover.
    Unplanned,
    /// Both regions healthy; a person asks for a switchover.
    Planned,
    /// Game day: a person asks for a drill; nothing may change.
    Drill,
    /// An unplanned failover, then the old primary comes back and a person fails back to it.
    Failback,
    /// The Route 53 API fails during a switchover: traffic moves through the gate only.
    Route53Down,
    /// A step fails for good (ECS refuses every call): the failure is reported, the lease is
    /// kept; once ECS recovers a person resumes the run and it completes.
    Resume,
    /// Two alarm events at once: two executions start, one does the work.
    Duplicate,
}

impl Scenario {
    pub fn parse(s: &str) -> Option<Scenario> {
        Some(match s {
            "unplanned" => Scenario::Unplanned,
            "planned" => Scenario::Planned,
            "drill" => Scenario::Drill,
            "failback" => Scenario::Failback,
            "route53-down" => Scenario::Route53Down,
            "resume" => Scenario::Resume,
            "duplicate" => Scenario::Duplicate,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Unplanned => "unplanned",
            Scenario::Planned => "planned",
            Scenario::Drill => "drill",
            Scenario::Failback => "failback",
            Scenario::Route53Down => "route53-down",
            Scenario::Resume => "resume",
            Scenario::Duplicate => "duplicate",
        }
    }

    pub const ALL: [Scenario; 7] = [
        Scenario::Unplanned,
        Scenario::Planned,
        Scenario::Drill,
        Scenario::Failback,
        Scenario::Route53Down,
        Scenario::Resume,
        Scenario::Duplicate,
    ];
}

#[derive(Debug, Clone)]
pub struct Options {
    pub speed: f64,
    pub primary: String,
    pub standby: String,
    pub reports: PathBuf,
    /// Build the function binaries first (cargo build), so that their first start is quick.
    pub build: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            speed: 1.0,
            primary: "us-east-1".into(),
            standby: "us-west-2".into(),
            reports: workspace_root().join("reports"),
            build: true,
        }
    }
}

/// One execution of the state machine, as the local runner reported it.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// Every event line, with `t` (epoch ms) as the runner stamped it.
    pub events: Vec<Value>,
    /// The final state on success.
    pub output: Option<Value>,
    /// `(Error, Cause)` on failure.
    pub error: Option<(String, String)>,
}

impl Execution {
    pub fn succeeded(&self) -> bool {
        self.output.is_some()
    }

    /// decide's answer: from the final state, or from the last state that carried it.
    pub fn decision(&self) -> Value {
        if let Some(d) = self.output.as_ref().map(|o| o["decision"].clone()).filter(|d| !d.is_null()) {
            return d;
        }
        self.events.iter().rev().find_map(|e| e["state"]["output"].get("decision").cloned()).unwrap_or(Value::Null)
    }

    /// The final results of the steps (`results` of the final state).
    pub fn results(&self) -> Value {
        self.output.as_ref().map(|o| o["results"].clone()).unwrap_or(Value::Null)
    }

    /// Names of the states entered, in order.
    pub fn states_entered(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["type"] == "StateEntered")
            .filter_map(|e| e["state"]["name"].as_str().map(str::to_string))
            .collect()
    }
}

/// Everything a drill produced: the report and the raw facts behind it, for tests.
pub struct Outcome {
    pub report: Report,
    pub executions: Vec<Execution>,
    /// Mutating AWS calls during the scenario, as "service:Action@region".
    pub writes: Vec<String>,
    /// Messages published to the activated region's topic.
    pub published: Vec<Value>,
    /// Modeled seconds from the failure until Route 53 answered only the new region.
    pub traffic_moved_at: Option<f64>,
    pub emulator: Emulator,
    pub topology: drover_core::Topology,
}

/// The running world of a drill: emulator, application endpoints, the Lambdas of each region.
struct World {
    emu: Emulator,
    topology: drover_core::Topology,
    topology_json: String,
    apps: BTreeMap<String, AppEndpoint>,
    speed: f64,
    /// (modeled, real) at the origin of the timeline.
    origin: (f64, Instant),
}

impl World {
    fn new(o: &Options) -> Result<World, String> {
        let emu = Emulator::start(o.speed);
        let seeded = emu.seed(&o.primary, &o.standby);
        let mut topology = drover_core::Topology::from_json(&seeded).map_err(|e| e.to_string())?;
        let mut apps = BTreeMap::new();
        for r in &mut topology.regions {
            let app = AppEndpoint::start(&r.name);
            r.alb.health_url = app.url.clone();
            apps.insert(r.name.clone(), app);
        }
        let topology_json = serde_json::to_string(&topology).map_err(|e| e.to_string())?;
        let origin = (emu.modeled_now(), Instant::now());
        Ok(World { emu, topology, topology_json, apps, speed: o.speed, origin })
    }

    /// Restarts the timeline at the failure (or the request).
    fn mark_origin(&mut self) {
        self.origin = (self.emu.modeled_now(), Instant::now());
    }

    /// Modeled seconds since the origin.
    fn since(&self) -> f64 {
        self.emu.modeled_now() - self.origin.0
    }

    /// Modeled seconds since the origin for wall-clock epoch-ms timestamps (the emulator
    /// knows where each wall-clock instant fell on its clock, across waits it jumped over).
    fn at_all(&self, epoch_ms: &[f64]) -> Vec<f64> {
        if epoch_ms.is_empty() {
            return Vec::new();
        }
        let wall: Vec<f64> = epoch_ms.iter().map(|t| t / 1000.0).collect();
        let v = self.emu.control("POST", "/_drover/clock/at", Some(json!({ "wall": wall })));
        v["modeled"].as_array().map(|a| a.iter().map(|m| m.as_f64().unwrap_or(0.0) - self.origin.0).collect()).unwrap_or_default()
    }

    fn lambdas(&self, region: &str) -> LambdaWatch {
        // One probe per invocation, quick timeouts: the drill paces probes on the modeled clock.
        let probe_env = [
            ("DROVER_PROBE_COUNT", "1"),
            ("DROVER_PROBE_INTERVAL_MS", "50"),
            ("DROVER_PROBE_TIMEOUT_MS", "500"),
            ("DROVER_DECIDE_PEER_TIMEOUT_MS", "1500"),
        ];
        let watch = LambdaWatch::start(&self.emu, &self.topology_json, region, &probe_env);
        // Start every function once before the clock matters (cargo runs each on first use).
        for f in FUNCTIONS {
            if *f == "probe" {
                continue;
            }
            let _ = watch.invoke(f, &json!({"warm_up": true}));
        }
        watch
    }

    fn region_down(&self, region: &str) {
        self.emu.region_down(region);
        if let Some(app) = self.apps.get(region) {
            app.set_up(false);
        }
    }

    fn region_up(&self, region: &str) {
        self.emu.region_up(region);
        if let Some(app) = self.apps.get(region) {
            app.set_up(true);
        }
    }

    /// Runs the probe in `watcher` every 10 modeled seconds until the alarm watching `failing`
    /// from there goes to ALARM; returns the EventBridge event of that state change.
    fn detect(&self, lambdas: &LambdaWatch, failing: &str, budget_modeled: f64) -> Result<Value, String> {
        let signal = self
            .topology
            .signals_watching(failing)
            .find(|s| s.region == lambdas.region)
            .ok_or_else(|| format!("no signal in {} watches {failing}", lambdas.region))?
            .clone();
        let start = self.since();
        loop {
            // Each probe result closes a ten-second period: the first one after the failure
            // lands at the end of the period the failure began in.
            self.emu.control("POST", "/_drover/clock", Some(json!({"advance": 10.0})));
            lambdas.invoke("probe", &scheduled_event(&lambdas.region)).map_err(|(t, m)| format!("probe: {t}: {m}"))?;
            let alarmed = self
                .emu
                .alarm_transitions()
                .into_iter()
                .rev()
                .find(|t| t["alarm_name"] == signal.alarm_name.as_str() && t["region"] == lambdas.region.as_str());
            if let Some(t) = alarmed.filter(|t| t["to"] == "ALARM") {
                return Ok(alarm_event(&lambdas.region, &signal.alarm_name, t["reason"].as_str().unwrap_or("")));
            }
            if self.since() - start > budget_modeled {
                return Err(format!("{} not in ALARM after {budget_modeled} modeled seconds of probing", signal.alarm_name));
            }
        }
    }

    /// Executes the state machine in `lambdas`' region with `input`; every event is timestamped.
    fn execute(&self, lambdas: &LambdaWatch, input: &Value, approve: bool) -> Result<Execution, String> {
        let sfn = workspace_root().join("tests/sfn");
        let mut cmd = Command::new("node");
        cmd.arg("--require")
            .arg(sfn.join("polyfill.cjs"))
            .arg(sfn.join("run.mjs"))
            .args(["--asl", &workspace_root().join(ASL).to_string_lossy()])
            .args(["--region", &lambdas.region, "--invoke", &lambdas.invoke_url])
            .args(["--speed", &self.speed.to_string()])
            .args(["--emulator", &self.emu.endpoint])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if approve {
            cmd.arg("--approve");
        }
        let mut child = cmd.spawn().map_err(|e| format!("node: {e} (is Node.js installed? run `make setup`)"))?;
        child.stdin.take().ok_or("runner stdin")?.write_all(input.to_string().as_bytes()).map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("runner stdout")?;
        let mut ex = Execution::default();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if let Some(out) = v.get("result") {
                ex.output = Some(out.clone());
            } else if let Some(err) = v.get("error") {
                ex.error = Some((err.as_str().unwrap_or("?").to_string(), v["cause"].as_str().unwrap_or("").to_string()));
            }
            ex.events.push(v);
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if ex.output.is_none() && ex.error.is_none() {
            return Err(format!("the state machine runner ended ({status}) without a result"));
        }
        Ok(ex)
    }

    /// Polls Route 53's data plane in the background; the first modeled time it answers only
    /// `region`'s record.
    fn watch_dns(&self, region: &str) -> DnsWatch {
        let r53 = self.topology.region(region).map(|r| r.route53.clone()).ok();
        let emu_endpoint = self.emu.endpoint.clone();
        let first = Arc::new(Mutex::new(None::<f64>));
        let stop = Arc::new(AtomicBool::new(false));
        let (first2, stop2, region) = (first.clone(), stop.clone(), region.to_string());
        let handle = std::thread::spawn(move || {
            let Some(r53) = r53 else { return };
            let control = drover_harness::ControlClient::new(&emu_endpoint);
            while !stop2.load(Ordering::Relaxed) {
                let a = control.dns_answer(&r53.hosted_zone_id, &r53.record_name, r53.record_type.as_str());
                let sets: Vec<&str> = a["answers"].as_array().map(|v| v.iter().filter_map(|x| x["set_identifier"].as_str()).collect()).unwrap_or_default();
                if sets == [region.as_str()] {
                    let mut f = first2.lock().unwrap();
                    if f.is_none() {
                        *f = Some(epoch_ms());
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        DnsWatch { first, stop, handle: Some(handle) }
    }

    /// Timeline spans from the runner's state events, grouped by step.
    fn spans(&self, report: &mut Report, ex: &Execution, label: &str) {
        let group = |state: &str| -> Option<&'static str> {
            Some(match state {
                "Decide" => "decide",
                "AwaitApproval" => "approval",
                s if s.starts_with("PromoteDb") || s == "WaitDb" => "promote-db",
                s if s.starts_with("ScaleCompute") || s == "WaitCompute" => "scale-compute",
                s if s.starts_with("ShiftTraffic") || s.starts_with("Traffic") || s == "WaitTraffic" => "shift-traffic",
                "Verify" => "verify",
                "Report" | "ReportFailure" => "notify (report, lease)",
                _ => return None,
            })
        };
        let named: Vec<(&str, f64)> = ex
            .events
            .iter()
            .filter_map(|e| Some((group(e["state"]["name"].as_str()?)?, e["t"].as_f64()?)))
            .collect();
        let modeled = self.at_all(&named.iter().map(|(_, t)| *t).collect::<Vec<_>>());
        let mut order: Vec<&str> = Vec::new();
        let mut bounds: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for ((g, _), t) in named.iter().zip(modeled) {
            let b = bounds.entry(g).or_insert_with(|| {
                order.push(g);
                (t, t)
            });
            b.0 = b.0.min(t);
            b.1 = b.1.max(t);
        }
        let results = ex.output.as_ref().map(|o| o["results"].clone()).unwrap_or(Value::Null);
        for g in order {
            let (s, e) = bounds[g];
            let r = match g {
                "promote-db" => &results["db"],
                "scale-compute" => &results["compute"],
                "shift-traffic" => &results["traffic"],
                "verify" => &results["verify"],
                _ => &Value::Null,
            };
            let outcome = r["outcome"]["state"].as_str().unwrap_or(if ex.succeeded() || g == "decide" { "done" } else { "failed" });
            let detail = r["message"].as_str().map(str::to_string).unwrap_or_default();
            report.span(&format!("{label}{g}"), s, e, outcome, detail);
        }
    }
}

struct DnsWatch {
    first: Arc<Mutex<Option<f64>>>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl DnsWatch {
    /// Modeled seconds since the origin at which Route 53 first answered only the region.
    fn finish(mut self, w: &World) -> Option<f64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let first = *self.first.lock().unwrap();
        first.and_then(|t| w.at_all(&[t]).first().copied())
    }
}

fn epoch_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn scheduled_event(region: &str) -> Value {
    json!({
        "version": "0", "id": uuid(), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(), "region": region,
        "resources": [format!("arn:aws:events:{region}:123456789012:rule/drover-probe")], "detail": {}
    })
}

/// The event EventBridge delivers for an alarm's state change.
pub fn alarm_event(region: &str, alarm: &str, reason: &str) -> Value {
    let now = chrono::Utc::now();
    let ts = now.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    json!({
        "version": "0", "id": uuid(), "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": reason, "timestamp": ts},
            "previousState": {"value": "OK", "reason": "", "timestamp": ts},
            "configuration": {"metrics": []}
        }
    })
}

fn manual(action: &str, target: &str, reason: &str) -> Value {
    json!({"action": action, "target_region": target, "reason": reason, "requested_by": "drover drill"})
}

fn uuid() -> String {
    format!("{:x}-drill", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0))
}

/// Builds the function binaries so that `cargo lambda watch` starts them without compiling.
pub fn build_functions() -> Result<(), String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build").arg("--quiet").current_dir(workspace_root());
    for f in FUNCTIONS {
        cmd.args(["-p", f]);
    }
    let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build of the functions failed: {status}")) }
}

/// Runs one scenario end to end and returns its report and facts.
pub fn run(scenario: Scenario, o: &Options) -> Result<Outcome, String> {
    let wall = Instant::now();
    if o.build {
        build_functions()?;
    }
    let mut w = World::new(o)?;
    let (primary, standby) = (o.primary.as_str(), o.standby.as_str());
    let standby_lambdas = w.lambdas(standby);
    let mut report = Report {
        title: format!("drover drill: {} {} ({primary} -> {standby})", w.topology.application, scenario.name()),
        scenario: describe(scenario, primary, standby),
        ..Report::default()
    };
    // A baseline probe while everything is healthy, as the schedule would have run.
    standby_lambdas.invoke("probe", &scheduled_event(standby)).map_err(|(t, m)| format!("probe: {t}: {m}"))?;
    w.emu.clear_calls();
    w.mark_origin();

    let mut executions = Vec::new();
    let input = match scenario {
        Scenario::Route53Down => {
            // Both regions up, Route 53's API failing: a person moves traffic anyway.
            w.emu.fault("route53", "*", "ChangeResourceRecordSets", FaultKind::Error5xx, None);
            w.emu.fault("route53", "*", "ListResourceRecordSets", FaultKind::Error5xx, None);
            manual("switchover", standby, "region rotation while the Route 53 API is impaired (drill scenario)")
        }
        Scenario::Resume => {
            // ECS in the standby refuses every UpdateService: scale-compute fails for good.
            w.emu.fault("ecs", standby, "UpdateService", FaultKind::Error5xx, None);
            let mut m = manual("failover", standby, "drill scenario: a step that fails for good, then a resume");
            m["force"] = json!({"quorum": true});
            m
        }
        Scenario::Unplanned | Scenario::Failback | Scenario::Duplicate => {
            w.region_down(primary);
            let event = w.detect(&standby_lambdas, primary, 600.0)?;
            report.span("detect (probe -> alarm)", 0.0, w.since(), "done", format!("{} in ALARM", event["detail"]["alarmName"].as_str().unwrap_or("?")));
            event
        }
        Scenario::Planned => manual("switchover", standby, "planned region rotation (drill scenario)"),
        Scenario::Drill => manual("drill", standby, "game day"),
    };
    let dns = w.watch_dns(standby);
    if scenario == Scenario::Duplicate {
        // Both alarm deliveries start an execution at the same moment.
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| w.execute(&standby_lambdas, &input, true));
            let b = scope.spawn(|| w.execute(&standby_lambdas, &input, true));
            (a.join(), b.join())
        });
        for ex in [a, b] {
            executions.push(ex.map_err(|_| "an execution thread panicked".to_string())??);
        }
        // The execution that did the work first: the summary describes it.
        executions.sort_by_key(|e| !e.states_entered().iter().any(|s| s == "Recover"));
        let working = executions.iter().filter(|e| e.states_entered().iter().any(|s| s == "Recover")).count();
        report.fact("Executions that did the work", format!("{working} of {}", executions.len()));
        w.spans(&mut report, &executions[0], "");
    } else {
        let ex = w.execute(&standby_lambdas, &input, true)?;
        w.spans(&mut report, &ex, "");
        executions.push(ex);
    }
    if scenario == Scenario::Resume {
        let failed = &executions[0];
        report.fact(
            "First execution",
            match &failed.error {
                Some((e, c)) => format!("{e}: {c}"),
                None => "succeeded (the fault did not stop it)".into(),
            },
        );
        // The person looked, ECS recovered: resume the same run (same lease, same token).
        w.emu.clear_faults();
        let decision = Some(failed.decision()).filter(|d| !d.is_null()).ok_or("the failed execution has no decision to resume")?;
        let resume_start = w.since();
        let ex = w.execute(&standby_lambdas, &json!({ "resume": true, "decision": decision }), true)?;
        let offset = report.spans.len();
        w.spans(&mut report, &ex, "resume: ");
        for sp in &mut report.spans[offset..] {
            sp.start = sp.start.max(resume_start);
        }
        executions.push(ex);
    }
    let traffic_moved_at = dns.finish(&w);

    if scenario == Scenario::Failback {
        // The old primary returns; a person fails back to it from there.
        w.region_up(primary);
        w.emu.clear_faults();
        // The old primary rejoined as a secondary: Aurora reports its replication lag again.
        for c in &w.topology.region(primary).map_err(|e| e.to_string())?.aurora {
            w.emu.set_replication_lag(primary, &c.cluster_id, 180);
        }
        let primary_lambdas = w.lambdas(primary);
        let back_start = w.since();
        let dns_back = w.watch_dns(primary);
        let ex = w.execute(&primary_lambdas, &manual("failback", primary, "primary region recovered"), true)?;
        let back = dns_back.finish(&w);
        let offset = report.spans.len();
        w.spans(&mut report, &ex, "failback: ");
        for s in &mut report.spans[offset..] {
            s.start = s.start.max(back_start);
        }
        if let Some(t) = back {
            report.fact("Failback: traffic back on the old primary", format!("{:.1} s after the failback request", t - back_start));
        }
        let d = ex.decision();
        report.fact(
            "Failback",
            match (&ex.error, d["outcome"].as_str()) {
                (Some((e, c)), _) => format!("FAILED: {e}: {c}"),
                (None, Some("go")) => format!("succeeded, fencing token {}", d["fencing_token"]),
                (None, other) => format!("{}: {}", other.unwrap_or("?"), d["message"].as_str().unwrap_or("")),
            },
        );
        executions.push(ex);
    }

    let writes = w.emu.writes();
    let topic = w.topology.region(standby).map_err(|e| e.to_string())?.sns.topic_arn.clone();
    let published = w.emu.sns_messages(&topic);
    summarize(&mut report, scenario, &executions, traffic_moved_at, &writes, &published, &w);
    report.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(Outcome { report, executions, writes, published, traffic_moved_at, emulator: w.emu, topology: w.topology })
}

fn describe(s: Scenario, primary: &str, standby: &str) -> String {
    match s {
        Scenario::Unplanned => format!("unplanned: {primary} goes down; the probe in {standby} raises its alarm; the failover runs in {standby}"),
        Scenario::Planned => format!("planned: both regions healthy; a switchover to {standby} is requested"),
        Scenario::Drill => format!("drill: a game day in {standby}; every step reads and reports, nothing changes"),
        Scenario::Failback => format!("failback: unplanned failover to {standby}, then {primary} recovers and a person fails back"),
        Scenario::Resume => format!("resume: a failover to {standby} whose scale-compute fails for good (ECS refuses every update); the failure is reported with the lease kept; ECS recovers and the run is resumed"),
        Scenario::Duplicate => format!("duplicate: {primary} goes down and the alarm event starts two executions at once in {standby}"),
        Scenario::Route53Down => format!("route53-down: both regions healthy, the Route 53 API failing; a switchover to {standby} must move traffic through the gate"),
    }
}

fn summarize(report: &mut Report, s: Scenario, exs: &[Execution], traffic_at: Option<f64>, writes: &[String], published: &[Value], w: &World) {
    let first = &exs[0];
    let decision = first.decision();
    report.fact(
        "Execution",
        match (&first.output, &first.error) {
            (Some(_), _) => format!("succeeded ({} states)", first.states_entered().len()),
            (None, Some((e, c))) => format!("FAILED: {e}: {c}"),
            _ => "no result".into(),
        },
    );
    if let Some(t) = decision["fencing_token"].as_u64() {
        report.fact("Fencing token", t.to_string());
    }
    if let Some(m) = decision["mode"].as_str() {
        report.fact("Mode (decided)", m);
    }
    if decision["outcome"] != "go" {
        report.fact("Decision", format!("{}: {}", decision["outcome"].as_str().unwrap_or("?"), decision["message"].as_str().unwrap_or("")));
    }
    let lags: Vec<String> = first
        .output
        .as_ref()
        .and_then(|o| o["results"]["db_start"]["detail"]["clusters"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| match c["replication_lag_ms"].as_u64() {
            Some(ms) => format!("{}: {ms} ms (budget {} ms)", c["global_cluster_id"].as_str().unwrap_or("?"), c["rpo_budget_ms"]),
            None => format!("{}: no datapoint", c["global_cluster_id"].as_str().unwrap_or("?")),
        })
        .collect();
    if !lags.is_empty() {
        report.fact("RPO evidence (replication lag at promotion)", lags.join(", "));
    }
    match (s, traffic_at) {
        (Scenario::Drill, _) => {}
        (_, Some(t)) => report.fact(
            "Measured RTO (modeled)",
            format!(
                "{:.1} s: {t:.1} s from the {} until Route 53 answers only the new region, plus the {DNS_TTL_SECONDS:.0} s record TTL for cached answers",
                t + DNS_TTL_SECONDS,
                if matches!(s, Scenario::Planned) { "request" } else { "failure" }
            ),
        ),
        (_, None) => report.fact("Measured RTO (modeled)", "traffic did not move to the new region".to_string()),
    }
    let types: Vec<String> = published
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m["message"].as_str().unwrap_or("")).ok())
        .map(|e| format!("{}{}", e["event_type"].as_str().unwrap_or("?"), e["step"].as_str().map(|s| format!("({s})")).unwrap_or_default()))
        .collect();
    report.fact("Events published", format!("{}: {}", types.len(), types.join(", ")));
    let app_writes: Vec<&String> = writes.iter().filter(|c| !c.starts_with("dynamodb:") && !c.starts_with("sns:")).collect();
    report.fact("AWS writes (besides the lease and the events)", if app_writes.is_empty() { "none".to_string() } else { format!("{}: {}", app_writes.len(), app_writes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) });
    let durations = w.emu.control("GET", "/_drover/durations", None);
    report.fact("Emulator durations (modeled s)", durations.to_string());
    report.fact("Modeled time speed factor", format!("{}", w.speed));
}
