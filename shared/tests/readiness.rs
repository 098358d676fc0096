//! readiness against the emulator: a ready standby, each check failing on its own, metrics per
//! check, and one event per change of verdict (not per run).

mod common;

use std::sync::Arc;

use common::*;
use drover_core::aws::dynamodb::DynamoLease;
use drover_core::aws::route53::Route53TrafficRouter;
use drover_core::policy::readiness::{Check, CheckStatus, ReadinessChecker, ReadinessReport, Role};
use drover_core::ports::{SystemClock, TrafficRouter};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const SECRET: &str = "shop/db";

fn image_uri() -> String {
    format!("{ACCOUNT}.dkr.ecr.{STANDBY}.amazonaws.com/shop/web:v1")
}

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]}"#;

async fn put_image(w: &World) {
    let c = w.clients(STANDBY).await;
    c.ecr.put_image().repository_name("shop/web").image_tag("v1").image_manifest(MANIFEST).send().await.unwrap();
}

/// Registers a Fargate task definition running `image` and points the standby service at it.
async fn use_image(w: &World, image: &str) {
    let c = w.clients(STANDBY).await;
    let td = c
        .ecs
        .register_task_definition()
        .family("shop-web")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("512")
        .memory("1024")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("web").image(image).essential(true).build(),
        )
        .send()
        .await
        .unwrap();
    let arn = td.task_definition().unwrap().task_definition_arn().unwrap().to_string();
    let svc = &w.region(STANDBY).ecs[0];
    c.ecs.update_service().cluster(&svc.cluster).service(&svc.service).task_definition(arn).send().await.unwrap();
}

/// What Terraform and the image pipeline give the standby beyond the seed: its image in its own
/// ECR, a task definition that uses it, and the database secret.
async fn make_ready(w: &World) {
    let c = w.clients(STANDBY).await;
    c.ecr.create_repository().repository_name("shop/web").send().await.unwrap();
    put_image(w).await;
    use_image(w, &image_uri()).await;
    c.secretsmanager.create_secret().name(SECRET).secret_string("{\"password\":\"test-only\"}").send().await.unwrap();
}

async fn checker(w: &World, region: &str) -> ReadinessChecker {
    ReadinessChecker::from_factory(
        Arc::new(w.topology.clone()),
        region,
        &w.factory,
        Arc::new(SystemClock),
        Some(SECRET.into()),
    )
    .await
    .unwrap()
}

fn failing(r: &ReadinessReport) -> Vec<&str> {
    r.failing.iter().map(String::as_str).collect()
}

fn events(w: &World) -> Vec<Value> {
    w.emu
        .sns_messages(&w.region(STANDBY).sns.topic_arn)
        .iter()
        .map(|m| serde_json::from_str(m["message"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_ready_standby_announces_once_then_only_changes() {
    let w = World::new(1.0);
    make_ready(&w).await;
    let mut ck = checker(&w, STANDBY).await;

    let r = ck.run().await.unwrap();
    assert!(r.ready, "{}\n{:#?}", r.message, r.checks);
    assert_eq!(r.role, Role::Standby);
    assert!(r.changed, "the first verdict is a change from unknown");
    let all: std::collections::BTreeSet<Check> = r.checks.iter().map(|c| c.check).collect();
    assert_eq!(all.len(), 10, "every check ran: {all:?}");
    assert!(r.checks.iter().all(|c| c.status == CheckStatus::Pass), "{:#?}", r.checks);

    w.emu.clear_calls();
    let again = ck.run().await.unwrap();
    assert!(again.ready && !again.changed);
    assert_eq!(events(&w).len(), 1, "an unchanged verdict publishes no event");
    let writes = w.emu.writes();
    assert_eq!(writes, vec!["monitoring:PutMetricData@us-west-2"], "metrics every run, nothing else");

    // Each check failing on its own, undone after; one event per change.
    let c = w.clients(STANDBY).await;

    ck.db_secret_id = Some("shop/missing".into());
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["db_secret"], "{}", r.message);
    assert!(r.changed && !r.ready);
    ck.db_secret_id = Some(SECRET.into());
    assert!(ck.run().await.unwrap().ready);

    c.ecr
        .batch_delete_image()
        .repository_name("shop/web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .unwrap();
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["ecr_image"], "{}", r.message);
    put_image(&w).await;
    assert!(ck.run().await.unwrap().ready);

    let router = Route53TrafficRouter::new(&c);
    let r53 = &w.region(STANDBY).route53;
    let records = router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await.unwrap();
    let mut stripped = records.clone();
    stripped.iter_mut().filter(|x| x.set_identifier == PRIMARY).for_each(|x| x.health_check_id = None);
    router.set_weights(&r53.hosted_zone_id, &stripped, "test: drop a health check").await.unwrap();
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["route53_records"], "{}", r.message);
    router.set_weights(&r53.hosted_zone_id, &records, "test: restore").await.unwrap();
    assert!(ck.run().await.unwrap().ready);

    let sm = w.region(STANDBY).state_machine_arn.clone().unwrap();
    c.sfn.delete_state_machine().state_machine_arn(&sm).send().await.unwrap();
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["state_machine"], "{}", r.message);
    let role = format!("arn:aws:iam::{ACCOUNT}:role/drover-shop-sfn");
    let def = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string();
    let again =
        c.sfn.create_state_machine().name("drover-shop-failover").definition(def).role_arn(role).send().await.unwrap();
    assert_eq!(again.state_machine_arn(), sm);
    assert!(ck.run().await.unwrap().ready);

    let real_lease = ck.lease.clone();
    ck.lease = Arc::new(DynamoLease::new(&c, "no-such-lease-table"));
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["lease_table"], "{}", r.message);
    ck.lease = real_lease;
    assert!(ck.run().await.unwrap().ready);

    // Lag last: the lag reading is the maximum of the current minute, so it cannot be undone.
    w.emu.set_replication_lag(STANDBY, &w.region(STANDBY).aurora[0].cluster_id, 120_000);
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["replication_lag"], "{}", r.message);

    let kinds: Vec<(bool, Vec<String>)> = events(&w)
        .iter()
        .map(|e| {
            assert_eq!(e["event_type"], "readiness_changed");
            (
                e["evidence"]["ready"].as_bool().unwrap(),
                serde_json::from_value(e["evidence"]["failing"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 12, "one event per change: {kinds:?}");
    assert_eq!(kinds.iter().filter(|(ready, _)| *ready).count(), 6);
}

#[tokio::test]
async fn aurora_and_ecs_checks_fail_on_their_own() {
    // A different engine version, then a detached secondary.
    let w = World::new(1.0);
    make_ready(&w).await;
    let ck = checker(&w, STANDBY).await;
    assert!(ck.run().await.unwrap().ready);
    let c = w.clients(STANDBY).await;
    let a = &w.region(STANDBY).aurora[0];
    // An engine version that differs from the global cluster's.
    for (version, expect_ready) in [("16.6", false), ("16.4", true)] {
        c.rds
            .modify_db_cluster()
            .db_cluster_identifier(&a.cluster_id)
            .engine_version(version)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        let r = ck.run().await.unwrap();
        assert_eq!(r.ready, expect_ready, "{}", r.message);
        if !expect_ready {
            assert_eq!(failing(&r), ["engine_version"], "{}", r.message);
        }
    }
    c.rds
        .remove_from_global_cluster()
        .global_cluster_identifier(&a.global_cluster_id)
        .db_cluster_identifier(&a.cluster_arn)
        .send()
        .await
        .unwrap();
    w.emu.control("POST", "/_drover/clock", Some(json!({ "advance": 120 })));
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["aurora_secondary"], "{}", r.message);

    // The ECS service gone (its task definition and image are then not checked).
    let w = World::new(1.0);
    make_ready(&w).await;
    let ck = checker(&w, STANDBY).await;
    let c = w.clients(STANDBY).await;
    let s = &w.region(STANDBY).ecs[0];
    c.ecs.delete_service().cluster(&s.cluster).service(&s.service).force(true).send().await.unwrap();
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["ecs_service"], "{}", r.message);

    // An image pulled across regions is not ready: the standby must not depend on the primary.
    let w = World::new(1.0);
    make_ready(&w).await;
    let ck = checker(&w, STANDBY).await;
    let cross = format!("{ACCOUNT}.dkr.ecr.{PRIMARY}.amazonaws.com/shop/web:v1");
    use_image(&w, &cross).await;
    let r = ck.run().await.unwrap();
    assert_eq!(failing(&r), ["ecr_image"], "{}", r.message);
    assert!(r.message.contains("us-east-1's ECR"), "{}", r.message);
}

#[tokio::test]
async fn the_active_region_skips_the_secondary_checks_and_a_throttle_is_retryable() {
    let w = World::with_attempts(1.0, 1);
    let ck = checker(&w, PRIMARY).await;
    let r = ck.run().await.unwrap();
    assert_eq!(r.role, Role::Active);
    for c in r
        .checks
        .iter()
        .filter(|c| matches!(c.check, Check::AuroraSecondary | Check::ReplicationLag | Check::EngineVersion))
    {
        assert_eq!(c.status, CheckStatus::Skipped, "{c:?}");
    }
    w.emu.fault("rds", PRIMARY, "DescribeDBClusters", FaultKind::Throttle, None);
    let err = ck.run().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
