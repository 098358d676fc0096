//! Test harness: starts the drover AWS emulator (tests/emulator) on a free loopback port and
//! drives its control API. Each `Emulator` is its own process; dropping it stops the process
//! (the emulator also exits when its stdin closes, so a crashed test leaves nothing behind).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Static credentials the emulator accepts.
pub const ACCESS_KEY: &str = "AKIDDROVERTEST";
pub const SECRET_KEY: &str = "drover-test-secret";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The project's virtual environment (made by `make setup`), or `DROVER_PYTHON`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("DROVER_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(venv.exists(), "{} is missing: run `make setup` first", venv.display());
    venv
}

pub struct Emulator {
    pub endpoint: String,
    addr: String,
    child: Child,
    _stdin: ChildStdin,
}

#[derive(Debug, Clone, Copy)]
pub enum FaultKind {
    Throttle,
    Error5xx,
    Latency(u64),
    Drop,
}

impl Emulator {
    /// Starts an emulator with modeled time running `speed` times faster than real time.
    pub fn start(speed: f64) -> Emulator {
        let mut child = Command::new(python())
            .args([
                "-m",
                "drover_emulator",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--speed",
                &speed.to_string(),
            ])
            .current_dir(workspace_root().join("tests/emulator"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the emulator");
        let stdin = child.stdin.take().expect("emulator stdin");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the emulator's ready line");
        let ready: Value =
            serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("emulator ready line {line:?}: {e}"));
        let endpoint = ready["endpoint"].as_str().expect("endpoint in ready line").to_string();
        let addr = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
        Emulator { endpoint, addr, child, _stdin: stdin }
    }

    /// One control-API call; panics on a transport error or a non-2xx answer.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        ControlClient { addr: self.addr.clone() }.control(method, path, body)
    }

    /// A client of this emulator's control API that can move to another thread.
    pub fn control_client(&self) -> ControlClient {
        ControlClient { addr: self.addr.clone() }
    }

    pub fn reset(&self) {
        self.control("POST", "/_drover/reset", None);
    }

    pub fn set_speed(&self, speed: f64) {
        self.control("POST", "/_drover/clock", Some(json!({ "speed": speed })));
    }

    pub fn clock(&self) -> Value {
        self.control("GET", "/_drover/clock", None)
    }

    /// Modeled seconds since the epoch.
    pub fn modeled_now(&self) -> f64 {
        self.clock()["modeled_now"].as_f64().expect("modeled_now")
    }

    pub fn set_durations(&self, durations: Value) {
        self.control("POST", "/_drover/durations", Some(durations));
    }

    /// Injects a fault; `count` None means until cleared. Returns the fault id.
    pub fn fault(&self, service: &str, region: &str, action: &str, kind: FaultKind, count: Option<u32>) -> String {
        let (kind, latency_ms) = match kind {
            FaultKind::Throttle => ("throttle", 0),
            FaultKind::Error5xx => ("error5xx", 0),
            FaultKind::Latency(ms) => ("latency", ms),
            FaultKind::Drop => ("drop", 0),
        };
        let v = self.control(
            "POST",
            "/_drover/faults",
            Some(json!({ "service": service, "region": region, "action": action, "kind": kind, "latency_ms": latency_ms, "count": count })),
        );
        v["id"].as_str().unwrap_or_default().to_string()
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "/_drover/faults", None);
    }

    pub fn region_down(&self, region: &str) {
        self.control("POST", &format!("/_drover/regions/{region}/down"), Some(json!({})));
    }

    pub fn region_up(&self, region: &str) {
        self.control("POST", &format!("/_drover/regions/{region}/up"), Some(json!({})));
    }

    pub fn set_health_check(&self, id: &str, healthy: bool) {
        let status = if healthy { "healthy" } else { "unhealthy" };
        self.control("POST", &format!("/_drover/health-checks/{id}"), Some(json!({ "status": status })));
    }

    pub fn set_alarm(&self, region: &str, alarm_name: &str, state: &str) {
        self.control(
            "POST",
            "/_drover/alarms",
            Some(json!({ "region": region, "alarm_name": alarm_name, "state": state, "reason": "set by test" })),
        );
    }

    pub fn set_replication_lag(&self, region: &str, cluster_id: &str, lag_ms: u64) {
        self.control(
            "POST",
            "/_drover/replication-lag",
            Some(json!({ "region": region, "cluster_id": cluster_id, "lag_ms": lag_ms })),
        );
    }

    /// Every AWS call the emulator received, oldest first.
    pub fn calls(&self) -> Vec<Value> {
        match self.control("GET", "/_drover/calls", None) {
            Value::Array(a) => a,
            Value::Object(o) => o.get("calls").and_then(|c| c.as_array()).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The mutating calls among `calls()`, as "service:Action@region".
    pub fn writes(&self) -> Vec<String> {
        self.calls().iter().filter(|c| c["mutating"].as_bool() == Some(true)).map(call_name).collect()
    }

    /// The mutating calls that took effect (a 2xx answer): a refused or faulted call changes nothing.
    pub fn effective_writes(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| {
                c["mutating"].as_bool() == Some(true) && c["status"].as_u64().is_some_and(|s| (200..300).contains(&s))
            })
            .map(call_name)
            .collect()
    }

    pub fn clear_calls(&self) {
        self.control("DELETE", "/_drover/calls", None);
    }

    /// What was published to a topic: each `{"message_id", "message", "subject", "attributes": {name: value}}`, oldest first.
    pub fn sns_messages(&self, topic_arn: &str) -> Vec<Value> {
        let v = self.control("GET", &format!("/_drover/sns/messages?topic_arn={topic_arn}"), None);
        v["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Route 53's data plane: what a resolver is answered now for a weighted record set
    /// (`{"answers": [{"set_identifier", "values", "weight", "share", "ttl"}], "fail_open", "health"}`).
    pub fn dns_answer(&self, zone_id: &str, name: &str, record_type: &str) -> Value {
        self.control("GET", &format!("/_drover/dns/answer?zone_id={zone_id}&name={name}&type={record_type}"), None)
    }

    /// Every alarm state change so far, `{"region", "alarm_name", "from", "to", "reason", "modeled_time"}`.
    pub fn alarm_transitions(&self) -> Vec<Value> {
        let v = self.control("GET", "/_drover/alarm-transitions", None);
        v["transitions"].as_array().cloned().unwrap_or_default()
    }

    /// Creates the two-region topology and returns its config JSON (what Terraform would set).
    pub fn seed(&self, primary: &str, standby: &str) -> String {
        let out = std::env::temp_dir().join(format!(
            "drover-topology-{}-{}.json",
            std::process::id(),
            self.addr.replace([':', '.'], "-")
        ));
        let status = Command::new(python())
            .args(["-m", "drover_emulator", "seed", "--endpoint", &self.endpoint, "--out"])
            .arg(&out)
            .args(["--primary", primary, "--standby", standby])
            .current_dir(workspace_root().join("tests/emulator"))
            .stdout(Stdio::null())
            .status()
            .expect("run the seed command");
        assert!(status.success(), "seed failed: {status}");
        let raw = std::fs::read_to_string(&out).expect("read the seeded topology");
        let _ = std::fs::remove_file(&out);
        raw
    }
}

/// The emulator's control API, by address only (`Send`, cheap to clone).
#[derive(Clone, Debug)]
pub struct ControlClient {
    addr: String,
}

impl ControlClient {
    pub fn new(endpoint: &str) -> ControlClient {
        ControlClient { addr: endpoint.trim_start_matches("http://").trim_end_matches('/').to_string() }
    }

    /// One control-API call; panics on a transport error or a non-2xx answer.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the emulator");
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("send control request");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read control answer");
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!((200..300).contains(&status), "{method} {path} -> {head}\n{payload}");
        let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(payload)
        } else {
            payload.to_string()
        };
        if payload.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&payload).unwrap_or(Value::String(payload))
        }
    }


    /// Route 53's data plane for a weighted record set (see `Emulator::dns_answer`).
    pub fn dns_answer(&self, zone_id: &str, name: &str, record_type: &str) -> Value {
        self.control("GET", &format!("/_drover/dns/answer?zone_id={zone_id}&name={name}&type={record_type}"), None)
    }
}

/// A call-log entry as "service:Action@region".
pub fn call_name(c: &Value) -> String {
    format!(
        "{}:{}@{}",
        c["service"].as_str().unwrap_or("?"),
        c["action"].as_str().unwrap_or("?"),
        c["region"].as_str().unwrap_or("?")
    )
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A stand-in for one region's application endpoint (what the ALB's health URL answers):
/// `GET /healthz` answers 200 while the region is up; while it is down the listener refuses
/// connections, as an unreachable region would.
pub struct AppEndpoint {
    pub url: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl AppEndpoint {
    pub fn start(region: &str) -> AppEndpoint {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an app endpoint");
        let addr = listener.local_addr().expect("app endpoint address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let up = std::sync::Arc::new(AtomicBool::new(true));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (up2, stop2, region) = (up.clone(), stop.clone(), region.to_string());
        let worker = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        if !up2.load(Ordering::Relaxed) {
                            // Reset the connection: nothing answers in a region that is down.
                            drop(s);
                            continue;
                        }
                        s.set_nonblocking(false).ok();
                        s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                        let mut buf = [0u8; 2048];
                        let _ = s.read(&mut buf);
                        let body = format!("{{\"status\":\"ok\",\"region\":\"{region}\"}}");
                        let _ = write!(
                            s,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        AppEndpoint { url: format!("http://{addr}/healthz"), up, stop, addr, worker: Some(worker) }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Drop for AppEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// `cargo lambda`, installed from PyPI next to the project's Python (or `DROVER_CARGO_LAMBDA`).
pub fn cargo_lambda() -> PathBuf {
    if let Ok(p) = std::env::var("DROVER_CARGO_LAMBDA") {
        return PathBuf::from(p);
    }
    let beside = python().parent().map(|d| d.join("cargo-lambda")).filter(|p| p.exists());
    beside.unwrap_or_else(|| panic!("cargo-lambda not found next to {}: run `make setup`", python().display()))
}

/// The function binaries running as Lambdas under `cargo lambda watch`, configured for one
/// region as Terraform configures them (topology, region, the emulator as AWS). The watch
/// serves the Lambda Invoke API on `invoke_url`; each function starts on its first invocation.
pub struct LambdaWatch {
    pub invoke_url: String,
    pub region: String,
    pub log: PathBuf,
    addr: String,
    child: Child,
}

impl LambdaWatch {
    pub fn start(emu: &Emulator, topology_json: &str, region: &str, extra_env: &[(&str, &str)]) -> LambdaWatch {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("drover-lambda-watch-{region}-{port}.log"));
        let mut cmd = Command::new(cargo_lambda());
        cmd.args(["lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
            .arg("--ignore-changes")
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", region)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DROVER_REGION_SELF", region)
            .env("DROVER_TOPOLOGY", topology_json)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("watch log"));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start cargo lambda watch");
        let addr = format!("127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(&addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "cargo lambda watch did not listen on {port}; see {}", log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        LambdaWatch { invoke_url: format!("http://{addr}"), region: region.to_string(), log, addr, child }
    }

    /// Invokes a function through the Lambda Invoke API: Ok(result) or Err((errorType, errorMessage)).
    pub fn invoke(&self, function: &str, payload: &Value) -> Result<Value, (String, String)> {
        let body = payload.to_string();
        let mut stream = TcpStream::connect(&self.addr).expect("connect to cargo lambda watch");
        stream.set_read_timeout(Some(Duration::from_secs(600))).ok();
        write!(
            stream,
            "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("send invoke");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read invoke answer");
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(payload) } else { payload.to_string() };
        let v: Value = serde_json::from_str(payload.trim()).unwrap_or(Value::String(payload.clone()));
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let is_error = head.to_ascii_lowercase().contains("x-amz-function-error")
            || !(200..300).contains(&status)
            || (v.get("errorType").is_some() && v.get("errorMessage").is_some() && v.as_object().is_some_and(|o| o.len() <= 3));
        if is_error {
            let t = v["errorType"].as_str().unwrap_or("Lambda.ServiceException").to_string();
            let m = v["errorMessage"].as_str().map(str::to_string).unwrap_or_else(|| payload.clone());
            Err((t, m))
        } else {
            Ok(v)
        }
    }

    /// The last lines of the watch's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = s.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
