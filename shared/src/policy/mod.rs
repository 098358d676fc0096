//! The decision: may drover move the application to this region now, and how?
//!
//! - [`request`]: what the trigger asks for (mode, direction, who, forced gates).
//! - [`evaluate`]: pure policy over gathered facts: quorum of independent signals, standby
//!   readiness and RPO, cooldown. No I/O; unit and property tested.
//! - [`plan`]: what a Go hands the state machine (steps, budgets derived from the objectives).
//! - [`decide`]: the `decide` function's logic over the ports: read alarms and the standby,
//!   evaluate, take the lease, record, publish.
//! - [`readiness`]: the scheduled readiness evaluation (could the standby take over now?).

pub mod decide;
pub mod evaluate;
pub mod plan;
pub mod readiness;
pub mod request;

pub use decide::{DecideError, Decider, Outcome};
pub use evaluate::{
    AuroraFacts, EcsFacts, Facts, Gate, NoGoReason, QuorumTally, SignalReading, SignalState, StandbyFacts, Verdict,
    evaluate,
};
pub use plan::{Budgets, Plan};
pub use request::{Intent, Origin, Request};
