//! Readiness: could THIS region take over now? Scheduled in each region; reads only this
//! region (plus Route 53, whose control plane is global).
//!
//! Checks (metric `ReadinessCheck`, 1 pass / 0 fail, dimensions `Application`, `Region`,
//! `Check`; and `Ready` 1/0 for the whole), each named as below:
//!
//! | check               | passes when                                                           |
//! |---------------------|-----------------------------------------------------------------------|
//! | `aurora_secondary`  | every cluster here is `available`, a member of its global cluster, not the writer |
//! | `replication_lag`   | every secondary's latest lag is known and within `objectives.rpo_seconds` |
//! | `engine_version`    | every cluster here runs the global cluster's engine version           |
//! | `ecs_service`       | every service exists and is ACTIVE                                    |
//! | `task_definition`   | every service's task definition can be described                      |
//! | `ecr_image`         | every image of those task definitions is in THIS region's ECR         |
//! | `db_secret`         | the database secret (`DROVER_DB_SECRET_ID`) exists here; skipped when unset |
//! | `route53_records`   | both regions' weighted records exist and carry their health checks    |
//! | `lease_table`       | the lease table answers                                               |
//! | `state_machine`     | this region's failover state machine exists and is ACTIVE             |
//!
//! When this region holds the writer of every global cluster it is the active region: the
//! three Aurora checks are skipped (there is no secondary here to judge) and the rest still run.
//!
//! The verdict is stored in the lease table (item `lease_id = "readiness"`, see
//! `aws::state_store`) and one `readiness_changed` event is published when the verdict or the
//! set of failing checks changes; an unchanged verdict publishes metrics only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Topology;
use crate::error::AwsError;
use crate::events::published::{EventType, PublishedEvent, Severity};
use crate::model::{Step, StepStatus};
use crate::ports::{
    Clock, GlobalDatabase, Lease, MetricDatum, Metrics, Publisher, ReadinessRecord, ServiceScaler, StandbyInventory,
    StateStore, TrafficRouter, Unit,
};

pub const NAMESPACE: &str = "Drover/Readiness";
pub const DB_SECRET_ENV: &str = "DROVER_DB_SECRET_ID";

/// Exactly the IAM actions `readiness` calls (in its own region; Route 53 is global).
pub const IAM_ACTIONS: &[&str] = &[
    "rds:DescribeDBClusters",
    "rds:DescribeGlobalClusters",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecr:DescribeImages",
    "secretsmanager:DescribeSecret",
    "route53:ListResourceRecordSets",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "states:DescribeStateMachine",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    AuroraSecondary,
    ReplicationLag,
    EngineVersion,
    EcsService,
    TaskDefinition,
    EcrImage,
    DbSecret,
    Route53Records,
    LeaseTable,
    StateMachine,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::AuroraSecondary => "aurora_secondary",
            Check::ReplicationLag => "replication_lag",
            Check::EngineVersion => "engine_version",
            Check::EcsService => "ecs_service",
            Check::TaskDefinition => "task_definition",
            Check::EcrImage => "ecr_image",
            Check::DbSecret => "db_secret",
            Check::Route53Records => "route53_records",
            Check::LeaseTable => "lease_table",
            Check::StateMachine => "state_machine",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: Check,
    /// What was checked (cluster, service, image, …).
    pub subject: String,
    pub status: CheckStatus,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds the Aurora writer: nothing here to fail over to.
    Active,
    Standby,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessReport {
    pub region: String,
    pub role: Role,
    pub ready: bool,
    pub checks: Vec<CheckResult>,
    /// Names of the failing checks, sorted, deduplicated.
    pub failing: Vec<String>,
    /// The verdict differs from the stored one (and this run stored it and announced it).
    pub changed: bool,
    pub event_message_id: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadinessError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl ReadinessError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ReadinessError::Aws(e) if e.is_retryable())
    }
}

pub struct ReadinessChecker {
    pub topology: Arc<Topology>,
    pub this_region: String,
    pub db: Arc<dyn GlobalDatabase>,
    pub scaler: Arc<dyn ServiceScaler>,
    pub inventory: Arc<dyn StandbyInventory>,
    pub router: Arc<dyn TrafficRouter>,
    pub lease: Arc<dyn Lease>,
    pub store: Arc<dyn StateStore>,
    pub metrics: Arc<dyn Metrics>,
    pub publisher: Arc<dyn Publisher>,
    pub clock: Arc<dyn Clock>,
    pub db_secret_id: Option<String>,
}

struct Results(Vec<CheckResult>);

impl Results {
    fn add(&mut self, check: Check, subject: impl Into<String>, ok: bool, detail: impl Into<String>) {
        let status = if ok { CheckStatus::Pass } else { CheckStatus::Fail };
        self.0.push(CheckResult { check, subject: subject.into(), status, detail: detail.into() });
    }
    fn skip(&mut self, check: Check, subject: impl Into<String>, detail: impl Into<String>) {
        self.0.push(CheckResult {
            check,
            subject: subject.into(),
            status: CheckStatus::Skipped,
            detail: detail.into(),
        });
    }
    /// A read that failed counts as a failed check: readiness that cannot be shown is not there.
    fn failed_read(&mut self, check: Check, subject: impl Into<String>, e: &AwsError) {
        self.add(check, subject, false, format!("could not read: {e}"));
    }
}

impl ReadinessChecker {
    pub async fn from_factory(
        topology: Arc<Topology>,
        this_region: &str,
        factory: &crate::aws::ClientFactory,
        clock: Arc<dyn Clock>,
        db_secret_id: Option<String>,
    ) -> Result<Self, ReadinessError> {
        use crate::aws::{
            cloudwatch::CloudWatchMetrics, dynamodb::DynamoLease, ecs::EcsServiceScaler,
            inventory::AwsStandbyInventory, rds::RdsGlobalDatabase, route53::Route53TrafficRouter, sns::SnsPublisher,
            state_store::DynamoStateStore,
        };
        let region = topology.region(this_region)?;
        let c = factory.region(this_region).await?;
        Ok(ReadinessChecker {
            this_region: this_region.to_string(),
            db: Arc::new(RdsGlobalDatabase::new(&c)),
            scaler: Arc::new(EcsServiceScaler::new(&c)),
            inventory: Arc::new(AwsStandbyInventory::new(&c)),
            router: Arc::new(Route53TrafficRouter::new(&c)),
            lease: Arc::new(DynamoLease::with_clock(&c, &region.lease_table, clock.clone())),
            store: Arc::new(DynamoStateStore::new(&c, &region.lease_table)),
            metrics: Arc::new(CloudWatchMetrics::new(&c)),
            publisher: Arc::new(SnsPublisher::new(&c)),
            clock,
            db_secret_id,
            topology,
        })
    }

    /// Runs every check, publishes the metrics, and announces a change of verdict.
    pub async fn run(&self) -> Result<ReadinessReport, ReadinessError> {
        let (role, checks) = self.check_all().await?;
        let failing: Vec<String> = {
            let mut f: Vec<String> =
                checks.iter().filter(|c| c.status == CheckStatus::Fail).map(|c| c.check.as_str().to_string()).collect();
            f.sort();
            f.dedup();
            f
        };
        let ready = failing.is_empty();
        self.metrics.put(NAMESPACE, &self.metric_data(&checks, ready)).await?;

        let message = if ready {
            format!("{} ({:?}) is ready to take over", self.this_region, role).to_lowercase()
        } else {
            let details: Vec<String> = checks
                .iter()
                .filter(|c| c.status == CheckStatus::Fail)
                .map(|c| format!("{} {}: {}", c.check.as_str(), c.subject, c.detail))
                .collect();
            format!("{} is NOT ready to take over: {}", self.this_region, details.join("; "))
        };
        let previous = self.store.readiness().await?;
        let unchanged = previous.as_ref().is_some_and(|p| p.ready == ready && p.failing == failing);
        let mut report = ReadinessReport {
            region: self.this_region.clone(),
            role,
            ready,
            checks,
            failing,
            changed: false,
            event_message_id: None,
            message,
        };
        if unchanged {
            return Ok(report);
        }
        let record = ReadinessRecord {
            ready,
            failing: report.failing.clone(),
            at: self.clock.now(),
            version: previous.as_ref().map_or(1, |p| p.version + 1),
        };
        // Of two overlapping runs, only the one that stores the change announces it.
        if !self.store.put_readiness(&record, previous.as_ref().map(|p| p.version)).await? {
            return Ok(report);
        }
        report.changed = true;
        let severity = if ready { Severity::Info } else { Severity::Warning };
        let status = if ready { StepStatus::Succeeded } else { StepStatus::Degraded };
        let mut event = PublishedEvent::new(
            &self.topology.application,
            EventType::ReadinessChanged,
            severity,
            status,
            &report.message,
        )
        .with_step(Step::Readiness)
        .with_evidence("ready", ready)
        .with_evidence("role", role)
        .with_evidence("failing", &report.failing)
        .with_evidence("previous", &previous)
        .with_evidence("checks", &report.checks);
        event.to_region = Some(self.this_region.clone());
        let topic = &self.topology.region(&self.this_region)?.sns.topic_arn;
        match self.publisher.publish(topic, &event).await {
            Ok(id) => report.event_message_id = Some(id),
            Err(e) => tracing::error!(error = %e, "readiness: could not publish the change"),
        }
        Ok(report)
    }

    fn metric_data(&self, checks: &[CheckResult], ready: bool) -> Vec<MetricDatum> {
        let mut per_check: BTreeMap<Check, bool> = BTreeMap::new();
        for c in checks.iter().filter(|c| c.status != CheckStatus::Skipped) {
            let e = per_check.entry(c.check).or_insert(true);
            *e &= c.status == CheckStatus::Pass;
        }
        let base = BTreeMap::from([
            ("Application".to_string(), self.topology.application.clone()),
            ("Region".to_string(), self.this_region.clone()),
        ]);
        let mut out: Vec<MetricDatum> = per_check
            .into_iter()
            .map(|(check, ok)| {
                let mut dims = base.clone();
                dims.insert("Check".to_string(), check.as_str().to_string());
                MetricDatum {
                    name: "ReadinessCheck".into(),
                    value: if ok { 1.0 } else { 0.0 },
                    unit: Unit::Count,
                    dimensions: dims,
                    high_resolution: false,
                }
            })
            .collect();
        out.push(MetricDatum {
            name: "Ready".into(),
            value: if ready { 1.0 } else { 0.0 },
            unit: Unit::Count,
            dimensions: base,
            high_resolution: false,
        });
        out
    }

    /// Retryable read failures (throttling, 5xx) end the run with an error so the scheduler
    /// retries; any other failed read is a failed check.
    async fn check_all(&self) -> Result<(Role, Vec<CheckResult>), ReadinessError> {
        let region = self.topology.region(&self.this_region)?;
        let mut r = Results(Vec::new());
        let rpo = Duration::from_secs(u64::from(self.topology.objectives.rpo_seconds));

        // Aurora.
        let mut writer_everywhere = true;
        let mut aurora = Vec::new();
        for c in &region.aurora {
            let cluster = retry_or(self.db.cluster(&c.cluster_id).await)?;
            let global = retry_or(self.db.global_cluster(&c.global_cluster_id).await)?;
            let is_writer = match (&cluster, &global) {
                (Ok(db), Ok(g)) => {
                    g.member(if db.arn.is_empty() { &c.cluster_arn } else { &db.arn }).is_some_and(|m| m.is_writer)
                }
                _ => false,
            };
            writer_everywhere &= is_writer;
            aurora.push((c, cluster, global, is_writer));
        }
        let role = if writer_everywhere && !aurora.is_empty() { Role::Active } else { Role::Standby };
        for (c, cluster, global, _) in &aurora {
            let subject = c.cluster_id.as_str();
            if role == Role::Active {
                for check in [Check::AuroraSecondary, Check::ReplicationLag, Check::EngineVersion] {
                    r.skip(check, subject, "this region holds the writer");
                }
                continue;
            }
            match (cluster, global) {
                (Err(e), _) | (_, Err(e)) => {
                    r.failed_read(Check::AuroraSecondary, subject, e);
                    r.skip(Check::EngineVersion, subject, "cluster unreadable");
                }
                (Ok(db), Ok(g)) => {
                    let arn = if db.arn.is_empty() { c.cluster_arn.as_str() } else { db.arn.as_str() };
                    let member = g.member(arn);
                    let (ok, detail) = if db.status != "available" {
                        (false, format!("status {}", db.status))
                    } else if member.is_none() {
                        (false, format!("not a member of global cluster {}", g.id))
                    } else if member.is_some_and(|m| m.is_writer) {
                        (false, "is the writer, not a secondary".to_string())
                    } else {
                        (true, format!("available secondary of {}", g.id))
                    };
                    r.add(Check::AuroraSecondary, subject, ok, detail);
                    match (&db.engine_version, &g.engine_version) {
                        (Some(mine), Some(global)) => r.add(
                            Check::EngineVersion,
                            subject,
                            mine == global,
                            format!("{mine} here, {global} in the global cluster"),
                        ),
                        _ => r.add(Check::EngineVersion, subject, false, "engine version not reported"),
                    }
                }
            }
            match retry_or(self.db.replication_lag(subject).await)? {
                Ok(Some(s)) => r.add(
                    Check::ReplicationLag,
                    subject,
                    s.lag <= rpo,
                    format!("{} ms (budget {} s)", s.lag.as_millis(), rpo.as_secs()),
                ),
                Ok(None) => r.add(Check::ReplicationLag, subject, false, "no recent lag datapoint"),
                Err(e) => r.failed_read(Check::ReplicationLag, subject, &e),
            }
        }

        // ECS: service, task definition, images in this region's ECR.
        for s in &region.ecs {
            let subject = format!("{}/{}", s.cluster, s.service);
            let task_definition = match retry_or(self.scaler.service(&s.cluster, &s.service).await)? {
                Ok(state) => {
                    r.add(Check::EcsService, &subject, state.status == "ACTIVE", format!("status {}", state.status));
                    state.task_definition
                }
                Err(e) => {
                    r.failed_read(Check::EcsService, &subject, &e);
                    None
                }
            };
            let Some(td) = task_definition else {
                r.skip(Check::TaskDefinition, &subject, "no service to read it from");
                r.skip(Check::EcrImage, &subject, "no task definition");
                continue;
            };
            let images = match retry_or(self.inventory.task_definition_images(&td).await)? {
                Ok(images) => {
                    r.add(Check::TaskDefinition, &td, true, format!("{} container image(s)", images.len()));
                    images
                }
                Err(e) => {
                    r.failed_read(Check::TaskDefinition, &td, &e);
                    r.skip(Check::EcrImage, &td, "no task definition");
                    continue;
                }
            };
            for image in images {
                match parse_ecr_image(&image) {
                    Some(img) if img.region == self.this_region => {
                        match retry_or(self.inventory.image_exists(&img.repository, &img.reference).await)? {
                            Ok(found) => r.add(
                                Check::EcrImage,
                                &image,
                                found,
                                if found { "present" } else { "missing in this region's ECR" },
                            ),
                            Err(e) => r.failed_read(Check::EcrImage, &image, &e),
                        }
                    }
                    Some(img) => r.add(
                        Check::EcrImage,
                        &image,
                        false,
                        format!("pulled from {}'s ECR, not this region's", img.region),
                    ),
                    None => {
                        r.add(Check::EcrImage, &image, false, "not an ECR image: not replicated by drover's registry")
                    }
                }
            }
        }

        // The database secret.
        match &self.db_secret_id {
            None => r.skip(Check::DbSecret, "-", format!("{DB_SECRET_ENV} not set")),
            Some(id) => match retry_or(self.inventory.secret_exists(id).await)? {
                Ok(found) => r.add(
                    Check::DbSecret,
                    id,
                    found,
                    if found { "present" } else { "missing or scheduled for deletion" },
                ),
                Err(e) => r.failed_read(Check::DbSecret, id, &e),
            },
        }

        // Route 53: both records, each with its health check.
        let r53 = &region.route53;
        match self.router.weighted_records(&r53.hosted_zone_id, &r53.record_name, r53.record_type).await {
            Ok(records) => {
                for reg in &self.topology.regions {
                    let want = &reg.route53;
                    let subject = format!("{} {}", want.record_name, want.set_identifier);
                    match records.iter().find(|x| x.set_identifier == want.set_identifier) {
                        None => r.add(Check::Route53Records, subject, false, "record missing"),
                        Some(x) => {
                            let ok = x.health_check_id.as_deref() == Some(want.health_check_id.as_str());
                            r.add(Check::Route53Records, subject, ok, format!("health check {:?}", x.health_check_id))
                        }
                    }
                }
            }
            // The Route 53 API lives in us-east-1; its outage does not stop the data-plane gate,
            // so an unreadable API is reported, not retried.
            Err(e) => r.failed_read(Check::Route53Records, &r53.record_name, &e),
        }

        // The lease table.
        match retry_or(self.lease.current().await)? {
            Ok(_) => r.add(Check::LeaseTable, &region.lease_table, true, "reachable"),
            Err(e) => r.failed_read(Check::LeaseTable, &region.lease_table, &e),
        }

        // The state machine.
        match &region.state_machine_arn {
            None => r.add(Check::StateMachine, "-", false, "no state_machine_arn in the topology"),
            Some(arn) => match retry_or(self.inventory.state_machine_status(arn).await)? {
                Ok(Some(status)) => r.add(Check::StateMachine, arn, status == "ACTIVE", format!("status {status}")),
                Ok(None) => r.add(Check::StateMachine, arn, false, "missing"),
                Err(e) => r.failed_read(Check::StateMachine, arn, &e),
            },
        }
        Ok((role, r.0))
    }
}

/// Retryable errors end the run (Err); anything else is kept as the check's answer (Ok(Err)).
fn retry_or<T>(r: Result<T, AwsError>) -> Result<Result<T, AwsError>, ReadinessError> {
    match r {
        Err(e) if e.is_retryable() => Err(e.into()),
        other => Ok(other),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub account: String,
    pub region: String,
    pub repository: String,
    /// A tag, or a `sha256:` digest.
    pub reference: String,
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@sha256:DIGEST]` (tag defaults to `latest`).
pub fn parse_ecr_image(image: &str) -> Option<EcrImage> {
    let (host, path) = image.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    if !crate::config::is_region_name(region) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (repository, reference) = if let Some((repo, digest)) = path.split_once('@') {
        (repo, digest.to_string())
    } else {
        match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag.to_string()),
            _ => (path, "latest".to_string()),
        }
    };
    (!repository.is_empty()).then(|| EcrImage {
        account: account.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_image_uris() {
        let i = parse_ecr_image("123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:1.4.2").unwrap();
        assert_eq!(
            (i.region.as_str(), i.repository.as_str(), i.reference.as_str()),
            ("us-west-2", "shop/web", "1.4.2")
        );
        let d = parse_ecr_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:abc").unwrap();
        assert_eq!((d.repository.as_str(), d.reference.as_str()), ("web", "sha256:abc"));
        assert_eq!(parse_ecr_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").unwrap().reference, "latest");
        for not_ecr in ["shop/web:seed", "nginx", "public.ecr.aws/nginx/nginx:1", "ghcr.io/x/y:1", ""] {
            assert!(parse_ecr_image(not_ecr).is_none(), "{not_ecr}");
        }
    }

    #[test]
    fn check_names_are_stable() {
        let v = serde_json::to_value(Check::EcrImage).unwrap();
        assert_eq!(v, "ecr_image");
        assert_eq!(Check::EcrImage.as_str(), "ecr_image");
    }
}
