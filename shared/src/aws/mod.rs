//! The port implementations over aws-sdk-*. The only place that touches SDK types.
//!
//! Each module lists the IAM actions it calls (`IAM_ACTIONS`), so the Terraform policies can be
//! checked against the code.

pub mod alarms;
pub mod bluegreen;
pub mod cloudwatch;
pub mod codedeploy;
pub mod dynamodb;
pub mod ecs;
pub mod factory;
pub mod inventory;
pub mod rds;
pub mod route53;
pub mod sns;
pub mod state_store;

pub use factory::{ClientFactory, RegionClients};
