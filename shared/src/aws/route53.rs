//! TrafficRouter: the data-plane gate over CloudWatch in the router's region, and the weights
//! over Route 53's control plane.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_route53::types::{
    AliasTarget as SdkAlias, Change, ChangeAction, ChangeBatch, ChangeStatus as SdkChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};
use chrono::Utc;

use crate::aws::RegionClients;
use crate::aws::cloudwatch::put_metric_data;
use crate::config::{Gate, RecordType};
use crate::error::{AwsError, ErrorKind};
use crate::ports::{AliasTarget, ChangeStatus, HealthStatus, MetricDatum, TrafficRouter, Unit, WeightedRecord};

pub const IAM_ACTIONS: &[&str] = &[
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "route53:GetHealthCheckStatus",
];

/// Route 53 counts an endpoint healthy when more than 18% of its checkers say so.
const HEALTHY_CHECKER_RATIO: f64 = 0.18;

pub struct Route53TrafficRouter {
    region: String,
    route53: aws_sdk_route53::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Route53TrafficRouter {
    pub fn new(clients: &RegionClients) -> Self {
        Route53TrafficRouter {
            region: clients.region.clone(),
            route53: clients.route53.clone(),
            cloudwatch: clients.cloudwatch.clone(),
        }
    }

    fn r53_err<E>(
        &self,
        op: &'static str,
        e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // The control plane's region, not the caller's: that is where an outage would be.
        AwsError::from_sdk("route53", op, crate::aws::factory::ROUTE53_SIGNING_REGION, e)
    }
}

fn rr_type(t: RecordType) -> RrType {
    match t {
        RecordType::A => RrType::A,
        RecordType::AAAA => RrType::Aaaa,
        RecordType::CNAME => RrType::Cname,
    }
}

/// Route 53 answers names fully qualified, lower case, with a trailing dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// A change batch the SDK refuses to build: a record as read cannot be written back.
fn invalid_batch(e: aws_sdk_route53::error::BuildError) -> AwsError {
    AwsError::new(
        "route53",
        "ChangeResourceRecordSets",
        crate::aws::factory::ROUTE53_SIGNING_REGION,
        ErrorKind::Rejected,
        e.to_string(),
    )
}

fn gate_dimensions(gate: &Gate) -> Vec<Dimension> {
    gate.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect()
}

#[async_trait]
impl TrafficRouter for Route53TrafficRouter {
    fn region(&self) -> &str {
        &self.region
    }

    async fn set_gate(&self, gate: &Gate, open: bool) -> Result<(), AwsError> {
        let datum = MetricDatum {
            name: gate.metric_name.clone(),
            value: if open { 1.0 } else { 0.0 },
            unit: Unit::None,
            dimensions: gate.dimensions.clone(),
            high_resolution: true,
        };
        put_metric_data(&self.cloudwatch, &self.region, &gate.namespace, std::slice::from_ref(&datum)).await
    }

    async fn gate(&self, gate: &Gate) -> Result<Option<bool>, AwsError> {
        let end = Utc::now().timestamp() + 1;
        let metric = Metric::builder()
            .namespace(&gate.namespace)
            .metric_name(&gate.metric_name)
            .set_dimensions(Some(gate_dimensions(gate)))
            .build();
        let out = self
            .cloudwatch
            .get_metric_data()
            .start_time(aws_smithy_types::DateTime::from_secs(end - 600))
            .end_time(aws_smithy_types::DateTime::from_secs(end))
            .metric_data_queries(
                MetricDataQuery::builder()
                    .id("gate")
                    .metric_stat(MetricStat::builder().metric(metric).period(1).stat("Minimum").build())
                    .return_data(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("cloudwatch", "GetMetricData", &self.region, e))?;
        Ok(out.metric_data_results().iter().find(|r| r.id() == Some("gate")).and_then(|r| {
            r.timestamps()
                .iter()
                .zip(r.values())
                .max_by_key(|(t, _)| (t.secs(), t.subsec_nanos()))
                .map(|(_, v)| *v >= 1.0)
        }))
    }

    async fn weighted_records(
        &self,
        zone_id: &str,
        name: &str,
        record_type: RecordType,
    ) -> Result<Vec<WeightedRecord>, AwsError> {
        const OP: &str = "ListResourceRecordSets";
        let mut records = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = Some((name.to_string(), rr_type(record_type), None));
        while let Some((start_name, start_type, start_id)) = next.take() {
            let out = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(start_name)
                .start_record_type(start_type)
                .set_start_record_identifier(start_id)
                .send()
                .await
                .map_err(|e| self.r53_err(OP, e))?;
            let mut past_the_set = false;
            for rr in out.resource_record_sets() {
                if !same_name(rr.name(), name) || rr.r#type() != &rr_type(record_type) {
                    past_the_set = true;
                    break;
                }
                let (Some(set_identifier), Some(weight)) = (rr.set_identifier(), rr.weight()) else { continue };
                records.push(WeightedRecord {
                    name: rr.name().to_string(),
                    record_type,
                    set_identifier: set_identifier.to_string(),
                    weight: u8::try_from(weight).unwrap_or(u8::MAX),
                    health_check_id: rr.health_check_id().map(str::to_string),
                    ttl: rr.ttl(),
                    values: rr.resource_records().iter().map(|r| r.value().to_string()).collect(),
                    alias: rr.alias_target().map(|a| AliasTarget {
                        hosted_zone_id: a.hosted_zone_id().to_string(),
                        dns_name: a.dns_name().to_string(),
                        evaluate_target_health: a.evaluate_target_health(),
                    }),
                });
            }
            if out.is_truncated() && !past_the_set {
                next = match (out.next_record_name(), out.next_record_type()) {
                    (Some(n), Some(t)) => {
                        Some((n.to_string(), t.clone(), out.next_record_identifier().map(str::to_string)))
                    }
                    _ => None,
                };
            }
        }
        Ok(records)
    }

    async fn set_weights(&self, zone_id: &str, records: &[WeightedRecord], comment: &str) -> Result<String, AwsError> {
        const OP: &str = "ChangeResourceRecordSets";
        let mut batch = ChangeBatch::builder().comment(comment);
        for r in records {
            let mut rr = ResourceRecordSet::builder()
                .name(&r.name)
                .r#type(rr_type(r.record_type))
                .set_identifier(&r.set_identifier)
                .weight(i64::from(r.weight))
                .set_health_check_id(r.health_check_id.clone())
                .set_ttl(r.ttl);
            for v in &r.values {
                rr = rr.resource_records(ResourceRecord::builder().value(v).build().map_err(invalid_batch)?);
            }
            if let Some(a) = &r.alias {
                rr = rr.alias_target(
                    SdkAlias::builder()
                        .hosted_zone_id(&a.hosted_zone_id)
                        .dns_name(&a.dns_name)
                        .evaluate_target_health(a.evaluate_target_health)
                        .build()
                        .map_err(invalid_batch)?,
                );
            }
            let rr = rr.build().map_err(invalid_batch)?;
            let change = Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(rr)
                .build()
                .map_err(invalid_batch)?;
            batch = batch.changes(change);
        }
        let batch = batch.build().map_err(invalid_batch)?;
        let out = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| self.r53_err(OP, e))?;
        out.change_info().map(|c| c.id().to_string()).ok_or_else(|| {
            AwsError::new(
                "route53",
                OP,
                crate::aws::factory::ROUTE53_SIGNING_REGION,
                ErrorKind::Unavailable,
                "answer without ChangeInfo",
            )
        })
    }

    async fn change_status(&self, change_id: &str) -> Result<ChangeStatus, AwsError> {
        let out = self.route53.get_change().id(change_id).send().await.map_err(|e| self.r53_err("GetChange", e))?;
        Ok(match out.change_info().map(|c| c.status()) {
            Some(SdkChangeStatus::Insync) => ChangeStatus::Insync,
            _ => ChangeStatus::Pending,
        })
    }

    async fn health_check_status(&self, health_check_id: &str) -> Result<HealthStatus, AwsError> {
        let out = self
            .route53
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| self.r53_err("GetHealthCheckStatus", e))?;
        let obs = out.health_check_observations();
        if obs.is_empty() {
            return Ok(HealthStatus::Unknown);
        }
        let healthy = obs
            .iter()
            .filter(|o| o.status_report().and_then(|r| r.status()).is_some_and(|s| s.starts_with("Success")))
            .count();
        Ok(if healthy as f64 / obs.len() as f64 > HEALTHY_CHECKER_RATIO {
            HealthStatus::Healthy
        } else {
            HealthStatus::Unhealthy
        })
    }
}
