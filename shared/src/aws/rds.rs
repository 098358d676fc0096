//! GlobalDatabase over RDS, with the replication lag read from CloudWatch.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::ports::{
    DbCluster, FailoverState, FailoverStatus, GlobalCluster, GlobalClusterStatus, GlobalDatabase, GlobalMember,
    LagSample,
};

pub const IAM_ACTIONS: &[&str] = &[
    "rds:DescribeGlobalClusters",
    "rds:DescribeDBClusters",
    "rds:FailoverGlobalCluster",
    "rds:SwitchoverGlobalCluster",
    "rds:RemoveFromGlobalCluster",
    "cloudwatch:GetMetricData",
];

/// RPO lag is the figure Aurora itself enforces with `rds.global_db_rpo`; replication lag is
/// the fallback on engines that do not publish it.
const LAG_METRICS: [&str; 2] = ["AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"];
/// How far back a lag datapoint still counts as current.
const LAG_WINDOW: Duration = Duration::from_secs(300);

pub struct RdsGlobalDatabase {
    region: String,
    rds: aws_sdk_rds::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl RdsGlobalDatabase {
    pub fn new(clients: &RegionClients) -> Self {
        RdsGlobalDatabase {
            region: clients.region.clone(),
            rds: clients.rds.clone(),
            cloudwatch: clients.cloudwatch.clone(),
        }
    }
}

#[async_trait]
impl GlobalDatabase for RdsGlobalDatabase {
    fn region(&self) -> &str {
        &self.region
    }

    async fn global_cluster(&self, global_cluster_id: &str) -> Result<GlobalCluster, AwsError> {
        const OP: &str = "DescribeGlobalClusters";
        let out = self
            .rds
            .describe_global_clusters()
            .global_cluster_identifier(global_cluster_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("rds", OP, &self.region, e))?;
        // Match the id ourselves rather than trust the filter.
        let g = out
            .global_clusters()
            .iter()
            .find(|g| g.global_cluster_identifier() == Some(global_cluster_id))
            .ok_or_else(|| {
                AwsError::new(
                    "rds",
                    OP,
                    &self.region,
                    ErrorKind::NotFound,
                    format!("global cluster {global_cluster_id} not found"),
                )
            })?;
        Ok(GlobalCluster {
            id: global_cluster_id.to_string(),
            status: GlobalClusterStatus::parse(g.status().unwrap_or_default()),
            engine_version: g.engine_version().map(str::to_string),
            members: g
                .global_cluster_members()
                .iter()
                .filter_map(|m| {
                    Some(GlobalMember {
                        cluster_arn: m.db_cluster_arn()?.to_string(),
                        is_writer: m.is_writer().unwrap_or(false),
                    })
                })
                .collect(),
            failover: g.failover_state().map(|f| FailoverState {
                status: FailoverStatus::parse(f.status().map(|s| s.as_str()).unwrap_or_default()),
                from_cluster_arn: f.from_db_cluster_arn().map(str::to_string),
                to_cluster_arn: f.to_db_cluster_arn().map(str::to_string),
                data_loss_allowed: f.is_data_loss_allowed().unwrap_or(false),
            }),
        })
    }

    async fn cluster(&self, cluster_id: &str) -> Result<DbCluster, AwsError> {
        const OP: &str = "DescribeDBClusters";
        let out = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(cluster_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("rds", OP, &self.region, e))?;
        let c = out
            .db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(cluster_id) || c.db_cluster_arn() == Some(cluster_id))
            .ok_or_else(|| {
                AwsError::new(
                    "rds",
                    OP,
                    &self.region,
                    ErrorKind::NotFound,
                    format!("DB cluster {cluster_id} not found"),
                )
            })?;
        Ok(DbCluster {
            id: c.db_cluster_identifier().unwrap_or(cluster_id).to_string(),
            arn: c.db_cluster_arn().unwrap_or_default().to_string(),
            status: c.status().unwrap_or_default().to_string(),
            engine_version: c.engine_version().map(str::to_string),
            global_cluster_id: c.global_cluster_identifier().map(str::to_string).filter(|s| !s.is_empty()),
        })
    }

    async fn failover(
        &self,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> Result<(), AwsError> {
        self.rds
            .failover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target_cluster_arn)
            .allow_data_loss(allow_data_loss)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("rds", "FailoverGlobalCluster", &self.region, e))
    }

    async fn switchover(&self, global_cluster_id: &str, target_cluster_arn: &str) -> Result<(), AwsError> {
        self.rds
            .switchover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target_cluster_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("rds", "SwitchoverGlobalCluster", &self.region, e))
    }

    async fn detach(&self, global_cluster_id: &str, cluster_arn: &str) -> Result<(), AwsError> {
        self.rds
            .remove_from_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .db_cluster_identifier(cluster_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("rds", "RemoveFromGlobalCluster", &self.region, e))
    }

    async fn replication_lag(&self, cluster_id: &str) -> Result<Option<LagSample>, AwsError> {
        let end = Utc::now();
        let start = end - chrono::Duration::from_std(LAG_WINDOW).unwrap_or_default();
        let mut req = self
            .cloudwatch
            .get_metric_data()
            .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
            .end_time(aws_smithy_types::DateTime::from_secs(end.timestamp() + 1));
        for (i, name) in LAG_METRICS.iter().enumerate() {
            let metric = Metric::builder()
                .namespace("AWS/RDS")
                .metric_name(*name)
                .dimensions(Dimension::builder().name("DBClusterIdentifier").value(cluster_id).build())
                .build();
            req = req.metric_data_queries(
                MetricDataQuery::builder()
                    .id(format!("m{i}"))
                    .metric_stat(MetricStat::builder().metric(metric).period(60).stat("Maximum").build())
                    .return_data(true)
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| AwsError::from_sdk("cloudwatch", "GetMetricData", &self.region, e))?;
        for (i, name) in LAG_METRICS.iter().enumerate() {
            let id = format!("m{i}");
            let Some(result) = out.metric_data_results().iter().find(|r| r.id() == Some(id.as_str())) else { continue };
            let latest =
                result.timestamps().iter().zip(result.values()).max_by_key(|(t, _)| (t.secs(), t.subsec_nanos()));
            if let Some((t, v)) = latest {
                let at = DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or(end);
                let millis = if v.is_finite() && *v > 0.0 { *v } else { 0.0 };
                return Ok(Some(LagSample {
                    metric: (*name).to_string(),
                    lag: Duration::from_secs_f64(millis / 1000.0),
                    at,
                }));
            }
        }
        Ok(None)
    }
}
