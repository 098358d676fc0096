//! The lease: conditional writes in DynamoDB, fencing tokens that only grow.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use drover_core::ErrorKind;
use drover_core::aws::dynamodb::DynamoLease;
use drover_core::ports::{Clock, Lease, LeaseError};

/// A clock the test moves by hand, so expiry needs no sleeping.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new() -> Self {
        TestClock(Arc::new(Mutex::new(Utc::now())))
    }
    fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += chrono::Duration::seconds(secs);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

const TTL: Duration = Duration::from_secs(600);

async fn lease(w: &World, clock: &TestClock) -> DynamoLease {
    DynamoLease::with_clock(&*w.clients(STANDBY).await, &w.region(STANDBY).lease_table, Arc::new(clock.clone()))
}

#[tokio::test]
async fn two_holders_race_and_exactly_one_wins() {
    let w = World::new(1.0);
    let clock = TestClock::new();
    let a = lease(&w, &clock).await;
    let b = lease(&w, &clock).await;
    let (ra, rb) = tokio::join!(a.acquire("decide-a", "run-a", TTL), b.acquire("decide-b", "run-b", TTL));
    let (winner, loser) = match (ra, rb) {
        (Ok(g), Err(e)) | (Err(e), Ok(g)) => (g, e),
        other => panic!("exactly one must win: {other:?}"),
    };
    match loser {
        LeaseError::Held { holder, run_id, fencing_token, .. } => {
            assert_eq!(holder, winner.holder);
            assert_eq!(run_id, winner.run_id, "the loser learns which run holds the lease");
            assert_eq!(fencing_token, winner.fencing_token);
        }
        other => panic!("expected Held, got {other:?}"),
    }
}

#[tokio::test]
async fn twenty_concurrent_acquirers_give_one_lease() {
    let w = World::new(1.0);
    let clock = TestClock::new();
    let l = Arc::new(lease(&w, &clock).await);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let l = l.clone();
            tokio::spawn(async move { l.acquire(&format!("decide-{i}"), &format!("run-{i}"), TTL).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(LeaseError::Held { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn after_expiry_a_new_holder_gets_a_higher_token_and_the_old_one_is_stale() {
    let w = World::new(1.0);
    let clock = TestClock::new();
    let l = lease(&w, &clock).await;
    let first = l.acquire("decide-a", "run-a", TTL).await.unwrap();
    l.check(first.fencing_token).await.unwrap();
    assert!(matches!(l.acquire("decide-b", "run-b", TTL).await, Err(LeaseError::Held { .. })));

    clock.advance(601);
    let second = l.acquire("decide-b", "run-b", TTL).await.unwrap();
    assert!(second.fencing_token > first.fencing_token);

    for stale in [
        l.check(first.fencing_token).await.err(),
        l.renew(first.fencing_token, TTL).await.err(),
        l.release(first.fencing_token).await.err(),
    ] {
        match stale {
            Some(LeaseError::Stale { presented, current, holder }) => {
                assert_eq!(presented, first.fencing_token);
                assert_eq!(current, Some(second.fencing_token));
                assert_eq!(holder.as_deref(), Some("decide-b"));
            }
            other => panic!("expected Stale, got {other:?}"),
        }
    }
    l.check(second.fencing_token).await.unwrap();
}

#[tokio::test]
async fn renew_extends_release_frees_and_the_token_keeps_growing() {
    let w = World::new(1.0);
    let clock = TestClock::new();
    let l = lease(&w, &clock).await;
    let g = l.acquire("decide-a", "run-a", TTL).await.unwrap();
    clock.advance(500);
    let renewed = l.renew(g.fencing_token, TTL).await.unwrap();
    assert!(renewed.expires_at > g.expires_at);
    clock.advance(500);
    l.check(g.fencing_token).await.expect("renewed lease still valid");

    l.release(g.fencing_token).await.unwrap();
    l.release(g.fencing_token).await.expect("a second release is harmless");
    assert!(matches!(l.check(g.fencing_token).await, Err(LeaseError::Stale { .. })));
    let next = l.acquire("decide-b", "run-b", TTL).await.unwrap();
    assert_eq!(next.fencing_token, g.fencing_token + 1);
    let current = l.current().await.unwrap().unwrap();
    assert_eq!(current.holder.as_deref(), Some("decide-b"));
}

#[tokio::test]
async fn a_throttled_table_is_a_retryable_error_and_a_missing_table_is_not_found() {
    let w = World::with_attempts(1.0, 1);
    let clock = TestClock::new();
    w.emu.fault("dynamodb", STANDBY, "UpdateItem", FaultKind::Throttle, None);
    let l = lease(&w, &clock).await;
    match l.acquire("decide-a", "run-a", TTL).await {
        Err(LeaseError::Aws(e)) => {
            assert_eq!(e.kind, ErrorKind::Throttled, "{e}");
            assert!(e.is_retryable());
        }
        other => panic!("expected a throttling error, got {other:?}"),
    }
    w.emu.clear_faults();
    let missing = DynamoLease::with_clock(&*w.clients(STANDBY).await, "no-such-table", Arc::new(clock.clone()));
    match missing.acquire("decide-a", "run-a", TTL).await {
        Err(LeaseError::Aws(e)) => assert_eq!(e.kind, ErrorKind::NotFound, "{e}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}
