//! `make drill`: a failover game day against the drover AWS emulator.
//!
//! It starts the emulator, seeds the two-region topology, takes the primary region down, and
//! drives the recovery through drover-core's real adapters (real SDK calls, real wire
//! protocols) on the emulator's modeled clock, then prints and writes a timeline.
//!
//! Until the failover state machine and its step Lambdas exist, the drill runs the recovery
//! sequence itself, in the order the state machine will, and says so in its output.

mod report;

use std::time::{Duration, Instant};

use drover_core::aws::ClientFactory;
use drover_core::aws::cloudwatch::CloudWatchMetrics;
use drover_core::aws::dynamodb::DynamoLease;
use drover_core::aws::ecs::EcsServiceScaler;
use drover_core::aws::factory::FactoryOptions;
use drover_core::aws::rds::RdsGlobalDatabase;
use drover_core::aws::route53::Route53TrafficRouter;
use drover_core::aws::sns::SnsPublisher;
use drover_core::events::{EventType, PublishedEvent, Severity};
use drover_core::ports::{
    ChangeStatus, GlobalDatabase, Lease, MetricDatum, Metrics, Publisher, ServiceScaler, TrafficRouter, Unit,
};
use drover_core::{Mode, Step, StepStatus, Topology};
use drover_harness::Emulator;
use report::Report;

struct Args {
    speed: f64,
    primary: String,
    standby: String,
    reports: std::path::PathBuf,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        speed: 60.0,
        primary: "us-east-1".into(),
        standby: "us-west-2".into(),
        reports: drover_harness::workspace_root().join("reports"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--speed" => a.speed = value()?.parse().map_err(|e| format!("--speed: {e}"))?,
            "--primary" => a.primary = value()?,
            "--standby" => a.standby = value()?,
            "--reports" => a.reports = value()?.into(),
            "--help" | "-h" => {
                return Err(
                    "usage: drover-drill [--speed N] [--primary REGION] [--standby REGION] [--reports DIR]".into()
                );
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    if !(a.speed > 0.0) {
        return Err("--speed must be positive".into());
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match run(&args).await {
        Ok(report) => {
            println!("{}", report.text());
            match report.write(&args.reports, "drill-unplanned") {
                Ok((md, svg)) => println!("report: {}\ntimeline: {}", md.display(), svg.display()),
                Err(e) => eprintln!("could not write the report under {}: {e}", args.reports.display()),
            }
        }
        Err(e) => {
            eprintln!("drill failed: {e}");
            std::process::exit(1);
        }
    }
}

type DrillResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Polls `f` every 20 ms of real time until it yields, for at most `secs` real seconds.
async fn until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> DrillResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = DrillResult<Option<T>>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: not reached within {secs} s of real time").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(args: &Args) -> DrillResult<Report> {
    let wall = Instant::now();
    let emu = Emulator::start(args.speed);
    let topology = Topology::from_json(&emu.seed(&args.primary, &args.standby))?;
    let (from, to) = (args.primary.as_str(), args.standby.as_str());
    let factory = ClientFactory::with_options(FactoryOptions {
        endpoint_url: Some(emu.endpoint.clone()),
        static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
        max_attempts: None,
    });
    let clients = factory.region(to).await?;
    let (src, dst) = (topology.region(from)?.clone(), topology.region(to)?.clone());
    let rds = RdsGlobalDatabase::new(&clients);
    let ecs = EcsServiceScaler::new(&clients);
    let router = Route53TrafficRouter::new(&clients);
    let metrics = CloudWatchMetrics::new(&clients);
    let publisher = SnsPublisher::new(&clients);
    let lease = DynamoLease::new(&clients, &dst.lease_table);

    let mut report = Report {
        title: format!("drover drill: {} unplanned failover {from} -> {to}", topology.application),
        scenario: format!("unplanned: {from} goes down; recovery runs from {to}"),
        ..Report::default()
    };
    report.notes.push(
        "The failover state machine and the step Lambdas are not built yet: this drill drives drover-core's AWS adapters \
         directly, in the order the state machine will (decide, promote-db ‖ scale-compute, shift-traffic, verify, notify)."
            .into(),
    );
    let t0 = emu.modeled_now();
    let since = |emu: &Emulator| emu.modeled_now() - t0;

    // The failure.
    emu.region_down(from);

    // Detection: the probe in the standby region sees every request to the primary fail and
    // publishes that; the probe alarm evaluates it.
    let probe_alarm = topology
        .signals_watching(from)
        .find(|s| s.region == to)
        .ok_or("no signal in the standby region watches the primary")?
        .alarm_name
        .clone();
    let detect_start = since(&emu);
    let probe_dims = std::collections::BTreeMap::from([
        ("Application".to_string(), topology.application.clone()),
        ("Target".to_string(), from.to_string()),
    ]);
    // One probe result per 10 modeled seconds, as the probe publishes them.
    let probe_interval = Duration::from_secs_f64(10.0 / args.speed);
    until("the probe alarm", 60, || async {
        tokio::time::sleep(probe_interval).await;
        let failures = MetricDatum {
            name: "ProbeSuccessRatio".into(),
            value: 0.0,
            unit: Unit::None,
            dimensions: probe_dims.clone(),
            high_resolution: true,
        };
        metrics.put("Drover/Probe", &[failures]).await?;
        let out = clients.cloudwatch.describe_alarms().alarm_names(&probe_alarm).send().await?;
        let state = out.metric_alarms().first().and_then(|a| a.state_value()).map(|s| s.as_str().to_string());
        Ok((state.as_deref() == Some("ALARM")).then_some(()))
    })
    .await?;
    report.span("detect (probe alarm)", detect_start, since(&emu), "done", format!("{probe_alarm} in ALARM"));

    // decide: RPO evidence and the lease.
    let decide_start = since(&emu);
    let aurora = dst.aurora.clone();
    let mut lags = Vec::new();
    for c in &aurora {
        let lag = rds.replication_lag(&c.cluster_id).await?;
        lags.push((c.cluster_id.clone(), lag));
    }
    let run_id = format!("drill-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    let grant = lease
        .acquire("drover-drill", &run_id, Duration::from_secs(u64::from(topology.policy.lease_ttl_seconds)))
        .await?;
    report.span("decide", decide_start, since(&emu), "done", format!("lease token {}", grant.fencing_token));

    // promote-db ‖ scale-compute.
    let par_start = since(&emu);
    let promote = async {
        for c in &aurora {
            lease.check(grant.fencing_token).await?;
            rds.failover(&c.global_cluster_id, &c.cluster_arn, true).await?;
        }
        until("Aurora promotion", 120, || async {
            for c in &aurora {
                let g = rds.global_cluster(&c.global_cluster_id).await?;
                let writer = g.writer().map(|m| m.cluster_arn.as_str()) == Some(c.cluster_arn.as_str());
                if !(writer && g.failover.is_none()) {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await?;
        DrillResult::Ok(since(&emu))
    };
    let scale = async {
        for s in &dst.ecs {
            lease.check(grant.fencing_token).await?;
            ecs.set_desired_count(&s.cluster, &s.service, s.active_desired_count).await?;
        }
        until("ECS steady state", 120, || async {
            for s in &dst.ecs {
                if !ecs.service(&s.cluster, &s.service).await?.is_steady() {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await?;
        DrillResult::Ok(since(&emu))
    };
    let (promoted_at, scaled_at) = tokio::join!(promote, scale);
    let (promoted_at, scaled_at) = (promoted_at?, scaled_at?);
    let lag_text: Vec<String> = lags
        .iter()
        .map(|(id, l)| match l {
            Some(l) => format!("{id}: {} ms", l.lag.as_millis()),
            None => format!("{id}: no datapoint"),
        })
        .collect();
    report.span("promote-db", par_start, promoted_at, "done", format!("FailoverGlobalCluster AllowDataLoss in {to}"));
    report.span("scale-compute", par_start, scaled_at, "done", format!("{} service(s) at active count", dst.ecs.len()));

    // shift-traffic: the gate first (data plane), then the weights (control plane, best effort).
    let shift_start = since(&emu);
    lease.check(grant.fencing_token).await?;
    router.set_gate(&dst.gate, true).await?;
    router.set_gate(&src.gate, false).await?;
    // Traffic is on the standby when Route 53's data plane answers only the standby's record.
    let gate_closed = until("DNS answering the standby only", 120, || async {
        let a = emu.dns_answer(&src.route53.hosted_zone_id, &src.route53.record_name, src.route53.record_type.as_str());
        let sets: Vec<&str> = a["answers"]
            .as_array()
            .map(|v| v.iter().filter_map(|x| x["set_identifier"].as_str()).collect())
            .unwrap_or_default();
        Ok((sets == [dst.route53.set_identifier.as_str()]).then(|| since(&emu)))
    })
    .await;
    let weights = async {
        let records = router
            .weighted_records(&dst.route53.hosted_zone_id, &dst.route53.record_name, dst.route53.record_type)
            .await?;
        let flipped: Vec<_> = records
            .into_iter()
            .map(|mut r| {
                r.weight = if r.set_identifier == dst.route53.set_identifier { dst.route53.active_weight } else { 0 };
                r
            })
            .collect();
        let change = router.set_weights(&dst.route53.hosted_zone_id, &flipped, &format!("drover {run_id}")).await?;
        until("Route 53 INSYNC", 120, || async {
            Ok((router.change_status(&change).await? == ChangeStatus::Insync).then_some(()))
        })
        .await
    }
    .await;
    let (outcome, detail) = match (&gate_closed, &weights) {
        (Ok(_), Ok(())) => ("done", "gate closed, weights INSYNC".to_string()),
        (Ok(_), Err(e)) => ("degraded", format!("traffic moved through the gate only; weights not changed: {e}")),
        (Err(e), _) => ("failed", format!("gate did not take the old primary out: {e}")),
    };
    report.span("shift-traffic", shift_start, since(&emu), outcome, detail);
    let traffic_at = match gate_closed {
        Ok(t) => t,
        Err(e) => return Err(e),
    };

    // notify: the run's result on the standby region's encrypted topic.
    let notify_start = since(&emu);
    // Resolvers keep the old answer for up to the record's TTL.
    let ttl = f64::from(60u8);
    let rto = traffic_at + ttl;
    let event = PublishedEvent::new(&topology.application, EventType::RunSucceeded, Severity::Critical, StepStatus::Succeeded, format!(
        "{} now serves from {to}: Aurora writer promoted, services scaled, {from} out of DNS. Modeled RTO {rto:.0} s.",
        topology.application
    ))
    .for_run(&run_id, Some(grant.fencing_token), Mode::Unplanned, from, to)
    .with_step(Step::Notify)
    .with_evidence("rto_seconds", rto)
    .with_evidence("replication_lag", &lag_text);
    publisher.publish(&dst.sns.topic_arn, &event).await?;
    lease.release(grant.fencing_token).await?;
    report.span("notify + release lease", notify_start, since(&emu), "done", "published to the KMS-encrypted topic");

    let floor = emu.control("GET", "/_drover/durations", None);
    report.fact(
        "Measured RTO (modeled)",
        format!("{rto:.1} s: {traffic_at:.1} s from the failure until Route 53 answers only {to}, plus the {ttl:.0} s record TTL for cached answers"),
    );
    report.fact("RPO evidence (replication lag before promotion)", lag_text.join(", "));
    report.fact("Fencing token", grant.fencing_token.to_string());
    report.fact("Events published", format!("{} on {}", emu.sns_messages(&dst.sns.topic_arn).len(), dst.sns.topic_arn));
    report.fact("Emulator durations (modeled s)", floor.to_string());
    report.fact("Modeled time speed factor", format!("{}", args.speed));
    report.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(report)
}
