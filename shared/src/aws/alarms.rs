//! AlarmReader over CloudWatch DescribeAlarms.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};

use crate::aws::RegionClients;
use crate::error::AwsError;
use crate::ports::{AlarmReader, AlarmStateValue};

pub const IAM_ACTIONS: &[&str] = &["cloudwatch:DescribeAlarms"];

/// DescribeAlarms takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

pub struct CloudWatchAlarms {
    region: String,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(clients: &RegionClients) -> Self {
        CloudWatchAlarms { region: clients.region.clone(), cloudwatch: clients.cloudwatch.clone() }
    }
}

#[async_trait]
impl AlarmReader for CloudWatchAlarms {
    fn region(&self) -> &str {
        &self.region
    }

    async fn alarm_states(&self, names: &[String]) -> Result<BTreeMap<String, AlarmStateValue>, AwsError> {
        let mut out = BTreeMap::new();
        for chunk in names.chunks(NAMES_PER_CALL) {
            let mut next: Option<String> = None;
            loop {
                let page = self
                    .cloudwatch
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("cloudwatch", "DescribeAlarms", &self.region, e))?;
                let metric = page.metric_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                let composite = page.composite_alarms().iter().map(|a| (a.alarm_name(), a.state_value()));
                for (name, state) in metric.chain(composite) {
                    let state = match state {
                        Some(StateValue::Alarm) => AlarmStateValue::Alarm,
                        Some(StateValue::Ok) => AlarmStateValue::Ok,
                        _ => AlarmStateValue::InsufficientData,
                    };
                    if let Some(name) = name.filter(|n| chunk.iter().any(|c| c == n)) {
                        out.insert(name.to_string(), state);
                    }
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => next = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(out)
    }
}
