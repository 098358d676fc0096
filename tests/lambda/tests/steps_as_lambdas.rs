//! The step functions run as Lambdas: `cargo lambda watch` serves the Lambda Invoke API and
//! runs the real binaries (thin main, topology and clients from the environment Terraform
//! sets), `cargo lambda invoke` calls them, the emulator stands in for AWS in two regions.
//!
//! cargo-lambda comes from PyPI (`tests/emulator/requirements.txt`): the test looks for it next
//! to the project's Python (`.venv/bin`, or `DROVER_PYTHON`'s directory), then `DROVER_CARGO_LAMBDA`.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drover_core::Topology;
use drover_core::aws::ClientFactory;
use drover_core::aws::dynamodb::DynamoLease;
use drover_core::aws::factory::FactoryOptions;
use drover_core::ports::Lease;
use drover_harness::{Emulator, FaultKind, python, workspace_root};
use serde_json::{Value, json};

const PRIMARY: &str = "us-east-1";
const STANDBY: &str = "us-west-2";

fn cargo_lambda() -> PathBuf {
    if let Ok(p) = std::env::var("DROVER_CARGO_LAMBDA") {
        return PathBuf::from(p);
    }
    let beside_python = python().parent().map(|d| d.join("cargo-lambda"));
    match beside_python {
        Some(p) if p.exists() => p,
        _ => panic!(
            "cargo-lambda not found next to {}: run `make setup` (PyPI cargo-lambda is in tests/emulator/requirements.txt)",
            python().display()
        ),
    }
}

/// `cargo lambda watch` on a free port; killed on drop.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Watch {
    fn start(emu: &Emulator, topology: &str) -> Watch {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("drover-cargo-lambda-watch-{port}.log"));
        let child = Command::new(cargo_lambda())
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
                "--ignore-changes",
            ])
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_ACCESS_KEY_ID", drover_harness::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", drover_harness::SECRET_KEY)
            .env("AWS_REGION", STANDBY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DROVER_REGION_SELF", STANDBY)
            .env("DROVER_TOPOLOGY", topology)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start cargo lambda watch");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "cargo lambda watch did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Watch { child, port, log }
    }

    /// Invokes a function; Ok(result JSON) or Err(the error cargo lambda printed, with its type).
    fn invoke(&self, function: &str, payload: &Value) -> Result<Value, String> {
        let out = Command::new(cargo_lambda())
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port.to_string(),
            ])
            .args(["--output-format", "json", "--data-ascii", &payload.to_string()])
            .current_dir(workspace_root())
            .output()
            .expect("run cargo lambda invoke");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            serde_json::from_str(stdout.trim()).map_err(|e| format!("not JSON ({e}): {stdout}"))
        } else {
            Err(format!("{}{}", stdout, String::from_utf8_lossy(&out.stderr)))
        }
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        s.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state(r: &Value) -> &str {
    r["outcome"]["state"].as_str().unwrap_or("?")
}

/// Start, then status while in progress (the state machine's Wait shortened: modeled time runs fast).
fn converge(watch: &Watch, function: &str, mut input: Value) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut results = Vec::new();
    loop {
        let r = watch
            .invoke(function, &input)
            .unwrap_or_else(|e| panic!("{function}: {e}\n--- watch log ---\n{}", watch.log_tail()));
        if let Some(id) = r["detail"]["change_id"].as_str() {
            input["change_id"] = json!(id);
        }
        let settled = state(&r) != "in_progress";
        results.push(r);
        if settled {
            return results;
        }
        assert!(Instant::now() < deadline, "{function} did not settle: {:#}", results.last().unwrap());
        input["action"] = json!("status");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_steps_run_as_lambdas_drill_then_failover() {
    let emu = Emulator::start(60.0);
    let raw = emu.seed(PRIMARY, STANDBY);
    let topology = Topology::from_json(&raw).expect("seeded topology");
    let factory = ClientFactory::with_options(FactoryOptions {
        endpoint_url: Some(emu.endpoint.clone()),
        static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
        max_attempts: None,
    });
    let clients = factory.region(STANDBY).await.unwrap();
    let lease = DynamoLease::new(&clients, &topology.region(STANDBY).unwrap().lease_table);
    let grant = lease.acquire("lambda-test", "run-lambda", Duration::from_secs(900)).await.unwrap();
    let watch = Watch::start(&emu, &raw);
    let base = |mode: &str| json!({ "run_id": "run-lambda", "fencing_token": grant.fencing_token, "mode": mode, "from_region": PRIMARY, "to_region": STANDBY, "action": "start" });

    // A drill through the real binaries: every step done, intended writes listed, nothing written.
    emu.clear_calls();
    let mut drill_results = Vec::new();
    for f in ["promote-db", "scale-compute", "shift-traffic"] {
        let r = watch
            .invoke(f, &base("drill"))
            .unwrap_or_else(|e| panic!("{f}: {e}\n--- watch log ---\n{}", watch.log_tail()));
        assert_eq!(state(&r), "done", "{f}: {r:#}");
        assert!(
            r["writes"].as_array().is_some_and(|w| !w.is_empty() && w.iter().all(|w| w["status"] == "intended")),
            "{f}: {r:#}"
        );
        drill_results.push(r);
    }
    assert!(emu.writes().is_empty(), "a drill writes nothing: {:?}", emu.writes());
    let intended: usize = drill_results.iter().map(|r| r["writes"].as_array().map_or(0, |w| w.len())).sum();
    let report = watch
        .invoke("notify", &json!({ "event_type": "run_succeeded", "run_id": "run-lambda", "mode": "drill", "from_region": PRIMARY, "to_region": STANDBY, "results": drill_results }))
        .unwrap();
    assert_eq!(state(&report), "done", "{report:#}");
    let topic = topology.region(STANDBY).unwrap().sns.topic_arn.clone();
    assert_eq!(report["detail"]["topic_arn"], topic.as_str());
    let sent = emu.sns_messages(&topic);
    let body: Value = serde_json::from_str(sent.last().unwrap()["message"].as_str().unwrap()).unwrap();
    assert_eq!(body["schema"], "drover.event/v1");
    assert_eq!(body["evidence"]["intended_writes"].as_array().unwrap().len(), intended, "{body:#}");

    // The errors Step Functions branches on: a stale token is NonRetryable, a 5xx storm Retryable.
    let mut stale = base("unplanned");
    stale["fencing_token"] = json!(grant.fencing_token + 100);
    let err = watch.invoke("promote-db", &stale).unwrap_err();
    assert!(err.contains("NonRetryable") && err.contains("stale"), "{err}");
    emu.fault("rds", STANDBY, "DescribeGlobalClusters", FaultKind::Error5xx, None);
    let err = watch.invoke("promote-db", &base("unplanned")).unwrap_err();
    assert!(err.contains("Error: Retryable"), "{err}");
    emu.clear_faults();
    let err = watch.invoke("promote-db", &json!({ "run_id": "x" })).unwrap_err();
    assert!(err.contains("NonRetryable") && err.contains("invalid step input"), "{err}");

    // A real unplanned failover, step by step, as the state machine would drive it.
    emu.clear_calls();
    let promote = converge(&watch, "promote-db", base("unplanned"));
    assert_eq!(promote[0]["writes"][0]["action"], "FailoverGlobalCluster");
    assert_eq!(promote[0]["detail"]["clusters"][0]["replication_lag_ms"], 200);
    assert_eq!(state(promote.last().unwrap()), "done");
    let scale = converge(&watch, "scale-compute", base("unplanned"));
    assert_eq!(state(scale.last().unwrap()), "done");
    let shift = converge(&watch, "shift-traffic", base("unplanned"));
    assert!(shift.len() >= 2, "polled the Route 53 change to INSYNC: {shift:#?}");
    assert_eq!(state(shift.last().unwrap()), "done");
    let writes = emu.writes();
    assert!(
        writes.iter().all(|c| c.ends_with(STANDBY) || c.starts_with("route53:")),
        "only the activated region (and Route 53): {writes:?}"
    );

    // Repeating any step now writes nothing.
    emu.clear_calls();
    for f in ["promote-db", "scale-compute", "shift-traffic"] {
        let r = watch.invoke(f, &base("unplanned")).unwrap();
        assert_eq!(state(&r), "done", "{f}: {r:#}");
    }
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
}
