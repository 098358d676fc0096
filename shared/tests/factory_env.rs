//! The client factory and the topology honour the Lambda environment. One test in its own
//! binary, because it sets process environment variables.

mod common;

use common::*;
use drover_core::aws::ClientFactory;
use drover_core::aws::rds::RdsGlobalDatabase;
use drover_core::config::{ConfigError, TOPOLOGY_ENV};
use drover_core::ports::GlobalDatabase;
use drover_core::{ErrorKind, Topology};

#[tokio::test]
async fn the_factory_and_topology_come_from_the_environment() {
    let emu = Emulator::start(1.0);
    let raw = emu.seed(PRIMARY, STANDBY);

    // SAFETY: this binary has a single test; nothing else reads the environment concurrently.
    unsafe {
        std::env::remove_var(TOPOLOGY_ENV);
    }
    assert_eq!(Topology::from_env().unwrap_err(), ConfigError::MissingEnv(TOPOLOGY_ENV));
    unsafe {
        std::env::set_var(TOPOLOGY_ENV, &raw);
        std::env::set_var("AWS_ENDPOINT_URL", &emu.endpoint);
        std::env::set_var("AWS_ACCESS_KEY_ID", drover_harness::ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", drover_harness::SECRET_KEY);
    }
    let topology = Topology::from_env().unwrap();

    let factory = ClientFactory::from_env();
    let a = factory.region(STANDBY).await.unwrap();
    let b = factory.region(STANDBY).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "clients are built once per region");
    let rds = RdsGlobalDatabase::new(&a);
    let g = rds.global_cluster(&topology.region(STANDBY).unwrap().aurora[0].global_cluster_id).await.unwrap();
    assert_eq!(g.members.len(), 2, "the call reached the emulator through AWS_ENDPOINT_URL");

    let err = factory.region("not-a-region").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected);
    assert!(err.to_string().contains("not-a-region"), "{err}");
}
