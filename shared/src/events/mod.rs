//! What comes in (triggers) and what goes out (published events).

pub mod published;
pub mod trigger;

pub use published::{EventType, PublishedEvent, Severity, Timings};
pub use trigger::{
    AlarmSignal, AlarmSource, AlarmState, ForceFlags, ManualAction, ManualRequest, Trigger, TriggerError,
};
