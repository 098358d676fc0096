//! GlobalDatabase over RDS, against the emulator in two regions.

mod common;

use common::*;
use drover_core::ErrorKind;
use drover_core::aws::rds::RdsGlobalDatabase;
use drover_core::ports::{FailoverStatus, GlobalClusterStatus, GlobalDatabase};

struct Db {
    global: String,
    primary_arn: String,
    standby_arn: String,
    standby_id: String,
}

fn db(w: &World) -> Db {
    let p = &w.region(PRIMARY).aurora[0];
    let s = &w.region(STANDBY).aurora[0];
    Db {
        global: p.global_cluster_id.clone(),
        primary_arn: p.cluster_arn.clone(),
        standby_arn: s.cluster_arn.clone(),
        standby_id: s.cluster_id.clone(),
    }
}

#[tokio::test]
async fn both_regions_see_the_seeded_global_cluster() {
    let w = World::new(1.0);
    let d = db(&w);
    for region in [PRIMARY, STANDBY] {
        let rds = RdsGlobalDatabase::new(&*w.clients(region).await);
        let g = rds.global_cluster(&d.global).await.unwrap();
        assert_eq!(g.status, GlobalClusterStatus::Available);
        assert_eq!(g.writer().map(|m| m.cluster_arn.as_str()), Some(d.primary_arn.as_str()), "in {region}");
        assert!(g.member(&d.standby_arn).is_some_and(|m| !m.is_writer));
        assert!(g.failover.is_none());
    }
    let standby = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let c = standby.cluster(&d.standby_id).await.unwrap();
    assert_eq!(c.arn, d.standby_arn);
    assert_eq!(c.global_cluster_id.as_deref(), Some(d.global.as_str()));
    assert!(w.emu.writes().is_empty(), "reads only: {:?}", w.emu.writes());
}

#[tokio::test]
async fn unplanned_failover_from_the_standby_region_while_the_primary_is_down() {
    let w = World::new(60.0);
    let d = db(&w);
    w.emu.region_down(PRIMARY);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let t0 = w.emu.modeled_now();
    rds.failover(&d.global, &d.standby_arn, true).await.unwrap();

    let during = rds.global_cluster(&d.global).await.unwrap();
    let f = during.failover.expect("FailoverState while the failover runs");
    assert!(matches!(f.status, FailoverStatus::Pending | FailoverStatus::FailingOver), "{f:?}");
    assert!(f.data_loss_allowed);
    assert_eq!(f.to_cluster_arn.as_deref(), Some(d.standby_arn.as_str()));

    // A second failover while one runs is refused by the service, not by us.
    let again = rds.failover(&d.global, &d.standby_arn, true).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::InvalidState, "{again}");

    let done = eventually(30, || async {
        let g = rds.global_cluster(&d.global).await.ok()?;
        (g.failover.is_none() && g.writer().map(|m| m.cluster_arn.as_str()) == Some(d.standby_arn.as_str()))
            .then_some(g)
    })
    .await;
    assert_eq!(done.status, GlobalClusterStatus::Available);
    let modeled = w.emu.modeled_now() - t0;
    assert!(modeled >= 55.0, "a managed failover takes about a minute of modeled time, took {modeled:.1} s");
    assert!(
        w.emu.writes().iter().all(|c| c.ends_with(STANDBY)),
        "every write in the standby region: {:?}",
        w.emu.writes()
    );
}

#[tokio::test]
async fn planned_switchover() {
    let w = World::new(60.0);
    let d = db(&w);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    rds.switchover(&d.global, &d.standby_arn).await.unwrap();
    let g = rds.global_cluster(&d.global).await.unwrap();
    assert!(g.failover.as_ref().is_some_and(|f| !f.data_loss_allowed), "{g:?}");
    eventually(30, || async {
        let g = rds.global_cluster(&d.global).await.ok()?;
        (g.writer().map(|m| m.cluster_arn.clone()) == Some(d.standby_arn.clone()) && g.failover.is_none()).then_some(())
    })
    .await;
    // Switching over to the writer it already is: the documented fault.
    let err = rds.switchover(&d.global, &d.standby_arn).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidState | ErrorKind::Rejected), "{err}");
}

#[tokio::test]
async fn switchover_needs_both_regions() {
    let w = World::new(60.0);
    let d = db(&w);
    w.emu.region_down(PRIMARY);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let err = rds.switchover(&d.global, &d.standby_arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidState, "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn detach_and_promote_in_the_standby_region() {
    let w = World::new(60.0);
    let d = db(&w);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    rds.detach(&d.global, &d.standby_arn).await.unwrap();
    let c = eventually(30, || async {
        let c = rds.cluster(&d.standby_id).await.ok()?;
        (c.global_cluster_id.is_none() && c.status == "available").then_some(c)
    })
    .await;
    assert_eq!(c.arn, d.standby_arn);
    let g = rds.global_cluster(&d.global).await.unwrap();
    assert!(g.member(&d.standby_arn).is_none(), "detached member left the global cluster: {g:?}");
}

#[tokio::test]
async fn unknown_global_cluster_is_not_found() {
    let w = World::new(1.0);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let err = rds.global_cluster("no-such-global").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let err = rds.failover("no-such-global", &db(&w).standby_arn, true).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(
        w.emu.writes().iter().all(|c| c.contains("FailoverGlobalCluster")),
        "only the refused call: {:?}",
        w.emu.writes()
    );
}

#[tokio::test]
async fn replication_lag_is_read_from_cloudwatch() {
    let w = World::new(1.0);
    let d = db(&w);
    w.emu.set_replication_lag(STANDBY, &d.standby_id, 1234);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let lag = rds.replication_lag(&d.standby_id).await.unwrap().expect("a recent lag datapoint");
    assert_eq!(lag.lag.as_millis(), 1234);
    assert!(rds.replication_lag("no-such-cluster").await.unwrap().is_none());
}

#[tokio::test]
async fn a_transient_throttle_is_retried_by_the_sdk() {
    let w = World::new(1.0);
    let d = db(&w);
    w.emu.fault("rds", STANDBY, "DescribeGlobalClusters", FaultKind::Throttle, Some(2));
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    let g = rds.global_cluster(&d.global).await.unwrap();
    assert_eq!(g.id, d.global);
}

#[tokio::test]
async fn persistent_faults_surface_as_retryable_errors() {
    let w = World::with_attempts(1.0, 1);
    let d = db(&w);
    let rds = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    w.emu.fault("rds", STANDBY, "*", FaultKind::Throttle, None);
    let err = rds.global_cluster(&d.global).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert!(err.is_retryable());
    w.emu.clear_faults();
    w.emu.fault("rds", STANDBY, "*", FaultKind::Error5xx, None);
    let err = rds.failover(&d.global, &d.standby_arn, true).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the SDK error is kept as the source");
}

#[tokio::test]
async fn a_region_that_is_down_is_unavailable() {
    let w = World::with_attempts(1.0, 1);
    let d = db(&w);
    w.emu.region_down(PRIMARY);
    let rds = RdsGlobalDatabase::new(&*w.clients(PRIMARY).await);
    let err = rds.global_cluster(&d.global).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    let standby = RdsGlobalDatabase::new(&*w.clients(STANDBY).await);
    assert!(standby.global_cluster(&d.global).await.is_ok(), "the other region still answers");
}
