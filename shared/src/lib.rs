//! drover-core: everything the drover Lambdas share.
//!
//! - [`config`]: the topology, loaded once per cold start.
//! - [`events`]: triggers in, published events out.
//! - [`ports`]: one narrow trait per capability; [`aws`] implements them over aws-sdk-*.
//! - [`error`]: one error type for AWS calls, retryable or not.
//! - [`telemetry`]: JSON logs and EMF metric lines.

pub mod aws;
pub mod config;
pub mod deploy;
pub mod error;
pub mod events;
pub mod model;
pub mod policy;
pub mod ports;
pub mod probe;
pub mod steps;
pub mod telemetry;

pub use config::{ConfigError, Topology};
pub use error::{AwsError, ErrorKind};
pub use model::{Mode, Step, StepStatus};
