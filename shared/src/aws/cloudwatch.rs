//! Metrics over CloudWatch PutMetricData.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum as SdkDatum, StandardUnit};

use crate::aws::RegionClients;
use crate::error::AwsError;
use crate::ports::{MetricDatum, Metrics, Unit};

pub const IAM_ACTIONS: &[&str] = &["cloudwatch:PutMetricData"];

pub struct CloudWatchMetrics {
    region: String,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(clients: &RegionClients) -> Self {
        CloudWatchMetrics { region: clients.region.clone(), cloudwatch: clients.cloudwatch.clone() }
    }
}

fn unit(u: Unit) -> StandardUnit {
    match u {
        Unit::Count => StandardUnit::Count,
        Unit::Seconds => StandardUnit::Seconds,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Percent => StandardUnit::Percent,
        Unit::None => StandardUnit::None,
    }
}

/// Shared by every adapter that publishes a metric (the gate, probe results, step timings).
pub(crate) async fn put_metric_data(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    region: &str,
    namespace: &str,
    data: &[MetricDatum],
) -> Result<(), AwsError> {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let data: Vec<SdkDatum> = data
        .iter()
        .map(|d| {
            SdkDatum::builder()
                .metric_name(&d.name)
                .value(d.value)
                .unit(unit(d.unit))
                .timestamp(now)
                .storage_resolution(if d.high_resolution { 1 } else { 60 })
                .set_dimensions(Some(
                    d.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect(),
                ))
                .build()
        })
        .collect();
    cloudwatch
        .put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("cloudwatch", "PutMetricData", region, e))
}

#[async_trait]
impl Metrics for CloudWatchMetrics {
    fn region(&self) -> &str {
        &self.region
    }

    async fn put(&self, namespace: &str, data: &[MetricDatum]) -> Result<(), AwsError> {
        // PutMetricData takes at most 1000 datums per call.
        for chunk in data.chunks(1000) {
            put_metric_data(&self.cloudwatch, &self.region, namespace, chunk).await?;
        }
        Ok(())
    }
}
