//! The blue/green validation hook: CodeDeploy invokes it in a lifecycle event of an ECS
//! blue/green deployment (AfterAllowTestTraffic, BeforeAllowTraffic) with
//! `{"DeploymentId", "LifecycleEventHookExecutionId"}`. It sends the health request and the
//! smoke request to the green tasks through the ALB's test listener, `count` rounds,
//! `interval` apart, and reports `Succeeded` only when every request passed, `Failed` at the
//! first that did not (CodeDeploy then rolls back sooner).
//!
//! PutLifecycleEventHookExecutionStatus has no field for a reason, so the reason is logged
//! and returned as the function's result ([`HookReport`]).
//!
//! Configuration (environment, read once at cold start):
//!
//! | variable                          | default    | meaning                                          |
//! |-----------------------------------|------------|--------------------------------------------------|
//! | `DROVER_HOOK_TEST_URL`            | (required) | base URL of the test listener, `https://app.example.com:8443` |
//! | `DROVER_HOOK_CONNECT_TO`          | unset      | host to connect to instead of the URL's (the ALB's DNS name); TLS and `Host` keep the URL's name |
//! | `DROVER_HOOK_HEALTH_PATH`         | `/healthz` | health request: GET, any 2xx passes              |
//! | `DROVER_HOOK_SMOKE_PATH`          | unset      | smoke request path (unset: no smoke request)     |
//! | `DROVER_HOOK_SMOKE_METHOD`        | `GET`      | GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS     |
//! | `DROVER_HOOK_SMOKE_BODY`          | unset      | request body (sent as `application/json`)        |
//! | `DROVER_HOOK_SMOKE_EXPECT_STATUS` | `200`      | the exact status the smoke request must answer   |
//! | `DROVER_HOOK_SMOKE_EXPECT_BODY`   | unset      | text the smoke answer's body must contain        |
//! | `DROVER_HOOK_COUNT`               | `5`        | rounds (1–50)                                    |
//! | `DROVER_HOOK_INTERVAL_MS`         | `1000`     | pause between the starts of two rounds (0–60000) |
//! | `DROVER_HOOK_TIMEOUT_MS`          | `3000`     | per request: connect, TLS, answer, body (1–30000) |

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::ConfigError;
use crate::deploy::http::{HttpChecker, HttpFailure, HttpOutcome, HttpRequestSpec};
use crate::error::{AwsError, ErrorKind};
use crate::ports::{HookStatus, LifecycleHookReporter};

pub const TEST_URL_ENV: &str = "DROVER_HOOK_TEST_URL";
pub const CONNECT_TO_ENV: &str = "DROVER_HOOK_CONNECT_TO";
pub const HEALTH_PATH_ENV: &str = "DROVER_HOOK_HEALTH_PATH";
pub const SMOKE_PATH_ENV: &str = "DROVER_HOOK_SMOKE_PATH";
pub const SMOKE_METHOD_ENV: &str = "DROVER_HOOK_SMOKE_METHOD";
pub const SMOKE_BODY_ENV: &str = "DROVER_HOOK_SMOKE_BODY";
pub const SMOKE_EXPECT_STATUS_ENV: &str = "DROVER_HOOK_SMOKE_EXPECT_STATUS";
pub const SMOKE_EXPECT_BODY_ENV: &str = "DROVER_HOOK_SMOKE_EXPECT_BODY";
pub const COUNT_ENV: &str = "DROVER_HOOK_COUNT";
pub const INTERVAL_ENV: &str = "DROVER_HOOK_INTERVAL_MS";
pub const TIMEOUT_ENV: &str = "DROVER_HOOK_TIMEOUT_MS";

/// Every variable the hook reads (the infra cross-check sets the required one).
pub const ENV_VARS: &[&str] = &[
    TEST_URL_ENV,
    CONNECT_TO_ENV,
    HEALTH_PATH_ENV,
    SMOKE_PATH_ENV,
    SMOKE_METHOD_ENV,
    SMOKE_BODY_ENV,
    SMOKE_EXPECT_STATUS_ENV,
    SMOKE_EXPECT_BODY_ENV,
    COUNT_ENV,
    INTERVAL_ENV,
    TIMEOUT_ENV,
];

/// The hook's one AWS call.
pub const IAM_ACTIONS: &[&str] = &["codedeploy:PutLifecycleEventHookExecutionStatus"];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeRequest {
    pub method: String,
    pub path: String,
    pub body: Option<String>,
    pub expect_status: u16,
    pub expect_body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookConfig {
    /// Scheme, host and port of the test listener, no trailing slash.
    pub test_url: String,
    pub connect_to: Option<String>,
    pub health_path: String,
    pub smoke: Option<SmokeRequest>,
    pub count: u32,
    pub interval: Duration,
    pub timeout: Duration,
}

impl HookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// `lookup` returns a variable's value; an invalid value is an init error naming it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let invalid = |path: &str, message: String| ConfigError::Invalid { path: path.to_string(), message };
        let get = |k: &str| lookup(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let number = |name: &'static str, min: u64, max: u64, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(invalid(name, format!("{v:?} is not a whole number from {min} to {max}"))),
                },
            }
        };
        let path = |name: &'static str, v: String| -> Result<String, ConfigError> {
            if v.starts_with('/') && !v.contains(char::is_whitespace) {
                Ok(v)
            } else {
                Err(invalid(name, format!("{v:?} is not a path starting with '/'")))
            }
        };

        let test_url = get(TEST_URL_ENV).ok_or(ConfigError::MissingEnv(TEST_URL_ENV))?;
        let parsed: http::Uri =
            test_url.parse().map_err(|e| invalid(TEST_URL_ENV, format!("{test_url:?} is not a URL: {e}")))?;
        let scheme_ok = matches!(parsed.scheme_str(), Some("https") | Some("http"));
        let bare = parsed.path_and_query().is_none_or(|p| p.as_str() == "/" || p.as_str().is_empty());
        if !scheme_ok || parsed.host().is_none() || !bare {
            return Err(invalid(
                TEST_URL_ENV,
                format!("{test_url:?} must be http(s)://host[:port] with no path (the test listener)"),
            ));
        }
        let test_url = test_url.trim_end_matches('/').to_string();

        let connect_to = get(CONNECT_TO_ENV);
        if let Some(c) = &connect_to
            && (c.contains('/') || c.contains(':') || c.contains(char::is_whitespace))
        {
            return Err(invalid(CONNECT_TO_ENV, format!("{c:?} must be a bare host name (no scheme, port or path)")));
        }
        let health_path = path(HEALTH_PATH_ENV, get(HEALTH_PATH_ENV).unwrap_or_else(|| "/healthz".into()))?;

        let smoke = match get(SMOKE_PATH_ENV) {
            None => None,
            Some(p) => {
                let method = get(SMOKE_METHOD_ENV).unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    return Err(invalid(SMOKE_METHOD_ENV, format!("{method:?} is not one of {METHODS:?}")));
                }
                Some(SmokeRequest {
                    method,
                    path: path(SMOKE_PATH_ENV, p)?,
                    body: lookup(SMOKE_BODY_ENV).filter(|b| !b.is_empty()),
                    expect_status: number(SMOKE_EXPECT_STATUS_ENV, 100, 599, 200)? as u16,
                    expect_body: lookup(SMOKE_EXPECT_BODY_ENV).filter(|b| !b.is_empty()),
                })
            }
        };
        Ok(HookConfig {
            test_url,
            connect_to,
            health_path,
            smoke,
            count: number(COUNT_ENV, 1, 50, 5)? as u32,
            interval: Duration::from_millis(number(INTERVAL_ENV, 0, 60_000, 1000)?),
            timeout: Duration::from_millis(number(TIMEOUT_ENV, 1, 30_000, 3000)?),
        })
    }

    /// The host the URL names, for [`crate::deploy::http::HyperChecker::new`]'s `connect_to`.
    pub fn connect_rule(&self) -> Option<(String, String)> {
        let host = self.test_url.parse::<http::Uri>().ok()?.host()?.to_string();
        self.connect_to.clone().map(|to| (host, to))
    }

    /// The longest a run can take: what the Lambda timeout must exceed.
    pub fn worst_case(&self) -> Duration {
        let per_round = if self.smoke.is_some() { 2 } else { 1 };
        self.interval.max(self.timeout * per_round) * self.count + self.timeout * per_round
    }
}

/// CodeDeploy's lifecycle event, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    pub deployment_id: String,
    pub execution_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CodeDeploy lifecycle hook event: {0}")]
pub struct MalformedEvent(pub String);

impl LifecycleEvent {
    /// Accepts exactly the two string fields CodeDeploy sends (others are ignored).
    pub fn parse(event: &Value) -> Result<Self, MalformedEvent> {
        let obj = event.as_object().ok_or_else(|| MalformedEvent(format!("expected a JSON object, got {event}")))?;
        let field = |name: &str| -> Result<String, MalformedEvent> {
            match obj.get(name) {
                None => Err(MalformedEvent(format!("{name} is missing"))),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                Some(other) => Err(MalformedEvent(format!("{name} must be a non-empty string, got {other}"))),
            }
        };
        let deployment_id = field("DeploymentId")?;
        let execution_id = field("LifecycleEventHookExecutionId")?;
        // CodeDeploy deployment ids are `d-` and nine upper-case letters or digits.
        let id_ok = deployment_id.len() == 11
            && deployment_id.starts_with("d-")
            && deployment_id[2..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !id_ok {
            return Err(MalformedEvent(format!("DeploymentId {deployment_id:?} is not a CodeDeploy deployment id")));
        }
        if execution_id.len() > 4096 || execution_id.contains(char::is_whitespace) {
            return Err(MalformedEvent("LifecycleEventHookExecutionId is not an execution id".into()));
        }
        Ok(LifecycleEvent { deployment_id, execution_id })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Health,
    Smoke,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub kind: CheckKind,
    /// 1-based round.
    pub round: u32,
    pub request: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why it did not pass.
    pub failure: Option<String>,
}

/// The hook's result: what it reported and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookReport {
    pub deployment_id: String,
    pub execution_id: String,
    pub status: HookStatus,
    pub reason: String,
    pub checks: Vec<CheckResult>,
    /// False when CodeDeploy had already closed this hook execution (a repeated invocation).
    pub reported: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Malformed(#[from] MalformedEvent),
    /// The verdict was reached but CodeDeploy could not be told.
    #[error("could not report {status} for deployment {deployment_id}: {source}")]
    Report { deployment_id: String, status: &'static str, reason: String, source: AwsError },
}

impl HookError {
    pub fn is_retryable(&self) -> bool {
        match self {
            HookError::Malformed(_) => false,
            HookError::Report { source, .. } => source.is_retryable(),
        }
    }
}

/// Whether one answer passes; the reason when it does not.
fn judge(kind: CheckKind, smoke: Option<&SmokeRequest>, outcome: &HttpOutcome) -> Result<(), String> {
    match &outcome.error {
        Some(HttpFailure::Timeout { after_ms }) => return Err(format!("no answer within {after_ms} ms")),
        Some(HttpFailure::Connect { detail }) => return Err(format!("connection failed: {detail}")),
        None => {}
    }
    let status = outcome.status.unwrap_or(0);
    match (kind, smoke) {
        (CheckKind::Smoke, Some(s)) => {
            if status != s.expect_status {
                return Err(format!("HTTP {status} (expected {})", s.expect_status));
            }
            if let Some(want) = &s.expect_body
                && !outcome.body.as_deref().unwrap_or("").contains(want.as_str())
            {
                return Err(format!("HTTP {status} but the body lacks {want:?}"));
            }
            Ok(())
        }
        _ if (200..300).contains(&status) => Ok(()),
        _ => Err(format!("HTTP {status} (expected 2xx)")),
    }
}

/// Sends the rounds of requests; stops at the first failure.
pub async fn validate_green(config: &HookConfig, checker: &dyn HttpChecker) -> (HookStatus, String, Vec<CheckResult>) {
    let health =
        HttpRequestSpec { method: "GET".into(), url: format!("{}{}", config.test_url, config.health_path), body: None };
    let smoke = config.smoke.as_ref().map(|s| HttpRequestSpec {
        method: s.method.clone(),
        url: format!("{}{}", config.test_url, s.path),
        body: s.body.clone(),
    });
    let mut checks = Vec::new();
    let mut next = tokio::time::Instant::now();
    for round in 1..=config.count {
        if round > 1 {
            tokio::time::sleep_until(next).await;
        }
        next += config.interval;
        let mut requests = vec![(CheckKind::Health, &health)];
        if let Some(s) = &smoke {
            requests.push((CheckKind::Smoke, s));
        }
        for (kind, spec) in requests {
            let outcome = checker.send(spec).await;
            let verdict = judge(kind, config.smoke.as_ref(), &outcome);
            let request = format!("{} {}", spec.method, spec.url);
            checks.push(CheckResult {
                kind,
                round,
                request: request.clone(),
                ok: verdict.is_ok(),
                status: outcome.status,
                latency_ms: outcome.latency_ms,
                failure: verdict.as_ref().err().cloned(),
            });
            if let Err(why) = verdict {
                let what = match kind {
                    CheckKind::Health => "health check",
                    CheckKind::Smoke => "smoke request",
                };
                let reason = format!("{what} {round}/{} {request}: {why}", config.count);
                return (HookStatus::Failed, reason, checks);
            }
        }
    }
    let rounds = config.count;
    let reason = match &config.smoke {
        Some(_) => format!("{rounds}/{rounds} health checks and smoke requests passed through {}", config.test_url),
        None => {
            format!("{rounds}/{rounds} health checks passed through {} (no smoke request configured)", config.test_url)
        }
    };
    (HookStatus::Succeeded, reason, checks)
}

/// The whole hook: validate the event (a malformed one gets no call at all), check the
/// green tasks, report the verdict to CodeDeploy.
pub async fn run_hook(
    event: &Value,
    config: &HookConfig,
    checker: &dyn HttpChecker,
    reporter: &dyn LifecycleHookReporter,
) -> Result<HookReport, HookError> {
    let event = LifecycleEvent::parse(event)?;
    tracing::info!(deployment_id = %event.deployment_id, test_url = %config.test_url, rounds = config.count, "validating the green tasks");
    let (status, reason, checks) = validate_green(config, checker).await;
    match status {
        HookStatus::Succeeded => tracing::info!(deployment_id = %event.deployment_id, %reason, "green tasks pass"),
        HookStatus::Failed => tracing::warn!(deployment_id = %event.deployment_id, %reason, "green tasks fail"),
    }
    let reported = match reporter.report_hook(&event.deployment_id, &event.execution_id, status).await {
        Ok(()) => true,
        // CodeDeploy already closed this execution (an earlier invocation answered, or it
        // timed out): nothing a retry could change.
        Err(e) if e.kind == ErrorKind::InvalidState => {
            tracing::warn!(deployment_id = %event.deployment_id, error = %e, "hook execution already completed");
            false
        }
        Err(source) => {
            return Err(HookError::Report {
                deployment_id: event.deployment_id,
                status: status.as_str(),
                reason,
                source,
            });
        }
    };
    tracing::info!(deployment_id = %event.deployment_id, status = status.as_str(), reported, "hook status reported");
    Ok(HookReport {
        deployment_id: event.deployment_id,
        execution_id: event.execution_id,
        status,
        reason,
        checks,
        reported,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn config_defaults_and_errors_name_the_variable() {
        let c = HookConfig::from_lookup(env(&[(TEST_URL_ENV, "https://shop.example.com:8443/")])).unwrap();
        assert_eq!(c.test_url, "https://shop.example.com:8443");
        assert_eq!((c.count, c.health_path.as_str(), c.smoke.is_none()), (5, "/healthz", true));
        assert_eq!(c.connect_rule(), None);

        assert!(matches!(HookConfig::from_lookup(env(&[])), Err(ConfigError::MissingEnv(TEST_URL_ENV))));
        for (k, v) in [
            (TEST_URL_ENV, "ftp://x"),
            (TEST_URL_ENV, "https://x:8443/healthz"),
            (COUNT_ENV, "0"),
            (TIMEOUT_ENV, "lots"),
            (HEALTH_PATH_ENV, "healthz"),
            (CONNECT_TO_ENV, "https://alb"),
        ] {
            let mut pairs = vec![(TEST_URL_ENV, "https://shop.example.com:8443")];
            pairs.retain(|(pk, _)| *pk != k);
            pairs.push((k, v));
            match HookConfig::from_lookup(env(&pairs)) {
                Err(ConfigError::Invalid { path, .. }) => assert_eq!(path, k),
                other => panic!("{k}={v}: {other:?}"),
            }
        }
        let c = HookConfig::from_lookup(env(&[
            (TEST_URL_ENV, "https://shop.example.com:8443"),
            (CONNECT_TO_ENV, "alb-1.us-east-1.elb.amazonaws.com"),
            (SMOKE_PATH_ENV, "/api/cart"),
            (SMOKE_METHOD_ENV, "post"),
            (SMOKE_EXPECT_STATUS_ENV, "201"),
        ]))
        .unwrap();
        let smoke = c.smoke.clone().unwrap();
        assert_eq!((smoke.method.as_str(), smoke.expect_status), ("POST", 201));
        assert_eq!(c.connect_rule(), Some(("shop.example.com".into(), "alb-1.us-east-1.elb.amazonaws.com".into())));
        assert!(c.worst_case() >= Duration::from_secs(30));
    }

    #[test]
    fn events_are_validated() {
        let ok =
            LifecycleEvent::parse(&json!({"DeploymentId": "d-ABCDE1234", "LifecycleEventHookExecutionId": "eyJ=="}));
        assert_eq!(ok.unwrap().deployment_id, "d-ABCDE1234");
        for bad in [
            json!(null),
            json!("d-ABCDE1234"),
            json!({"LifecycleEventHookExecutionId": "x"}),
            json!({"DeploymentId": "d-ABCDE1234"}),
            json!({"DeploymentId": "d-ABCDE1234", "LifecycleEventHookExecutionId": ""}),
            json!({"DeploymentId": 7, "LifecycleEventHookExecutionId": "x"}),
            json!({"DeploymentId": "deploy-1", "LifecycleEventHookExecutionId": "x"}),
            json!({"DeploymentId": "d-abcde1234", "LifecycleEventHookExecutionId": "x"}),
        ] {
            assert!(LifecycleEvent::parse(&bad).is_err(), "{bad} must be rejected");
        }
    }

    struct Scripted(Mutex<Vec<HttpOutcome>>);

    #[async_trait]
    impl HttpChecker for Scripted {
        async fn send(&self, _r: &HttpRequestSpec) -> HttpOutcome {
            let mut q = self.0.lock().unwrap();
            if q.is_empty() { answer(200, "ok") } else { q.remove(0) }
        }
    }

    fn answer(status: u16, body: &str) -> HttpOutcome {
        HttpOutcome { status: Some(status), body: Some(body.into()), latency_ms: 3, error: None }
    }

    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<(String, HookStatus)>>,
        fail_with: Option<ErrorKind>,
    }

    #[async_trait]
    impl LifecycleHookReporter for Recorder {
        fn region(&self) -> &str {
            "us-east-1"
        }
        async fn report_hook(&self, d: &str, _x: &str, s: HookStatus) -> Result<(), AwsError> {
            self.calls.lock().unwrap().push((d.to_string(), s));
            match self.fail_with {
                Some(kind) => {
                    Err(AwsError::new("codedeploy", "PutLifecycleEventHookExecutionStatus", "us-east-1", kind, "x"))
                }
                None => Ok(()),
            }
        }
    }

    fn config(smoke: bool) -> HookConfig {
        let mut pairs = vec![(TEST_URL_ENV, "http://green.test:8443"), (COUNT_ENV, "3"), (INTERVAL_ENV, "0")];
        if smoke {
            pairs.extend([(SMOKE_PATH_ENV, "/api/ping"), (SMOKE_EXPECT_BODY_ENV, "pong")]);
        }
        HookConfig::from_lookup(env(&pairs)).unwrap()
    }

    const EVENT: &str = r#"{"DeploymentId": "d-ABCDE1234", "LifecycleEventHookExecutionId": "exec-1"}"#;

    #[tokio::test]
    async fn verdicts_and_reasons() {
        let event: Value = serde_json::from_str(EVENT).unwrap();
        let rec = Recorder::default();
        let all_ok = Scripted(Mutex::new(vec![
            answer(200, ""),
            answer(200, "pong"),
            answer(204, ""),
            answer(200, "{pong}"),
            answer(200, ""),
            answer(200, "pong"),
        ]));
        let r = run_hook(&event, &config(true), &all_ok, &rec).await.unwrap();
        assert_eq!((r.status, r.checks.len(), r.reported), (HookStatus::Succeeded, 6, true));

        let smoke_wrong = Scripted(Mutex::new(vec![answer(200, ""), answer(200, "ping")]));
        let r = run_hook(&event, &config(true), &smoke_wrong, &rec).await.unwrap();
        assert_eq!(r.status, HookStatus::Failed);
        assert!(r.reason.contains("smoke request 1/3") && r.reason.contains("lacks \"pong\""), "{}", r.reason);
        assert_eq!(r.checks.len(), 2, "stops at the first failure");

        let health_5xx = Scripted(Mutex::new(vec![answer(200, ""), answer(503, "")]));
        let r = run_hook(&event, &config(false), &health_5xx, &rec).await.unwrap();
        assert!(r.reason.starts_with("health check 2/3 GET http://green.test:8443/healthz: HTTP 503"), "{}", r.reason);

        let timeout = Scripted(Mutex::new(vec![HttpOutcome {
            status: None,
            body: None,
            latency_ms: 3000,
            error: Some(HttpFailure::Timeout { after_ms: 3000 }),
        }]));
        let r = run_hook(&event, &config(false), &timeout, &rec).await.unwrap();
        assert!(r.reason.contains("no answer within 3000 ms"), "{}", r.reason);

        let calls = rec.calls.lock().unwrap().clone();
        let statuses: Vec<_> = calls.iter().map(|c| c.1).collect();
        assert_eq!(statuses, [HookStatus::Succeeded, HookStatus::Failed, HookStatus::Failed, HookStatus::Failed]);
    }

    #[tokio::test]
    async fn malformed_event_makes_no_call_and_report_errors_classify() {
        let rec = Recorder::default();
        let checker = Scripted(Mutex::new(vec![]));
        let e = run_hook(&json!({"DeploymentId": "x"}), &config(false), &checker, &rec).await.unwrap_err();
        assert!(!e.is_retryable() && e.to_string().contains("not a CodeDeploy lifecycle hook event"));
        assert!(rec.calls.lock().unwrap().is_empty());

        let event: Value = serde_json::from_str(EVENT).unwrap();
        let throttled = Recorder { fail_with: Some(ErrorKind::Throttled), ..Default::default() };
        let e = run_hook(&event, &config(false), &checker, &throttled).await.unwrap_err();
        assert!(e.is_retryable());
        let done = Recorder { fail_with: Some(ErrorKind::InvalidState), ..Default::default() };
        let r = run_hook(&event, &config(false), &checker, &done).await.unwrap();
        assert!(!r.reported);
    }
}
