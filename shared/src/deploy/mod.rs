//! Blue/green deployments of the ECS services through CodeDeploy.
//!
//! - [`hook`]: the `bluegreen-hook` Lambda's logic: validate the green tasks through the
//!   test listener, report Succeeded or Failed to CodeDeploy.
//! - [`http`]: its HTTP client (connects to the ALB, speaks to the application's name).
//! - [`rollout`]: the deploy trigger: new task definition revision, AppSpec, deployment,
//!   followed to its end, region after region.

pub mod hook;
pub mod http;
pub mod rollout;
