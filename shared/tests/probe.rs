//! The probe against a local HTTP server that can be healthy, failing (5xx), slow (beyond the
//! timeout) or absent (closed port); metrics published in the probe's own region.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use common::*;
use drover_core::aws::cloudwatch::CloudWatchMetrics;
use drover_core::probe::{ProbeConfig, ProbeFailure, Prober, run_probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const HEALTHY: u8 = 0;
const FAILING: u8 = 1;
const SLOW: u8 = 2;

/// A tiny HTTP/1.1 server whose behaviour the test switches at will.
struct Target {
    url: String,
    mode: Arc<AtomicU8>,
}

async fn target() -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let mode = Arc::new(AtomicU8::new(HEALTHY));
    let m = mode.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let m = m.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = match m.load(Ordering::SeqCst) {
                    FAILING => ("503 Service Unavailable", "down"),
                    SLOW => {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        ("200 OK", "late")
                    }
                    _ => ("200 OK", "ok"),
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    Target { url, mode }
}

/// A loopback port with nothing listening.
async fn absent_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/healthz")
}

fn config(count: u32) -> ProbeConfig {
    ProbeConfig { count, interval: Duration::from_millis(20), timeout: Duration::from_millis(400), db_endpoint: None }
}

#[tokio::test]
async fn healthy_failing_slow_and_absent_endpoints() {
    let t = target().await;
    let p = Prober::new(config(3)).unwrap();

    let r = p.run("us-west-2", "us-east-1", &t.url).await;
    assert_eq!((r.successes, r.failures, r.success_ratio), (3, 0, 1.0), "{r:?}");
    assert!(r.attempts.iter().all(|a| a.status == Some(200)));

    t.mode.store(FAILING, Ordering::SeqCst);
    let r = p.run("us-west-2", "us-east-1", &t.url).await;
    assert_eq!((r.successes, r.failures, r.success_ratio), (0, 3, 0.0));
    assert!(r.attempts.iter().all(|a| a.failure == Some(ProbeFailure::Status { code: 503 })), "{r:?}");

    t.mode.store(SLOW, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let r = p.run("us-west-2", "us-east-1", &t.url).await;
    assert_eq!(r.failures, 3);
    assert!(r.attempts.iter().all(|a| a.failure == Some(ProbeFailure::Timeout)), "{r:?}");
    assert_eq!(r.latency_max_ms, 400, "a timed-out probe counts at the timeout");
    assert!(started.elapsed() < Duration::from_millis(1500), "the timeout bounds each probe: {:?}", started.elapsed());

    let r = p.run("us-west-2", "us-east-1", &absent_url().await).await;
    assert_eq!(r.failures, 3);
    assert!(r.attempts.iter().all(|a| matches!(a.failure, Some(ProbeFailure::Connect { .. }))), "{r:?}");

    // Flapping: the ratio says how many of the probes failed.
    t.mode.store(HEALTHY, Ordering::SeqCst);
    let p4 = Prober::new(ProbeConfig { interval: Duration::from_millis(150), ..config(4) }).unwrap();
    let m = t.mode.clone();
    let flip = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(220)).await;
        m.store(FAILING, Ordering::SeqCst);
    });
    let r = p4.run("us-west-2", "us-east-1", &t.url).await;
    flip.await.unwrap();
    assert!(r.successes >= 1 && r.failures >= 1, "{r:?}");
}

#[tokio::test]
async fn the_db_endpoint_is_checked_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let p = Prober::new(ProbeConfig { db_endpoint: Some(open.clone()), ..config(1) }).unwrap();
    let c = p.tcp_check(&open).await;
    assert!(c.reachable, "{c:?}");
    let closed = absent_url().await.trim_start_matches("http://").trim_end_matches("/healthz").to_string();
    let c = p.tcp_check(&closed).await;
    assert!(!c.reachable && c.error.is_some(), "{c:?}");
}

#[tokio::test]
async fn metrics_go_to_the_probes_own_region_only() {
    let t = target().await;
    let w = World::new(1.0);
    let mut topology = w.topology.clone();
    // The standby probes the primary's public health URL.
    let primary = topology.regions.iter_mut().find(|r| r.name == PRIMARY).unwrap();
    primary.alb.health_url = t.url.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let db = listener.local_addr().unwrap().to_string();

    t.mode.store(FAILING, Ordering::SeqCst);
    let clients = w.clients(STANDBY).await;
    let metrics = CloudWatchMetrics::new(&clients);
    let p = Prober::new(ProbeConfig { db_endpoint: Some(db), ..config(2) }).unwrap();
    let report = run_probe(&topology, STANDBY, &p, &metrics).await.unwrap();
    assert!(report.metrics_published);
    assert_eq!(report.target_region, PRIMARY);
    assert!(report.db.as_ref().unwrap().reachable);

    let calls = w.emu.calls();
    assert!(calls.iter().all(|c| c["region"] == STANDBY), "nothing in the watched region: {calls:?}");
    assert_eq!(w.emu.writes(), vec!["monitoring:PutMetricData@us-west-2"]);

    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let stats = clients
        .cloudwatch
        .get_metric_statistics()
        .namespace("Drover/Probe")
        .metric_name("ProbeFailures")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder().name("Application").value(&topology.application).build(),
        )
        .dimensions(aws_sdk_cloudwatch::types::Dimension::builder().name("Target").value(PRIMARY).build())
        .start_time(aws_smithy_types::DateTime::from_secs(now.secs() - 300))
        .end_time(aws_smithy_types::DateTime::from_secs(now.secs() + 60))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.datapoints().first().and_then(|d| d.sum()), Some(2.0), "the seeded probe alarm's metric");

    // Publishing failures are errors (the alarms would go blind), retryable when the region blips.
    w.emu.fault("monitoring", STANDBY, "PutMetricData", FaultKind::Error5xx, None);
    let w1 = drover_core::aws::ClientFactory::with_options(drover_core::aws::factory::FactoryOptions {
        endpoint_url: Some(w.emu.endpoint.clone()),
        static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
        max_attempts: Some(1),
    });
    let metrics1 = CloudWatchMetrics::new(&w1.region(STANDBY).await.unwrap());
    let err = run_probe(&topology, STANDBY, &p, &metrics1).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
