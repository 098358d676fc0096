//! The triggers drover accepts, parsed into one enum.
//!
//! Accepted shapes: an EventBridge "CloudWatch Alarm State Change" event, the payload a
//! CloudWatch alarm sends when it invokes a Lambda directly, an SNS-wrapped alarm notification,
//! and a manual request. The `aws_lambda_events` types are lenient (an empty alarm name or an
//! EC2 event both deserialise), so everything a decision depends on is validated here.
//! Parsing is pure: an unknown or malformed input is a typed error and touches nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use aws_lambda_events::event::cloudwatch_alarms::{CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;

use crate::config::{ConfigError, Topology, is_region_name};

pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Alarm(AlarmSignal),
    Manual(ManualRequest),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmSource {
    EventBridge,
    LambdaAction,
    Sns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }

    fn from_event(v: &CloudWatchAlarmStateValue) -> Option<Self> {
        match v {
            CloudWatchAlarmStateValue::Ok => Some(AlarmState::Ok),
            CloudWatchAlarmStateValue::Alarm => Some(AlarmState::Alarm),
            CloudWatchAlarmStateValue::InsufficientData => Some(AlarmState::InsufficientData),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// One alarm state change, whatever way it arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmSignal {
    pub source: AlarmSource,
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    /// The region the alarm lives in.
    pub region: String,
    pub account_id: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: String,
    pub changed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualAction {
    Failover,
    Switchover,
    Failback,
    Drill,
    Status,
}

/// Gates a person may force past. The lease is never one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForceFlags {
    pub quorum: bool,
    pub readiness: bool,
    pub rpo: bool,
    /// Allow detach-and-promote when the global failover is impossible.
    pub detach: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    pub action: ManualAction,
    pub target_region: String,
    pub reason: String,
    pub requested_by: String,
    #[serde(default)]
    pub force: ForceFlags,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error("trigger is not JSON: {0}")]
    NotJson(String),
    #[error("trigger not recognised: {0}")]
    Unrecognised(String),
    #[error("unsupported event: {0}")]
    Unsupported(String),
    #[error("malformed {kind}: {field}: {message}")]
    Malformed { kind: &'static str, field: String, message: String },
    #[error(transparent)]
    Topology(#[from] ConfigError),
}

fn malformed(kind: &'static str, field: &str, message: impl Into<String>) -> TriggerError {
    TriggerError::Malformed { kind, field: field.to_string(), message: message.into() }
}

impl Trigger {
    pub fn parse_str(raw: &str) -> Result<Self, TriggerError> {
        let v: Value = serde_json::from_str(raw).map_err(|e| TriggerError::NotJson(e.to_string()))?;
        Self::parse(&v)
    }

    pub fn parse(v: &Value) -> Result<Self, TriggerError> {
        let obj = v
            .as_object()
            .ok_or_else(|| TriggerError::Unrecognised(format!("expected a JSON object, got {}", json_kind(v))))?;
        if obj.contains_key("detail-type") {
            parse_eventbridge(v)
        } else if obj.contains_key("alarmData") {
            parse_lambda_action(v)
        } else if obj.contains_key("Records") {
            parse_sns(v)
        } else if obj.contains_key("action") {
            parse_manual(v)
        } else {
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
            keys.sort_unstable();
            Err(TriggerError::Unrecognised(format!(
                "not an alarm event, an SNS notification or a manual request (keys: {})",
                if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
            )))
        }
    }

    /// Checks the regions the trigger names against the topology.
    pub fn check_against(&self, topology: &Topology) -> Result<(), TriggerError> {
        match self {
            Trigger::Alarm(a) => topology.region(&a.region).map(|_| ()),
            Trigger::Manual(m) => topology.region(&m.target_region).map(|_| ()),
        }
        .map_err(TriggerError::from)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_eventbridge(v: &Value) -> Result<Trigger, TriggerError> {
    const KIND: &str = "EventBridge alarm event";
    let ev: EventBridgeEvent<Value> =
        serde_json::from_value(v.clone()).map_err(|e| malformed(KIND, "(event)", e.to_string()))?;
    if ev.detail_type != ALARM_DETAIL_TYPE || ev.source != "aws.cloudwatch" {
        return Err(TriggerError::Unsupported(format!(
            "EventBridge {:?} from {:?}; only {ALARM_DETAIL_TYPE:?} from \"aws.cloudwatch\" triggers drover",
            ev.detail_type, ev.source
        )));
    }
    let detail: CloudWatchAlarmData =
        serde_json::from_value(ev.detail).map_err(|e| malformed(KIND, "detail", e.to_string()))?;
    let alarm_arn = ev.resources.as_ref().and_then(|r| r.first().cloned());
    let region = ev.region.ok_or_else(|| malformed(KIND, "region", "missing"))?;
    alarm_signal(KIND, AlarmSource::EventBridge, detail, alarm_arn, region, ev.account)
}

fn parse_lambda_action(v: &Value) -> Result<Trigger, TriggerError> {
    const KIND: &str = "CloudWatch alarm Lambda action";
    let ev: CloudWatchAlarm =
        serde_json::from_value(v.clone()).map_err(|e| malformed(KIND, "(event)", e.to_string()))?;
    if ev.source.as_deref() != Some("aws.cloudwatch") {
        return Err(malformed(KIND, "source", format!("expected \"aws.cloudwatch\", got {:?}", ev.source)));
    }
    let region = ev.region.ok_or_else(|| malformed(KIND, "region", "missing"))?;
    alarm_signal(KIND, AlarmSource::LambdaAction, ev.alarm_data, ev.alarm_arn, region, ev.account_id)
}

fn alarm_signal(
    kind: &'static str,
    source: AlarmSource,
    data: CloudWatchAlarmData,
    alarm_arn: Option<String>,
    region: String,
    account_id: Option<String>,
) -> Result<Trigger, TriggerError> {
    if data.alarm_name.trim().is_empty() {
        return Err(malformed(kind, "alarmName", "missing or empty"));
    }
    if !is_region_name(&region) {
        return Err(malformed(kind, "region", format!("{region:?} is not an AWS region name")));
    }
    let state = data.state.ok_or_else(|| malformed(kind, "state", "missing"))?;
    let value = AlarmState::from_event(&state.value).ok_or_else(|| malformed(kind, "state.value", "unknown"))?;
    Ok(Trigger::Alarm(AlarmSignal {
        source,
        alarm_name: data.alarm_name,
        alarm_arn,
        region,
        account_id,
        state: value,
        previous_state: data.previous_state.as_ref().and_then(|s| AlarmState::from_event(&s.value)),
        reason: state.reason,
        changed_at: Some(state.timestamp),
    }))
}

/// The JSON a CloudWatch alarm publishes to SNS. `aws_lambda_events`' `CloudWatchAlarmPayload`
/// requires `AlarmDescription` to be a string, but alarms without a description send `null`,
/// so the fields drover needs are read here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsAlarmMessage {
    alarm_name: String,
    alarm_arn: String,
    #[serde(rename = "AWSAccountId")]
    aws_account_id: Option<String>,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: String,
    old_state_value: Option<String>,
    state_change_time: Option<String>,
}

fn parse_sns(v: &Value) -> Result<Trigger, TriggerError> {
    const KIND: &str = "SNS alarm notification";
    let ev: SnsEvent = serde_json::from_value(v.clone()).map_err(|e| malformed(KIND, "Records", e.to_string()))?;
    let [record] = ev.records.as_slice() else {
        return Err(malformed(KIND, "Records", format!("expected exactly one record, got {}", ev.records.len())));
    };
    if record.event_source != "aws:sns" {
        return Err(malformed(
            KIND,
            "Records[0].EventSource",
            format!("expected \"aws:sns\", got {:?}", record.event_source),
        ));
    }
    let msg: SnsAlarmMessage = serde_json::from_str(&record.sns.message)
        .map_err(|e| malformed(KIND, "Records[0].Sns.Message", format!("not a CloudWatch alarm notification: {e}")))?;
    if msg.alarm_name.trim().is_empty() {
        return Err(malformed(KIND, "Message.AlarmName", "empty"));
    }
    // The message's "Region" is a display name ("US East (N. Virginia)"); the ARN has the code.
    let region = arn_region(&msg.alarm_arn).ok_or_else(|| {
        malformed(KIND, "Message.AlarmArn", format!("{:?} is not a CloudWatch alarm ARN", msg.alarm_arn))
    })?;
    let state = AlarmState::parse(&msg.new_state_value)
        .ok_or_else(|| malformed(KIND, "Message.NewStateValue", format!("unknown state {:?}", msg.new_state_value)))?;
    Ok(Trigger::Alarm(AlarmSignal {
        source: AlarmSource::Sns,
        alarm_name: msg.alarm_name,
        alarm_arn: Some(msg.alarm_arn.clone()),
        region,
        account_id: msg.aws_account_id,
        state,
        previous_state: msg.old_state_value.as_deref().and_then(AlarmState::parse),
        reason: msg.new_state_reason,
        changed_at: msg
            .state_change_time
            .as_deref()
            .and_then(|t| serde_json::from_value::<DateTime<Utc>>(Value::String(t.to_string())).ok()),
    }))
}

fn arn_region(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "cloudwatch", region, _, "alarm", name] if is_region_name(region) && !name.is_empty() => {
            Some((*region).to_string())
        }
        _ => None,
    }
}

fn parse_manual(v: &Value) -> Result<Trigger, TriggerError> {
    const KIND: &str = "manual request";
    let de = v.clone();
    let req: ManualRequest = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        malformed(KIND, if path == "." { "(request)" } else { &path }, e.inner().to_string())
    })?;
    if !is_region_name(&req.target_region) {
        return Err(malformed(KIND, "target_region", format!("{:?} is not an AWS region name", req.target_region)));
    }
    if req.requested_by.trim().is_empty() {
        return Err(malformed(KIND, "requested_by", "who asked must be recorded"));
    }
    if req.reason.trim().is_empty() {
        return Err(malformed(KIND, "reason", "why must be recorded"));
    }
    Ok(Trigger::Manual(req))
}
