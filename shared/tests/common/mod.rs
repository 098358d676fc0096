//! Shared set-up for the adapter tests: an emulator with the two-region topology seeded, and
//! the clients pointed at it.
#![allow(dead_code)]

use std::sync::Arc;

use drover_core::Topology;
use drover_core::aws::factory::FactoryOptions;
use drover_core::aws::{ClientFactory, RegionClients};
pub use drover_harness::{Emulator, FaultKind};

pub const PRIMARY: &str = "us-east-1";
pub const STANDBY: &str = "us-west-2";

pub struct World {
    pub emu: Emulator,
    pub topology: Topology,
    pub factory: ClientFactory,
}

impl World {
    /// A seeded emulator whose modeled time runs `speed` times faster than real time.
    pub fn new(speed: f64) -> World {
        let emu = Emulator::start(speed);
        let raw = emu.seed(PRIMARY, STANDBY);
        let topology =
            Topology::from_json(&raw).unwrap_or_else(|e| panic!("the seeded topology must parse: {e}\n{raw}"));
        let factory = ClientFactory::with_options(FactoryOptions {
            endpoint_url: Some(emu.endpoint.clone()),
            static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
            max_attempts: None,
        });
        emu.clear_calls();
        World { emu, topology, factory }
    }

    /// Like `new`, with the SDK's retries limited (fault tests that must see the error).
    pub fn with_attempts(speed: f64, attempts: u32) -> World {
        let mut w = World::new(speed);
        w.factory = ClientFactory::with_options(FactoryOptions {
            endpoint_url: Some(w.emu.endpoint.clone()),
            static_credentials: Some((drover_harness::ACCESS_KEY.into(), drover_harness::SECRET_KEY.into())),
            max_attempts: Some(attempts),
        });
        w
    }

    pub async fn clients(&self, region: &str) -> Arc<RegionClients> {
        self.factory.region(region).await.expect("clients")
    }

    pub fn region(&self, name: &str) -> &drover_core::config::RegionConfig {
        self.topology.region(name).expect("region in topology")
    }
}

/// Polls `f` until it returns Some, for at most `secs` real seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "condition not reached within {secs} s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
