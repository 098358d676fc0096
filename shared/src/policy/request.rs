//! From a parsed trigger to what is asked of this region's `decide`.
//!
//! `decide` runs in the region it would activate (`DROVER_REGION_SELF`), so the direction is
//! always peer → self. A manual request naming another region, or an alarm that is not one of
//! the configured signals, is refused here, before anything is read or written.

use serde::{Deserialize, Serialize};

use crate::config::{Signal, Topology};
use crate::events::trigger::{AlarmState, ForceFlags, ManualAction, Trigger};
use crate::model::Mode;

/// Why a trigger cannot be acted on at all (as opposed to a no-go, which is a decision).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "manual request targets {target} but this decide runs in {this_region} and can only activate {this_region}: start it in {target}"
    )]
    Misrouted { target: String, this_region: String },
    #[error("alarm {alarm_name:?} in {region} is not one of the configured signals (policy.signals)")]
    UnknownSignal { alarm_name: String, region: String },
    #[error("this region {0:?} is not in the topology")]
    SelfNotInTopology(String),
}

/// Where a request came from; recorded in the plan and every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Alarm { alarm_name: String, region: String, group: String, state: AlarmState },
    Manual { action: ManualAction, requested_by: String, reason: String, request_id: Option<String> },
}

impl Origin {
    pub fn is_automatic(&self) -> bool {
        matches!(self, Origin::Alarm { .. })
    }

    /// A short "who/what asked" for messages.
    pub fn describe(&self) -> String {
        match self {
            Origin::Alarm { alarm_name, region, .. } => format!("alarm {alarm_name} ({region})"),
            Origin::Manual { action, requested_by, .. } => {
                format!(
                    "{} requested by {requested_by}",
                    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                )
            }
        }
    }
}

/// A run asked of this region: move the application from `from` to `to` (= this region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub mode: Mode,
    pub from: String,
    pub to: String,
    pub origin: Origin,
    /// Gates a person forced past. Always all-false for alarms.
    pub force: ForceFlags,
}

/// What the trigger asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// Evaluate and, on Go, start a run.
    Run(Request),
    /// A manual `status` request: evaluate and report, take nothing, write nothing.
    Status(Request),
    /// An alarm that does not ask for a failover to this region (back to OK, or it watches
    /// this very region): nothing to decide, nothing to publish.
    Ignore { alarm_name: String, why: String },
}

impl Intent {
    pub fn from_trigger(trigger: &Trigger, topology: &Topology, this_region: &str) -> Result<Intent, RequestError> {
        let peer = topology
            .peer_of(this_region)
            .map_err(|_| RequestError::SelfNotInTopology(this_region.to_string()))?
            .name
            .clone();
        match trigger {
            Trigger::Alarm(a) => {
                let signal: &Signal = topology
                    .policy
                    .signals
                    .iter()
                    .find(|s| s.alarm_name == a.alarm_name && s.region == a.region)
                    .ok_or_else(|| RequestError::UnknownSignal {
                        alarm_name: a.alarm_name.clone(),
                        region: a.region.clone(),
                    })?;
                if signal.watches == this_region {
                    return Ok(Intent::Ignore {
                        alarm_name: a.alarm_name.clone(),
                        why: format!(
                            "it watches {this_region}, the region this decide would activate; the decide in {peer} acts on it"
                        ),
                    });
                }
                if a.state != AlarmState::Alarm {
                    return Ok(Intent::Ignore {
                        alarm_name: a.alarm_name.clone(),
                        why: format!("its state is {:?}, not ALARM", a.state),
                    });
                }
                Ok(Intent::Run(Request {
                    mode: Mode::Unplanned,
                    from: peer,
                    to: this_region.to_string(),
                    origin: Origin::Alarm {
                        alarm_name: a.alarm_name.clone(),
                        region: a.region.clone(),
                        group: signal.group.clone(),
                        state: a.state,
                    },
                    force: ForceFlags::default(),
                }))
            }
            Trigger::Manual(m) => {
                if m.target_region != this_region {
                    return Err(RequestError::Misrouted {
                        target: m.target_region.clone(),
                        this_region: this_region.to_string(),
                    });
                }
                let request = |mode| Request {
                    mode,
                    from: peer.clone(),
                    to: this_region.to_string(),
                    origin: Origin::Manual {
                        action: m.action,
                        requested_by: m.requested_by.clone(),
                        reason: m.reason.clone(),
                        request_id: m.request_id.clone(),
                    },
                    force: m.force,
                };
                Ok(match m.action {
                    ManualAction::Failover => Intent::Run(request(Mode::Unplanned)),
                    ManualAction::Switchover => Intent::Run(request(Mode::Planned)),
                    ManualAction::Drill => Intent::Run(request(Mode::Drill)),
                    ManualAction::Failback => Intent::Run(request(Mode::Failback)),
                    ManualAction::Status => Intent::Status(request(Mode::Unplanned)),
                })
            }
        }
    }
}
