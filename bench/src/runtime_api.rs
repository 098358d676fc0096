//! A local AWS Lambda Runtime API (the interface a custom runtime polls): enough of it to
//! run a real function binary, or a Python runtime loop, and time what happens.
//!
//! `GET /2018-06-01/runtime/invocation/next` blocks until an invocation is queued and answers
//! it with the event and the `Lambda-Runtime-*` headers; the function answers with
//! `POST …/invocation/{id}/response` or `…/error` (or `…/init/error` before its first
//! `next`). Connections are kept alive (hyper keeps its connection; urllib opens one per call).
//! One server per function process, so every timestamp belongs to one process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "/2018-06-01/runtime";

/// What came back for one invocation.
#[derive(Debug, Clone)]
pub struct Completed {
    pub body: String,
    /// The function answered on `/error`.
    pub is_error: bool,
    /// When the invocation was queued, handed to the function (its `next` answered), answered.
    pub queued_at: Instant,
    pub handed_at: Instant,
    pub done_at: Instant,
}

impl Completed {
    /// Queue → answer: what a caller of the function waits, runtime API transport included.
    pub fn latency(&self) -> Duration {
        self.done_at - self.queued_at
    }
}

struct Job {
    id: String,
    event: String,
    queued_at: Instant,
    reply: Sender<Completed>,
}

/// An invocation handed to the function: when it was queued and handed, where its answer goes.
struct Handed {
    queued_at: Instant,
    handed_at: Instant,
    reply: Sender<Completed>,
}

struct Shared {
    jobs: Mutex<Receiver<Job>>,
    in_flight: Mutex<HashMap<String, Handed>>,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    stop: AtomicBool,
    function_name: String,
}

pub struct RuntimeApi {
    pub addr: String,
    shared: Arc<Shared>,
    queue: Sender<Job>,
    seq: AtomicU64,
}

impl RuntimeApi {
    pub fn start(function_name: &str) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let (queue, jobs) = channel();
        let shared = Arc::new(Shared {
            jobs: Mutex::new(jobs),
            in_flight: Mutex::new(HashMap::new()),
            first_next: Mutex::new(None),
            init_error: Mutex::new(None),
            stop: AtomicBool::new(false),
            function_name: function_name.to_string(),
        });
        listener.set_nonblocking(true)?;
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            while !accept_shared.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = accept_shared.clone();
                        std::thread::spawn(move || serve_connection(stream, s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Ok(RuntimeApi { addr, shared, queue, seq: AtomicU64::new(0) })
    }

    /// When the function first asked for work (its init finished), if it has.
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.lock().unwrap()
    }

    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Queues one invocation and waits for its answer. `alive` is polled while waiting, so a
    /// process that died is an error now, not after the timeout.
    pub fn invoke(&self, event: &str, timeout: Duration, alive: &mut dyn FnMut() -> bool) -> Result<Completed, String> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench-{}-{n:06}", std::process::id());
        let (reply, answer) = channel();
        let queued_at = Instant::now();
        self.queue.send(Job { id, event: event.to_string(), queued_at, reply }).map_err(|e| format!("queue: {e}"))?;
        loop {
            match answer.recv_timeout(Duration::from_millis(20)) {
                Ok(c) => return Ok(c),
                Err(RecvTimeoutError::Disconnected) => return Err("runtime API dropped the invocation".into()),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(e) = self.init_error() {
                        return Err(format!("init error: {e}"));
                    }
                    if !alive() {
                        return Err("the function process exited".into());
                    }
                    if queued_at.elapsed() > timeout {
                        return Err(format!("no answer within {timeout:?}"));
                    }
                }
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let http10 = parts.next() == Some("HTTP/1.0");
    let (mut length, mut chunked, mut close) = (0usize, false, http10);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v == "close",
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request { method, path, body, close }))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = read_request(&mut reader) {
        let ok = handle(&req, &mut writer, &shared).is_ok();
        if !ok || req.close || shared.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

fn handle(req: &Request, out: &mut TcpStream, shared: &Shared) -> std::io::Result<()> {
    let now = Instant::now();
    let path = req.path.strip_prefix(PREFIX).unwrap_or(&req.path);
    match (req.method.as_str(), path) {
        ("GET", "/invocation/next") => {
            shared.first_next.lock().unwrap().get_or_insert(now);
            let job = loop {
                if shared.stop.load(Ordering::Relaxed) {
                    return Err(std::io::Error::other("stopping"));
                }
                match shared.jobs.lock().unwrap().recv_timeout(Duration::from_millis(50)) {
                    Ok(job) => break job,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Err(std::io::Error::other("no more jobs")),
                }
            };
            let handed_at = Instant::now();
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(900);
            let arn = format!("arn:aws:lambda:us-west-2:123456789012:function:{}", shared.function_name);
            let headers = [
                ("Lambda-Runtime-Aws-Request-Id", job.id.clone()),
                ("Lambda-Runtime-Deadline-Ms", deadline.as_millis().to_string()),
                ("Lambda-Runtime-Invoked-Function-Arn", arn),
                (
                    "Lambda-Runtime-Trace-Id",
                    format!("Root=1-00000000-{:024x};Sampled=0", job.queued_at.elapsed().as_nanos()),
                ),
            ];
            shared
                .in_flight
                .lock()
                .unwrap()
                .insert(job.id.clone(), Handed { queued_at: job.queued_at, handed_at, reply: job.reply });
            respond(out, "200 OK", &headers, &job.event)
        }
        ("POST", "/init/error") => {
            *shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&req.body).into_owned());
            respond(out, "202 Accepted", &[], r#"{"status":"OK"}"#)
        }
        ("POST", p) if p.starts_with("/invocation/") => {
            let rest = &p["/invocation/".len()..];
            let (id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
            let is_error = match kind {
                "response" => false,
                "error" => true,
                _ => return respond(out, "404 Not Found", &[], r#"{"errorMessage":"unknown route"}"#),
            };
            match shared.in_flight.lock().unwrap().remove(id) {
                Some(Handed { queued_at, handed_at, reply }) => {
                    let body = String::from_utf8_lossy(&req.body).into_owned();
                    let _ = reply.send(Completed { body, is_error, queued_at, handed_at, done_at: now });
                    respond(out, "202 Accepted", &[], r#"{"status":"OK"}"#)
                }
                None => respond(out, "400 Bad Request", &[], r#"{"errorMessage":"unknown request id"}"#),
            }
        }
        _ => respond(out, "404 Not Found", &[], r#"{"errorMessage":"unknown route"}"#),
    }
}
