//! ServiceScaler over ECS and application-autoscaling, against the emulator.

mod common;

use common::*;
use drover_core::ErrorKind;
use drover_core::aws::ecs::EcsServiceScaler;
use drover_core::ports::{Capacity, RolloutState, ServiceScaler};

#[tokio::test]
async fn scaling_the_standby_rolls_out_in_modeled_time() {
    let w = World::new(60.0);
    let svc = w.region(STANDBY).ecs[0].clone();
    let ecs = EcsServiceScaler::new(&*w.clients(STANDBY).await);
    let before = ecs.service(&svc.cluster, &svc.service).await.unwrap();
    assert_eq!(before.desired, svc.standby_desired_count);
    assert!(before.is_steady(), "{before:?}");

    let t0 = w.emu.modeled_now();
    ecs.set_desired_count(&svc.cluster, &svc.service, svc.active_desired_count).await.unwrap();
    let during = ecs.service(&svc.cluster, &svc.service).await.unwrap();
    assert_eq!(during.desired, svc.active_desired_count);
    assert!(during.running < during.desired, "tasks take time to start: {during:?}");
    assert_eq!(during.rollout, RolloutState::InProgress);

    let after = eventually(30, || async {
        let s = ecs.service(&svc.cluster, &svc.service).await.ok()?;
        s.is_steady().then_some(s)
    })
    .await;
    assert_eq!(after.running, svc.active_desired_count);
    assert_eq!(after.rollout, RolloutState::Completed);
    assert!(w.emu.modeled_now() - t0 >= 55.0, "Fargate tasks take about a minute to start");
}

#[tokio::test]
async fn autoscaling_minimum_is_raised_and_read_back() {
    let w = World::new(1.0);
    let svc = w.region(STANDBY).ecs[0].clone();
    let ecs = EcsServiceScaler::new(&*w.clients(STANDBY).await);
    ecs.set_capacity(&svc.cluster, &svc.service, Capacity { min: 1, max: 10 }).await.unwrap();
    ecs.set_capacity(&svc.cluster, &svc.service, Capacity { min: 4, max: 10 }).await.unwrap();
    assert_eq!(ecs.capacity(&svc.cluster, &svc.service).await.unwrap(), Some(Capacity { min: 4, max: 10 }));
    assert_eq!(ecs.capacity(&svc.cluster, "not-registered").await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_service_is_not_found() {
    let w = World::new(1.0);
    let svc = w.region(STANDBY).ecs[0].clone();
    let ecs = EcsServiceScaler::new(&*w.clients(STANDBY).await);
    let err = ecs.service(&svc.cluster, "no-such-service").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("no-such-service"), "{err}");
}

#[tokio::test]
async fn faults_are_retried_or_reported() {
    let w = World::with_attempts(1.0, 3);
    let svc = w.region(STANDBY).ecs[0].clone();
    let ecs = EcsServiceScaler::new(&*w.clients(STANDBY).await);
    // Two 5xx then success: the SDK's retries absorb it.
    w.emu.fault("ecs", STANDBY, "DescribeServices", FaultKind::Error5xx, Some(2));
    assert!(ecs.service(&svc.cluster, &svc.service).await.is_ok());
    // Every attempt fails: a retryable error reaches the caller.
    w.emu.fault("ecs", STANDBY, "UpdateService", FaultKind::Throttle, None);
    let err = ecs.set_desired_count(&svc.cluster, &svc.service, 3).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert!(err.is_retryable());
    // Added latency slows the call but it still succeeds.
    w.emu.clear_faults();
    w.emu.fault("ecs", STANDBY, "DescribeServices", FaultKind::Latency(300), Some(1));
    let t = std::time::Instant::now();
    assert!(ecs.service(&svc.cluster, &svc.service).await.is_ok());
    assert!(t.elapsed().as_millis() >= 300);
}
