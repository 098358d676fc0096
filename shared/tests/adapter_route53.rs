//! TrafficRouter: the gate over CloudWatch in the standby region and the weights over Route 53.

mod common;

use common::*;
use drover_core::ErrorKind;
use drover_core::aws::route53::Route53TrafficRouter;
use drover_core::ports::{ChangeStatus, HealthStatus, TrafficRouter};

#[tokio::test]
async fn weights_move_and_the_change_goes_insync_in_modeled_time() {
    let w = World::new(60.0);
    let r53 = w.region(STANDBY).route53.clone();
    let router = Route53TrafficRouter::new(&*w.clients(STANDBY).await);
    let records = router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await.unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let weight_of = |recs: &[drover_core::ports::WeightedRecord], set: &str| {
        recs.iter().find(|r| r.set_identifier == set).map(|r| r.weight)
    };
    assert_eq!(weight_of(&records, PRIMARY), Some(w.region(PRIMARY).route53.active_weight));
    assert_eq!(weight_of(&records, STANDBY), Some(r53.standby_weight));
    assert!(records.iter().all(|r| r.health_check_id.is_some()), "every weighted record carries a health check");

    let flipped: Vec<_> = records
        .iter()
        .cloned()
        .map(|mut r| {
            r.weight = if r.set_identifier == STANDBY { r53.active_weight } else { 0 };
            r
        })
        .collect();
    let t0 = w.emu.modeled_now();
    let change = router.set_weights(&r53.hosted_zone_id, &flipped, "drover test").await.unwrap();
    assert_eq!(router.change_status(&change).await.unwrap(), ChangeStatus::Pending);
    let change2 = router.set_weights(&r53.hosted_zone_id, &flipped, "drover test again").await.unwrap();
    assert_ne!(change, change2, "change ids are unique");
    eventually(30, || async { (router.change_status(&change).await.ok()? == ChangeStatus::Insync).then_some(()) })
        .await;
    assert!(w.emu.modeled_now() - t0 >= 55.0);

    let after = router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await.unwrap();
    assert_eq!(weight_of(&after, STANDBY), Some(r53.active_weight));
    assert_eq!(weight_of(&after, PRIMARY), Some(0));
    let unchanged = |a: &drover_core::ports::WeightedRecord, b: &drover_core::ports::WeightedRecord| {
        a.values == b.values && a.health_check_id == b.health_check_id && a.ttl == b.ttl
    };
    for r in &after {
        let before = records.iter().find(|b| b.set_identifier == r.set_identifier).unwrap();
        assert!(unchanged(before, r), "only the weight changes: {before:?} -> {r:?}");
    }
}

#[tokio::test]
async fn the_gate_flips_in_the_standby_region_while_route53_is_down() {
    let w = World::with_attempts(1.0, 1);
    let primary_gate = w.region(PRIMARY).gate.clone();
    let r53 = w.region(STANDBY).route53.clone();
    // Route 53's control plane lives in us-east-1: take that region down.
    w.emu.region_down(PRIMARY);
    let router = Route53TrafficRouter::new(&*w.clients(STANDBY).await);
    let err = router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    router.set_gate(&primary_gate, false).await.unwrap();
    assert_eq!(router.gate(&primary_gate).await.unwrap(), Some(false));
    // The gate is read per one-second bucket (the alarm's resolution): open it in a new second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    router.set_gate(&primary_gate, true).await.unwrap();
    assert_eq!(router.gate(&primary_gate).await.unwrap(), Some(true));
    assert!(w.emu.writes().iter().all(|c| c.ends_with(STANDBY)), "{:?}", w.emu.writes());
}

#[tokio::test]
async fn health_check_status_follows_the_emulator() {
    let w = World::new(1.0);
    let hc = w.region(PRIMARY).route53.health_check_id.clone();
    let router = Route53TrafficRouter::new(&*w.clients(STANDBY).await);
    assert_eq!(router.health_check_status(&hc).await.unwrap(), HealthStatus::Healthy);
    w.emu.set_health_check(&hc, false);
    assert_eq!(router.health_check_status(&hc).await.unwrap(), HealthStatus::Unhealthy);
}

#[tokio::test]
async fn route53_throttling_is_retryable() {
    let w = World::with_attempts(1.0, 1);
    let r53 = w.region(STANDBY).route53.clone();
    w.emu.fault("route53", "*", "ListResourceRecordSets", FaultKind::Throttle, None);
    let router = Route53TrafficRouter::new(&*w.clients(STANDBY).await);
    let err = router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    let err = router.weighted_records("ZNOSUCHZONE", &r53.record_name, r53.record_type).await;
    assert!(err.is_err());
}
