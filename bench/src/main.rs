//! `make bench`: what drover's Lambdas cost, measured on this machine, against a Python/boto3
//! baseline written the way the common AWS samples write it.
//!
//! * Per function: cold start (process spawn → first response through a local Lambda Runtime
//!   API), warm latency (later invocations of the same process), peak RSS (VmHWM), release zip
//!   size (`cargo lambda build --release --output-format zip`, built by the Makefile first).
//! * Orchestration overhead: a full failover with every modeled duration zero, the steps run in
//!   the state machine's order through the Runtime API.
//! * Modeled RTO of the default unplanned scenario beside its physical floor.
//!
//! Writes `reports/bench.md` and `reports/bench.json`. Speed is measured here only, never
//! asserted in tests.

mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drover_harness::{Emulator, python, workspace_root};
use runtime_api::{Completed, RuntimeApi};
use serde_json::{Value, json};

const PRIMARY: &str = "us-east-1";
const STANDBY: &str = "us-west-2";
const FUNCTIONS: [&str; 7] = ["promote-db", "scale-compute", "shift-traffic", "notify", "decide", "probe", "readiness"];
/// The functions with a Python/boto3 twin in bench/python.
const BASELINE: [&str; 4] = ["promote-db", "scale-compute", "shift-traffic", "notify"];
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const DRILL_TIMEOUT_S: u64 = 900;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    cold: usize,
    warm_per_process: usize,
    runs: usize,
    out: PathBuf,
    drill: bool,
}

fn parse_args() -> BenchResult<Args> {
    let mut a = Args { cold: 10, warm_per_process: 5, runs: 5, out: workspace_root().join("reports"), drill: true };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--cold" => a.cold = value()?.parse()?,
            "--warm-per-process" => a.warm_per_process = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--out" => a.out = PathBuf::from(value()?),
            "--no-drill" => a.drill = false,
            _ => {
                return Err(
                    "usage: drover-bench [--cold N] [--warm-per-process N] [--runs N] [--out DIR] [--no-drill]".into(),
                );
            }
        }
    }
    if a.cold == 0 || a.runs == 0 {
        return Err("--cold and --runs must be at least 1".into());
    }
    Ok(a)
}

fn main() {
    match parse_args().and_then(|a| bench(&a)) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

#[derive(Debug, Clone, Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, v: f64) {
        self.0.push(v);
    }
    fn sorted(&self) -> Vec<f64> {
        let mut s = self.0.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s
    }
    fn quantile(&self, q: f64) -> f64 {
        let s = self.sorted();
        if s.is_empty() {
            return f64::NAN;
        }
        let pos = q * (s.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
    }
    fn median(&self) -> f64 {
        self.quantile(0.5)
    }
    fn json(&self) -> Value {
        let s = self.sorted();
        if s.is_empty() {
            return Value::Null;
        }
        json!({
            "n": s.len(), "median": self.median(), "p10": self.quantile(0.1), "p90": self.quantile(0.9),
            "min": s[0], "max": s[s.len() - 1], "samples": self.0,
        })
    }
    /// "12.3 (10.1–15.0)": median, then the p10–p90 spread.
    fn fmt(&self, digits: usize) -> String {
        if self.0.is_empty() {
            return "—".into();
        }
        format!("{:.d$} ({:.d$}–{:.d$})", self.median(), self.quantile(0.1), self.quantile(0.9), d = digits)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 { format!("{:.2}", a / b) } else { "—".into() }
}

// ---------------------------------------------------------------------------------------------
// Machine load

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Other compilers and test processes running now (the machine is shared).
fn busy_processes() -> Vec<String> {
    let mut found = Vec::new();
    let me = std::process::id().to_string();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == me || !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) {
                let comm = comm.trim().to_string();
                if ["rustc", "cargo", "cc1", "ld", "node", "terraform", "pytest", "cargo-nextest"]
                    .iter()
                    .any(|p| comm.starts_with(p))
                {
                    found.push(comm);
                }
            }
        }
    }
    found.sort();
    found
}

fn machine_snapshot() -> Value {
    json!({ "loadavg_1_5_15": loadavg(), "busy_processes": busy_processes(), "at_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) })
}

// ---------------------------------------------------------------------------------------------
// Processes under the runtime API

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Rust,
    Python,
}

impl Lang {
    fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }
}

struct Env {
    endpoint: String,
    topology: String,
    work: PathBuf,
    health_url: String,
}

/// One function process and the runtime API it polls.
struct Instance {
    api: RuntimeApi,
    child: Child,
    spawned_at: Instant,
}

impl Instance {
    fn spawn(lang: Lang, function: &str, env: &Env) -> BenchResult<Instance> {
        let api = RuntimeApi::start(function)?;
        let mut cmd = match lang {
            Lang::Rust => Command::new(env.work.join("rust").join(function).join("bootstrap")),
            Lang::Python => {
                let mut c = Command::new(python());
                c.arg(workspace_root().join("bench/python/runtime_loop.py"))
                    .arg(format!("{}.handler", function.replace('-', "_")));
                c
            }
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.work.join(format!("{}-{function}.log", lang.name())))?;
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("drover-shop-{function}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/drover-shop-{function}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", STANDBY)
            .env("AWS_DEFAULT_REGION", STANDBY)
            .env("AWS_ACCESS_KEY_ID", drover_harness::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", drover_harness::SECRET_KEY)
            .env("AWS_ENDPOINT_URL", &env.endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DROVER_TOPOLOGY", &env.topology)
            .env("DROVER_REGION_SELF", STANDBY)
            .env("RUST_LOG", "info")
            // probe: three probes, back to back (the interval is a sleep, not work).
            .env("DROVER_PROBE_COUNT", "3")
            .env("DROVER_PROBE_INTERVAL_MS", "0")
            .env("DROVER_PROBE_TIMEOUT_MS", "2000")
            .env("BENCH_HEALTH_URL", &env.health_url)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        let spawned_at = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("spawn {} {function}: {e}", lang.name()))?;
        Ok(Instance { api, child, spawned_at })
    }

    fn invoke(&mut self, event: &Value) -> BenchResult<Completed> {
        let child = &mut self.child;
        let mut alive = || matches!(child.try_wait(), Ok(None));
        let c = self.api.invoke(&event.to_string(), INVOKE_TIMEOUT, &mut alive)?;
        Ok(c)
    }

    /// Peak resident set (VmHWM) so far, in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body_json(c: &Completed) -> Value {
    serde_json::from_str(&c.body).unwrap_or(Value::String(c.body.clone()))
}

fn expect_ok(what: &str, c: Completed) -> BenchResult<Completed> {
    if c.is_error {
        return Err(format!("{what} answered an error: {}", c.body).into());
    }
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// A local stand-in for the primary's health URL (the probe's target).

fn health_server() -> BenchResult<String> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = r#"{"status":"ok"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(format!("http://{addr}/healthz"))
}

/// The seeded topology with the primary's health URL pointed at the local stand-in.
fn topology_for_bench(raw: &str, health_url: &str) -> BenchResult<String> {
    let mut t: Value = serde_json::from_str(raw)?;
    if let Some(regions) = t["regions"].as_array_mut() {
        for r in regions.iter_mut().filter(|r| r["name"] == PRIMARY) {
            r["alb"]["health_url"] = json!(health_url);
        }
    }
    Ok(t.to_string())
}

// ---------------------------------------------------------------------------------------------
// Artifacts

struct Artifacts {
    zip_bytes: std::collections::BTreeMap<String, u64>,
    binary_bytes: std::collections::BTreeMap<String, u64>,
    python: Value,
    arm64: Value,
}

fn unpack_artifacts(work: &Path) -> BenchResult<Artifacts> {
    let root = workspace_root();
    let mut zip_bytes = std::collections::BTreeMap::new();
    let mut binary_bytes = std::collections::BTreeMap::new();
    for f in FUNCTIONS {
        let zip = root.join("target/lambda").join(f).join("bootstrap.zip");
        let meta = std::fs::metadata(&zip)
            .map_err(|e| format!("{}: {e} (run `make bench`, which builds it with cargo lambda)", zip.display()))?;
        zip_bytes.insert(f.to_string(), meta.len());
        let dir = work.join("rust").join(f);
        std::fs::create_dir_all(&dir)?;
        // Run exactly what would be deployed: the bootstrap inside the zip (Python's zipfile:
        // no unzip needed on the machine; it drops the mode bits, so they are set again).
        let st = Command::new(python()).args(["-m", "zipfile", "-e"]).arg(&zip).arg(&dir).status()?;
        if !st.success() {
            return Err(format!("extract {}: {st}", zip.display()).into());
        }
        let bootstrap = dir.join("bootstrap");
        std::fs::set_permissions(&bootstrap, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        binary_bytes.insert(f.to_string(), std::fs::metadata(&bootstrap)?.len());
    }
    let out = Command::new(python())
        .arg(root.join("bench/python/package.py"))
        .arg(work.join("python-zips"))
        .args(BASELINE.map(|f| f.replace('-', "_")))
        .output()?;
    if !out.status.success() {
        return Err(format!("package.py: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let python: Value = serde_json::from_slice(&out.stdout)?;
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    let arm = installed
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("aarch64-unknown-linux-gnu"))
        .unwrap_or(false);
    let arm64 = if arm {
        let mut sizes = serde_json::Map::new();
        for f in FUNCTIONS {
            if let Ok(m) = std::fs::metadata(root.join("target/lambda-arm64").join(f).join("bootstrap.zip")) {
                sizes.insert(f.to_string(), json!(m.len()));
            }
        }
        json!({ "target_installed": true, "zip_bytes": sizes })
    } else {
        json!({ "target_installed": false, "note": "aarch64-unknown-linux-gnu is not installed (rustup target list --installed); not downloaded" })
    };
    Ok(Artifacts { zip_bytes, binary_bytes, python, arm64 })
}

// ---------------------------------------------------------------------------------------------
// Per-function measurements

/// The event each function is benchmarked with. `run` is the step input of a finished run
/// (its steps then answer `status` with reads only), `results` its steps' last results.
fn events(function: &str, run: &Value, results: &[Value]) -> Value {
    match function {
        "promote-db" | "scale-compute" | "shift-traffic" => {
            let mut e = run.clone();
            e["action"] = json!("status");
            if function == "shift-traffic" {
                let id =
                    results.iter().find(|r| r["step"] == "shift-traffic").map(|r| r["detail"]["change_id"].clone());
                if let Some(id) = id.filter(|v| v.is_string()) {
                    e["change_id"] = id;
                }
            }
            e
        }
        "notify" => {
            json!({ "event_type": "run_succeeded", "run_id": run["run_id"], "fencing_token": run["fencing_token"],
                            "mode": run["mode"], "from_region": PRIMARY, "to_region": STANDBY, "results": results })
        }
        "decide" => json!({ "action": "status", "target_region": STANDBY, "reason": "make bench: status",
                            "requested_by": "make bench" }),
        // probe and readiness are scheduled: an EventBridge Scheduled Event.
        _ => json!({ "version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": "123456789012", "time": "2026-12-03T00:00:00Z",
                     "region": STANDBY, "resources": [format!("arn:aws:events:{STANDBY}:123456789012:rule/drover-shop-{function}")],
                     "detail": {} }),
    }
}

#[derive(Default)]
struct FnStats {
    cold_ms: Samples,
    init_ms: Samples,
    warm_ms: Samples,
    /// Next answered → response posted: the warm latency without the wait for `next`.
    warm_handed_ms: Samples,
    rss_mib: Samples,
    calls: Vec<String>,
    errors: Vec<String>,
}

impl FnStats {
    fn json(&self) -> Value {
        json!({ "cold_start_ms": self.cold_ms.json(), "init_ms": self.init_ms.json(), "warm_ms": self.warm_ms.json(), "warm_handed_ms": self.warm_handed_ms.json(),
                "peak_rss_mib": self.rss_mib.json(), "aws_calls_per_invocation": self.calls, "errors": self.errors })
    }
}

fn call_names(emu: &Emulator) -> Vec<String> {
    emu.calls().iter().map(drover_harness::call_name).collect()
}

/// One process: a cold invocation, then `warm` more; records into `stats`. Returns the first answer.
fn one_process(
    lang: Lang,
    function: &str,
    env: &Env,
    event: &Value,
    warm: usize,
    stats: Option<&mut FnStats>,
    emu: Option<&Emulator>,
) -> BenchResult<Value> {
    let mut inst = Instance::spawn(lang, function, env)?;
    let first = expect_ok(function, inst.invoke(event)?)?;
    let cold = first.done_at - inst.spawned_at;
    let init = inst.api.first_next().map(|t| t - inst.spawned_at);
    let mut warm_samples = Vec::new();
    let mut calls = None;
    for i in 0..warm {
        // The last warm call of a recorded process also lists the AWS calls it made (outside the timing).
        let record = emu.is_some() && i + 1 == warm;
        if record && let Some(e) = emu {
            e.clear_calls();
        }
        let c = expect_ok(function, inst.invoke(event)?)?;
        warm_samples.push((ms(c.latency()), ms(c.done_at - c.handed_at)));
        if record && let Some(e) = emu {
            calls = Some(call_names(e));
        }
    }
    let rss = inst.peak_rss_mib();
    if let Some(s) = stats {
        s.cold_ms.push(ms(cold));
        if let Some(i) = init {
            s.init_ms.push(ms(i));
        }
        for (w, h) in warm_samples {
            s.warm_ms.push(w);
            s.warm_handed_ms.push(h);
        }
        if let Some(r) = rss {
            s.rss_mib.push(r);
        }
        if let Some(c) = calls {
            s.calls = c;
        }
    }
    Ok(body_json(&first))
}

fn measure_functions(args: &Args, emu: &Emulator, env: &Env, run: &Value, results: &[Value]) -> BenchResult<Value> {
    let mut out = serde_json::Map::new();
    for function in FUNCTIONS {
        let event = events(function, run, results);
        let langs: Vec<Lang> =
            if BASELINE.contains(&function) { vec![Lang::Rust, Lang::Python] } else { vec![Lang::Rust] };
        let mut per_lang: Vec<FnStats> = langs.iter().map(|_| FnStats::default()).collect();
        eprintln!(
            "bench: {function}: {} cold starts × {} ({})",
            args.cold,
            langs.len(),
            langs.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
        );
        // One discarded process per language: page cache, .pyc files, the emulator's lazy imports.
        for &lang in &langs {
            match one_process(lang, function, env, &event, 1, None, None) {
                Ok(first) => eprintln!("bench: {function} ({}) answers: {}", lang.name(), short(&first)),
                Err(e) => {
                    eprintln!("bench: {function} ({}): {e}", lang.name());
                    per_lang[langs.iter().position(|l| *l == lang).unwrap_or(0)].errors.push(e.to_string());
                }
            }
        }
        // Interleaved, so drift in the machine's load hits both languages alike.
        for i in 0..args.cold {
            for (k, &lang) in langs.iter().enumerate() {
                if !per_lang[k].errors.is_empty() {
                    continue;
                }
                let record = if i == 0 { Some(emu) } else { None };
                if let Err(e) =
                    one_process(lang, function, env, &event, args.warm_per_process, Some(&mut per_lang[k]), record)
                {
                    eprintln!("bench: {function} ({}): {e}", lang.name());
                    per_lang[k].errors.push(e.to_string());
                }
            }
        }
        let mut entry = serde_json::Map::new();
        entry.insert("event".into(), event.clone());
        for (k, lang) in langs.iter().enumerate() {
            entry.insert(lang.name().into(), per_lang[k].json());
        }
        out.insert(function.to_string(), Value::Object(entry));
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// Orchestration overhead: a full failover with zero modeled durations.

struct StepRun {
    invocations: usize,
    wall: Duration,
    reported_ms: f64,
    last: Value,
}

fn converge(inst: &mut Instance, function: &str, mut input: Value) -> BenchResult<StepRun> {
    let t = Instant::now();
    let (mut invocations, mut reported_ms) = (0, 0.0);
    loop {
        let c = expect_ok(function, inst.invoke(&input)?)?;
        invocations += 1;
        let r = body_json(&c);
        reported_ms += r["elapsed_ms"].as_f64().unwrap_or(0.0);
        if let Some(id) = r["detail"]["change_id"].as_str() {
            input["change_id"] = json!(id);
        }
        if r["outcome"]["state"] != "in_progress" {
            return Ok(StepRun { invocations, wall: t.elapsed(), reported_ms, last: r });
        }
        if invocations >= 100 {
            return Err(format!("{function} still in progress after {invocations} invocations: {r}").into());
        }
        // The state machine would Wait `wait_seconds` here: zero modeled durations make it moot.
        input["action"] = json!("status");
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 { format!("{}…", &s[..s.char_indices().nth(300).map(|(i, _)| i).unwrap_or(s.len())]) } else { s }
}

/// What a finished run leaves for the per-function measurements: its topology, step input and results.
struct Finished {
    topology: String,
    input: Value,
    results: Vec<Value>,
}

fn failover_once(emu: &Emulator, env_base: &Env, zero: &Value) -> BenchResult<(Value, Finished)> {
    emu.reset();
    let raw = emu.seed(PRIMARY, STANDBY);
    emu.set_durations(zero.clone());
    let env = Env { topology: topology_for_bench(&raw, &env_base.health_url)?, ..env_base.clone_shallow() };
    let names = ["decide", "promote-db", "scale-compute", "shift-traffic", "notify"];
    let mut insts = Vec::new();
    let mut cold = serde_json::Map::new();
    // Cold starts happen when the run begins on a real account too; measured, then kept apart.
    for f in names {
        let mut inst = Instance::spawn(Lang::Rust, f, &env)?;
        let warmup = match f {
            "decide" => events("decide", &Value::Null, &[]),
            "notify" => {
                json!({ "event_type": "readiness_changed", "run_id": "bench-warmup", "mode": "drill", "from_region": PRIMARY, "to_region": STANDBY })
            }
            _ => {
                json!({ "run_id": "bench-warmup", "fencing_token": 1, "mode": "drill", "from_region": PRIMARY, "to_region": STANDBY, "action": "status" })
            }
        };
        let c = inst.invoke(&warmup)?;
        cold.insert(f.to_string(), json!((ms(c.done_at - inst.spawned_at) * 10.0).round() / 10.0));
        insts.push(inst);
    }
    let [decide, promote, scale, shift, notify] = &mut insts[..] else { return Err("five instances".into()) };
    emu.clear_calls();
    let t0 = Instant::now();
    let request = json!({ "action": "failover", "target_region": STANDBY, "reason": "make bench: orchestration overhead",
                          "requested_by": "make bench", "force": { "quorum": true, "readiness": false, "rpo": false, "detach": false } });
    let d = expect_ok("decide", decide.invoke(&request)?)?;
    let decide_wall = d.latency();
    let plan = body_json(&d);
    if plan["outcome"] != "go" {
        return Err(format!("decide did not go: {plan}").into());
    }
    let decide_calls = emu.calls().len();
    let input = json!({ "run_id": plan["run_id"], "fencing_token": plan["fencing_token"], "mode": plan["mode"],
                        "from_region": plan["from_region"], "to_region": plan["to_region"], "force": plan["force"], "action": "start" });
    emu.clear_calls();
    let tp = Instant::now();
    let (p, s) = std::thread::scope(|sc| {
        let (i1, i2) = (input.clone(), input.clone());
        let hp = sc.spawn(move || converge(promote, "promote-db", i1).map_err(|e| e.to_string()));
        let hs = sc.spawn(move || converge(scale, "scale-compute", i2).map_err(|e| e.to_string()));
        (hp.join(), hs.join())
    });
    let parallel_wall = tp.elapsed();
    let p = p.map_err(|_| "promote-db thread panicked")??;
    let s = s.map_err(|_| "scale-compute thread panicked")??;
    let parallel_calls = emu.calls().len();
    emu.clear_calls();
    let sh = converge(shift, "shift-traffic", input.clone())?;
    let shift_calls = emu.calls().len();
    emu.clear_calls();
    let tn = Instant::now();
    let report = json!({ "event_type": "run_succeeded", "run_id": plan["run_id"], "fencing_token": plan["fencing_token"],
                         "mode": plan["mode"], "from_region": plan["from_region"], "to_region": plan["to_region"],
                         "results": [p.last.clone(), s.last.clone(), sh.last.clone()], "started_at": plan["decided_at"], "release_lease": true });
    let n = expect_ok("notify", notify.invoke(&report)?)?;
    let notify_wall = tn.elapsed();
    let total = t0.elapsed();
    let notify_calls = emu.calls().len();
    let notify_body = body_json(&n);
    let outcomes = json!({ "promote-db": p.last["outcome"]["state"], "scale-compute": s.last["outcome"]["state"],
                           "shift-traffic": sh.last["outcome"]["state"], "notify": notify_body["outcome"]["state"] });
    let finished = Finished {
        topology: env.topology.clone(),
        input: input.clone(),
        results: vec![p.last.clone(), s.last.clone(), sh.last.clone()],
    };
    Ok((
        json!({
            "total_ms": ms(total),
            "cold_start_ms": cold,
            "outcomes": outcomes,
            "mode": plan["mode"],
            "steps": {
                "decide": { "wall_ms": ms(decide_wall), "invocations": 1, "aws_calls": decide_calls },
                "promote-db ‖ scale-compute": { "wall_ms": ms(parallel_wall), "aws_calls": parallel_calls },
                "promote-db": { "wall_ms": ms(p.wall), "invocations": p.invocations, "reported_ms": p.reported_ms },
                "scale-compute": { "wall_ms": ms(s.wall), "invocations": s.invocations, "reported_ms": s.reported_ms },
                "shift-traffic": { "wall_ms": ms(sh.wall), "invocations": sh.invocations, "reported_ms": sh.reported_ms, "aws_calls": shift_calls },
                "notify": { "wall_ms": ms(notify_wall), "invocations": 1, "aws_calls": notify_calls },
            }
        }),
        finished,
    ))
}

impl Env {
    fn clone_shallow(&self) -> Env {
        Env {
            endpoint: self.endpoint.clone(),
            topology: self.topology.clone(),
            work: self.work.clone(),
            health_url: self.health_url.clone(),
        }
    }
}

fn orchestration(args: &Args, emu: &Emulator, env: &Env) -> BenchResult<(Value, Option<Finished>)> {
    let durations = emu.control("GET", "/_drover/durations", None);
    let zero: serde_json::Map<String, Value> =
        durations.as_object().map(|o| o.keys().map(|k| (k.clone(), json!(0))).collect()).unwrap_or_default();
    let zero = Value::Object(zero);
    let mut runs = Vec::new();
    let mut finished = None;
    for i in 0..args.runs {
        eprintln!("bench: orchestration run {}/{}", i + 1, args.runs);
        match failover_once(emu, env, &zero) {
            Ok((r, f)) => {
                runs.push(r);
                finished = Some(f);
            }
            Err(e) => {
                eprintln!("bench: orchestration: {e}");
                return Ok((json!({ "error": e.to_string(), "runs": runs, "durations": zero }), None));
            }
        }
    }
    let mut summary = serde_json::Map::new();
    let mut total = Samples::default();
    for r in &runs {
        total.push(r["total_ms"].as_f64().unwrap_or(f64::NAN));
    }
    summary.insert("total_ms".into(), total.json());
    let steps = ["decide", "promote-db ‖ scale-compute", "promote-db", "scale-compute", "shift-traffic", "notify"];
    let mut per_step = serde_json::Map::new();
    for s in steps {
        let mut wall = Samples::default();
        let mut reported = Samples::default();
        for r in &runs {
            wall.push(r["steps"][s]["wall_ms"].as_f64().unwrap_or(f64::NAN));
            if let Some(x) = r["steps"][s]["reported_ms"].as_f64() {
                reported.push(x);
            }
        }
        let last = runs.last().map(|r| r["steps"][s].clone()).unwrap_or(Value::Null);
        per_step.insert(
            s.into(),
            json!({ "wall_ms": wall.json(), "reported_ms": reported.json(), "invocations": last["invocations"], "aws_calls": last["aws_calls"] }),
        );
    }
    summary.insert("steps".into(), Value::Object(per_step));
    summary.insert("durations".into(), zero);
    summary.insert("runs".into(), Value::Array(runs));
    Ok((Value::Object(summary), finished))
}

// ---------------------------------------------------------------------------------------------
// Modeled RTO vs its physical floor

fn rto(args: &Args, emu: &Emulator, overhead_s: f64) -> BenchResult<Value> {
    emu.reset();
    let raw = emu.seed(PRIMARY, STANDBY);
    let durations = emu.control("GET", "/_drover/durations", None);
    let topo: Value = serde_json::from_str(&raw)?;
    let probe_alarm = topo["policy"]["signals"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["watches"] == PRIMARY && s["region"] == STANDBY))
        .and_then(|s| s["alarm_name"].as_str())
        .unwrap_or_default()
        .to_string();
    let out = Command::new(python())
        .arg(workspace_root().join("bench/python/floor_facts.py"))
        .args([&emu.endpoint, STANDBY, &probe_alarm, PRIMARY])
        .output()?;
    if !out.status.success() {
        return Err(format!("floor_facts.py: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let facts: Value = serde_json::from_slice(&out.stdout)?;
    emu.reset();
    let detection = facts["alarm"]["period"].as_f64().unwrap_or(f64::NAN)
        * facts["alarm"]["evaluation_periods"].as_f64().unwrap_or(f64::NAN);
    let aurora = durations["aurora_failover"].as_f64().unwrap_or(f64::NAN);
    let ttl = facts["ttl"].as_f64().unwrap_or(60.0);
    let floor = detection + aurora + ttl;

    let (mut modeled, mut source) = (None, String::new());
    let mut drill_wall = None;
    let mut drill_steps = Vec::new();
    if args.drill {
        eprintln!("bench: modeled RTO: cargo run -q -p drover-drill");
        let dir = std::env::temp_dir().join(format!("drover-bench-drill-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let t = Instant::now();
        let log = dir.join("drill.out");
        let status = Command::new("cargo")
            .args(["run", "-q", "-p", "drover-drill", "--", "--reports"])
            .arg(&dir)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&log)?))
            .stderr(Stdio::inherit())
            .spawn()
            .and_then(|mut child| {
                // The drill is someone else's moving target: bounded, and its failure only means "computed".
                loop {
                    if let Some(st) = child.try_wait()? {
                        return Ok(st);
                    }
                    if t.elapsed() > Duration::from_secs(DRILL_TIMEOUT_S) {
                        let _ = child.kill();
                        return child.wait();
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        drill_wall = Some(t.elapsed().as_secs_f64());
        if let Ok(status) = status {
            let mut text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "md")) {
                    text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
            modeled = parse_measured_rto(&text);
            drill_steps = drill_step_lines(&text);
            source = match modeled {
                Some(_) => "cargo run -q -p drover-drill (\"Measured RTO (modeled)\")".into(),
                None => format!("drover-drill output did not parse ({status})"),
            };
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if modeled.is_none() {
        // Computed: detection + the parallel phase (the longer of Aurora failover and ECS task
        // start) + the record TTL, on the emulator's durations, plus drover's own overhead as
        // measured by the zero-duration failover. Traffic moves through the gate (a health
        // check), so Route 53's change propagation is not on this path.
        let ecs = durations["ecs_task_start"].as_f64().unwrap_or(0.0);
        modeled = Some(detection + aurora.max(ecs) + ttl + overhead_s);
        source = format!(
            "{}computed: detection + max(aurora_failover, ecs_task_start) + TTL + the measured orchestration overhead ({overhead_s:.2} s)",
            if source.is_empty() { String::new() } else { format!("{source}; ") }
        );
    }
    let modeled = modeled.unwrap_or(f64::NAN);
    Ok(json!({
        "modeled_rto_s": modeled,
        "modeled_rto_source": source,
        "drill_wall_s": drill_wall,
        "drill_steps": drill_steps,
        "floor_s": floor,
        "overhead_over_floor_s": modeled - floor,
        "floor": { "detection_s": detection, "aurora_failover_s": aurora, "dns_ttl_s": ttl },
        "alarm": facts["alarm"],
        "durations": durations,
    }))
}

/// The drill's timeline table (plain text: from the "step" header to the first blank line),
/// each line cut short: the detail column can be long.
fn drill_step_lines(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("step "))
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.chars().take(110).collect())
        .collect()
}

fn parse_measured_rto(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.contains("Measured RTO (modeled)"))?;
    let after = &line[line.find("Measured RTO (modeled)")? + "Measured RTO (modeled)".len()..];
    let start = after.find(|c: char| c.is_ascii_digit())?;
    let num: String = after[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Report

fn bench(args: &Args) -> BenchResult<()> {
    let started = Instant::now();
    let load_before = machine_snapshot();
    let work = std::env::temp_dir().join(format!("drover-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    eprintln!("bench: unpacking the release zips; packaging the Python baseline");
    let art = unpack_artifacts(&work)?;
    let emu = Emulator::start(60.0);
    let health_url = health_server()?;
    let env = Env { endpoint: emu.endpoint.clone(), topology: String::new(), work: work.clone(), health_url };
    // The failover runs first: the last one leaves a failed-over region whose steps answer
    // `status` with reads only, the realistic last poll of each step.
    let (orch, finished) = orchestration(args, &emu, &env)?;
    let load_mid = machine_snapshot();
    let (env, run, results, state) = match finished {
        Some(f) => {
            (Env { topology: f.topology, ..env }, f.input, f.results, "after a zero-duration unplanned failover")
        }
        None => {
            // Fallback: a freshly seeded topology, a drill's status calls.
            emu.reset();
            let raw = emu.seed(PRIMARY, STANDBY);
            let run = json!({ "run_id": "bench-status", "fencing_token": 1, "mode": "drill", "from_region": PRIMARY, "to_region": STANDBY });
            (
                Env { topology: topology_for_bench(&raw, &env.health_url)?, ..env },
                run,
                Vec::new(),
                "freshly seeded (the failover run failed)",
            )
        }
    };
    let functions = measure_functions(args, &emu, &env, &run, &results)?;
    let load_end_fns = machine_snapshot();
    let overhead_s = orch["total_ms"]["median"].as_f64().map(|m| m / 1000.0).unwrap_or(0.0);
    let rto = rto(args, &emu, overhead_s)?;
    let load_after = machine_snapshot();
    drop(emu);
    let _ = std::fs::remove_dir_all(&work);

    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let result = json!({
        "schema": "drover.bench/v1",
        "command": "make bench",
        "git": git,
        "settings": { "cold_starts": args.cold, "warm_per_process": args.warm_per_process, "orchestration_runs": args.runs,
                      "python_runtime": "bench/python/runtime_loop.py (urllib loop; awslambdaric not used)",
                      "python": python().display().to_string() },
        "machine": { "cpus": nproc, "load_before": load_before, "load_mid": load_mid, "load_end_functions": load_end_fns, "load_after": load_after },
        "function_state": state,
        "sizes": { "rust_zip_bytes": art.zip_bytes, "rust_binary_bytes": art.binary_bytes, "python": art.python, "arm64": art.arm64 },
        "functions": functions,
        "orchestration": orch,
        "rto": rto,
        "wall_s": started.elapsed().as_secs_f64(),
    });
    std::fs::create_dir_all(&args.out)?;
    let json_path = args.out.join("bench.json");
    let md_path = args.out.join("bench.md");
    std::fs::write(&json_path, serde_json::to_string_pretty(&result)?)?;
    let md = markdown(&result);
    std::fs::write(&md_path, &md)?;
    println!("{md}");
    eprintln!("bench: wrote {} and {}", md_path.display(), json_path.display());
    Ok(())
}

fn samples_of(v: &Value) -> Samples {
    Samples(v["samples"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default())
}

fn kib(b: Option<u64>) -> String {
    b.map(|b| format!("{:.0}", b as f64 / 1024.0)).unwrap_or_else(|| "—".into())
}

fn markdown(r: &Value) -> String {
    let mut m = String::new();
    let push = |m: &mut String, s: String| {
        m.push_str(&s);
        m.push('\n');
    };
    push(&mut m, "# drover benchmarks".into());
    push(&mut m, String::new());
    push(
        &mut m,
        format!(
            "`make bench` at {}; {} CPUs; load average (1/5/15 min): {} at the start, {} after the failover runs, {} after the per-function runs, {} at the end; other build/test processes seen (most at once): {}.",
            r["git"].as_str().unwrap_or("?"),
            r["machine"]["cpus"],
            r["machine"]["load_before"]["loadavg_1_5_15"].as_str().unwrap_or("?"),
            r["machine"]["load_mid"]["loadavg_1_5_15"].as_str().unwrap_or("?"),
            r["machine"]["load_end_functions"]["loadavg_1_5_15"].as_str().unwrap_or("?"),
            r["machine"]["load_after"]["loadavg_1_5_15"].as_str().unwrap_or("?"),
            busy_summary(&r["machine"]),
        ),
    );
    push(&mut m, String::new());
    push(
        &mut m,
        format!(
            "Figures are median (p10–p90). Cold start: process spawn → first response through a local Lambda Runtime API, {} processes per function; warm: queue → response of the next {} invocations of each process; RSS: VmHWM after them. Rust runs the `bootstrap` from the `cargo lambda build --release` zip; Python 3.11 + boto3 runs under a urllib runtime loop. Both against the same emulator in the same run; the events are the status calls of a finished run ({}).",
            r["settings"]["cold_starts"],
            r["settings"]["warm_per_process"],
            r["function_state"].as_str().unwrap_or("?")
        ),
    );
    push(&mut m, String::new());
    push(&mut m, "## Per function".into());
    push(&mut m, String::new());
    push(&mut m, "| Function | Lang | Cold start (ms) | of which init (ms) | Warm (ms) | Peak RSS (MiB) | Zip (KiB) | AWS calls / invocation |".into());
    push(&mut m, "|---|---|---:|---:|---:|---:|---:|---:|".into());
    let fns = &r["functions"];
    for f in FUNCTIONS {
        for lang in ["rust", "python"] {
            let s = &fns[f][lang];
            if s.is_null() {
                continue;
            }
            let zip = if lang == "rust" {
                kib(r["sizes"]["rust_zip_bytes"][f].as_u64())
            } else {
                kib(r["sizes"]["python"]["handler_zip_bytes"][f.replace('-', "_")].as_u64())
            };
            let errors = s["errors"].as_array().map(|e| e.len()).unwrap_or(0);
            push(
                &mut m,
                format!(
                    "| {f} | {lang}{} | {} | {} | {} | {} | {zip} | {} |",
                    if errors > 0 { " (errors)" } else { "" },
                    samples_of(&s["cold_start_ms"]).fmt(1),
                    samples_of(&s["init_ms"]).fmt(1),
                    samples_of(&s["warm_ms"]).fmt(2),
                    samples_of(&s["peak_rss_mib"]).fmt(1),
                    s["aws_calls_per_invocation"].as_array().map(|a| a.len()).unwrap_or(0),
                ),
            );
        }
    }
    push(&mut m, String::new());
    let py = &r["sizes"]["python"];
    push(
        &mut m,
        format!(
            "Python zip: the handler alone (boto3 from the Lambda runtime). With boto3/botocore vendored (as when a function pins its SDK) each zip grows by {} KiB. arm64: {}.",
            kib(py["boto3_vendored_zip_bytes"].as_u64()),
            if r["sizes"]["arm64"]["target_installed"] == true {
                "see bench.json"
            } else {
                "not measured (target not installed, not downloaded)"
            }
        ),
    );
    push(&mut m, String::new());
    push(&mut m, "## Rust / Python ratios (medians; < 1 means Rust is smaller or faster)".into());
    push(&mut m, String::new());
    push(&mut m, "| Function | Cold start | Warm | Peak RSS | Zip vs handler only | Zip vs boto3 vendored |".into());
    push(&mut m, "|---|---:|---:|---:|---:|---:|".into());
    for f in BASELINE {
        let (rs, ps) = (&fns[f]["rust"], &fns[f]["python"]);
        let med = |s: &Value, k: &str| samples_of(&s[k]).median();
        let rz = r["sizes"]["rust_zip_bytes"][f].as_f64().unwrap_or(f64::NAN);
        let pz = py["handler_zip_bytes"][f.replace('-', "_")].as_f64().unwrap_or(f64::NAN);
        let vz = pz + py["boto3_vendored_zip_bytes"].as_f64().unwrap_or(f64::NAN);
        push(
            &mut m,
            format!(
                "| {f} | {} | {} | {} | {} | {} |",
                ratio(med(rs, "cold_start_ms"), med(ps, "cold_start_ms")),
                ratio(med(rs, "warm_ms"), med(ps, "warm_ms")),
                ratio(med(rs, "peak_rss_mib"), med(ps, "peak_rss_mib")),
                ratio(rz, pz),
                ratio(rz, vz)
            ),
        );
    }
    push(&mut m, String::new());
    push(&mut m, "## Orchestration overhead (full failover, every modeled duration 0)".into());
    push(&mut m, String::new());
    let o = &r["orchestration"];
    if let Some(e) = o["error"].as_str() {
        push(&mut m, format!("Failed: {e}"));
    } else {
        push(
            &mut m,
            format!(
                "decide (manual failover, quorum forced) → promote-db ‖ scale-compute (start, then status until done) → shift-traffic (start/status) → notify (report, lease released), warm Rust processes through the runtime API, {} runs: total **{} ms** (median, p10–p90). Each run's outcomes: {}. With zero modeled time, every millisecond here is overhead: drover's logic, the AWS calls to the local emulator, the runtime API.",
                o["total_ms"]["n"],
                samples_of(&o["total_ms"]).fmt(0),
                o["runs"].as_array().and_then(|a| a.last()).map(|x| x["outcomes"].to_string()).unwrap_or_default()
            ),
        );
        push(&mut m, String::new());
        push(&mut m, "| Step | Wall (ms) | Reported by the step (ms) | Invocations | AWS calls |".into());
        push(&mut m, "|---|---:|---:|---:|---:|".into());
        for s in ["decide", "promote-db ‖ scale-compute", "promote-db", "scale-compute", "shift-traffic", "notify"] {
            let x = &o["steps"][s];
            let or_dash = |v: &Value| if v.is_null() { "—".to_string() } else { v.to_string() };
            push(
                &mut m,
                format!(
                    "| {s} | {} | {} | {} | {} |",
                    samples_of(&x["wall_ms"]).fmt(1),
                    samples_of(&x["reported_ms"]).fmt(1),
                    or_dash(&x["invocations"]),
                    or_dash(&x["aws_calls"])
                ),
            );
        }
        push(&mut m, String::new());
        push(
            &mut m,
            format!(
                "Cold starts of the five processes before the run (last run, ms): {}.",
                o["runs"].as_array().and_then(|a| a.last()).map(|x| x["cold_start_ms"].to_string()).unwrap_or_default()
            ),
        );
    }
    push(&mut m, String::new());
    push(&mut m, "## Modeled RTO of the default unplanned scenario vs its physical floor".into());
    push(&mut m, String::new());
    let t = &r["rto"];
    push(&mut m, "| Component | Seconds | From |".into());
    push(&mut m, "|---|---:|---|".into());
    push(
        &mut m,
        format!(
            "| Detection | {} | probe alarm {}: period {} s × {} evaluation periods |",
            t["floor"]["detection_s"],
            t["alarm"]["name"].as_str().unwrap_or("?"),
            t["alarm"]["period"],
            t["alarm"]["evaluation_periods"]
        ),
    );
    push(
        &mut m,
        format!("| Aurora global failover | {} | emulator `aurora_failover` |", t["floor"]["aurora_failover_s"]),
    );
    push(&mut m, format!("| DNS propagation | {} | record TTL |", t["floor"]["dns_ttl_s"]));
    push(&mut m, format!("| **Physical floor** | **{}** | sum |", t["floor_s"]));
    push(
        &mut m,
        format!(
            "| **Modeled RTO** | **{:.1}** | {} |",
            t["modeled_rto_s"].as_f64().unwrap_or(f64::NAN),
            t["modeled_rto_source"].as_str().unwrap_or("?")
        ),
    );
    push(
        &mut m,
        format!(
            "| Above the floor | {:.1} | modeled − floor |",
            t["overhead_over_floor_s"].as_f64().unwrap_or(f64::NAN)
        ),
    );
    push(&mut m, String::new());
    push(&mut m, String::new());
    push(
        &mut m,
        format!(
            "The floor takes detection as period × evaluation periods, as the brief defines it. An alarm can fire sooner: the period in which the failure begins already breaches when its average falls under the threshold, so the earliest detection is about (evaluation periods − 1) × period = {} s, which is why a drill can come in under this floor. The drill's figure is one run (modeled seconds, real work on a shared machine included), not a median.",
            (t["alarm"]["evaluation_periods"].as_f64().unwrap_or(f64::NAN) - 1.0)
                * t["alarm"]["period"].as_f64().unwrap_or(f64::NAN)
        ),
    );
    if let Some(lines) = t["drill_steps"].as_array().filter(|a| !a.is_empty()) {
        push(&mut m, String::new());
        push(&mut m, "The drill's timeline (modeled seconds since the failure; details cut):".into());
        push(&mut m, String::new());
        push(&mut m, "```".into());
        for l in lines.iter().filter_map(|l| l.as_str()) {
            push(&mut m, l.to_string());
        }
        push(&mut m, "```".into());
    }
    push(&mut m, String::new());
    push(&mut m, format!("Emulator durations (modeled s): {}.", t["durations"]));
    push(&mut m, String::new());
    push(&mut m, format!("Bench wall time: {:.0} s.", r["wall_s"].as_f64().unwrap_or(0.0)));
    m
}

fn busy_summary(machine: &Value) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for k in ["load_before", "load_mid", "load_end_functions", "load_after"] {
        if let Some(a) = machine[k]["busy_processes"].as_array() {
            let mut here = std::collections::BTreeMap::<String, usize>::new();
            for p in a.iter().filter_map(|p| p.as_str()) {
                *here.entry(p.to_string()).or_default() += 1;
            }
            for (p, n) in here {
                let e = counts.entry(p).or_default();
                *e = (*e).max(n);
            }
        }
    }
    if counts.is_empty() {
        "none".into()
    } else {
        counts.iter().map(|(p, n)| format!("{p}×{n}")).collect::<Vec<_>>().join(", ")
    }
}
