//! The topology: both regions, the resources drover acts on, the objectives and the policy.
//!
//! Loaded once per cold start from `DROVER_TOPOLOGY` (a JSON document that Terraform renders).
//! A missing or invalid field is an init error naming the field's path, so a bad deploy fails
//! at the first invocation rather than in the middle of a failover.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Mode;

/// Environment variable holding the topology JSON.
pub const TOPOLOGY_ENV: &str = "DROVER_TOPOLOGY";
/// Environment variable naming the region a function runs in (and activates).
pub const REGION_SELF_ENV: &str = "DROVER_REGION_SELF";
/// The only schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("topology config: environment variable {0} is not set")]
    MissingEnv(&'static str),
    #[error("topology config: {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("unknown region {region:?}: the topology has {known}")]
    UnknownRegion { region: String, known: String },
}

impl ConfigError {
    fn invalid(path: impl Into<String>, message: impl fmt::Display) -> Self {
        ConfigError::Invalid { path: path.into(), message: message.to_string() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub schema_version: u32,
    pub application: String,
    pub regions: Vec<RegionConfig>,
    pub objectives: Objectives,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    pub aurora: Vec<AuroraCluster>,
    pub ecs: Vec<EcsService>,
    pub alb: Alb,
    pub route53: Route53Record,
    /// The data-plane gate of THIS region's record. drover publishes it from the peer region
    /// (the one being activated) and its alarm lives there, so taking this region out of DNS
    /// needs nothing from this region.
    pub gate: Gate,
    pub sns: Sns,
    pub lease_table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuroraCluster {
    pub global_cluster_id: String,
    pub cluster_id: String,
    pub cluster_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsService {
    pub cluster: String,
    pub service: String,
    pub active_desired_count: u32,
    pub standby_desired_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alb {
    pub arn: String,
    pub dns_name: String,
    pub health_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordType {
    A,
    AAAA,
    CNAME,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53Record {
    pub hosted_zone_id: String,
    pub record_name: String,
    pub record_type: RecordType,
    pub set_identifier: String,
    pub health_check_id: String,
    pub active_weight: u8,
    pub standby_weight: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub alarm_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sns {
    pub topic_arn: String,
    pub kms_key_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objectives {
    pub rto_seconds: u32,
    pub rpo_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Distinct signal groups in ALARM needed for an automatic failover.
    pub quorum: u32,
    pub signals: Vec<Signal>,
    pub cooldown_seconds: u32,
    pub lease_ttl_seconds: u32,
    /// Detach-and-promote (RemoveFromGlobalCluster) may be used when a global failover is impossible.
    pub allow_detach_promote: bool,
    /// Scale the old primary's services to zero after promotion (best effort).
    pub fence_old_primary: bool,
    /// Modes that wait for a person's approval before promotion.
    #[serde(default)]
    pub approval_required: Vec<Mode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub alarm_name: String,
    /// Region the alarm lives in.
    pub region: String,
    /// Region whose failure the alarm indicates.
    pub watches: String,
    /// Independence group: two alarms of one group count once towards the quorum.
    pub group: String,
}

impl Topology {
    /// Reads `DROVER_TOPOLOGY` once; call at cold start.
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw = std::env::var(TOPOLOGY_ENV).map_err(|_| ConfigError::MissingEnv(TOPOLOGY_ENV))?;
        Self::from_json(&raw)
    }

    /// Parses and validates; the error names the first offending field's path.
    pub fn from_json(raw: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(raw);
        let topology: Topology = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "(document)".to_string() } else { path };
            ConfigError::invalid(path, e.inner())
        })?;
        topology.validate()?;
        Ok(topology)
    }

    pub fn region(&self, name: &str) -> Result<&RegionConfig, ConfigError> {
        self.regions.iter().find(|r| r.name == name).ok_or_else(|| self.unknown(name))
    }

    /// The other region of the pair.
    pub fn peer_of(&self, name: &str) -> Result<&RegionConfig, ConfigError> {
        self.region(name)?;
        self.regions.iter().find(|r| r.name != name).ok_or_else(|| self.unknown(name))
    }

    pub fn region_names(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.name.as_str()).collect()
    }

    /// The signals that indicate a failure of `region`.
    pub fn signals_watching<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a Signal> + 'a {
        self.policy.signals.iter().filter(move |s| s.watches == region)
    }

    fn unknown(&self, name: &str) -> ConfigError {
        ConfigError::UnknownRegion { region: name.to_string(), known: self.region_names().join(" and ") }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ConfigError::invalid(
                "schema_version",
                format!("{} is not supported (expected {SCHEMA_VERSION})", self.schema_version),
            ));
        }
        non_empty("application", &self.application)?;
        if self.regions.len() != 2 {
            return Err(ConfigError::invalid(
                "regions",
                format!("exactly two regions are required, found {}", self.regions.len()),
            ));
        }
        for (i, r) in self.regions.iter().enumerate() {
            r.validate(&format!("regions[{i}]"))?;
        }
        if self.regions[0].name == self.regions[1].name {
            return Err(ConfigError::invalid("regions[1].name", "both regions have the same name"));
        }
        self.validate_pairing()?;
        if self.objectives.rpo_seconds == 0 {
            return Err(ConfigError::invalid("objectives.rpo_seconds", "must be greater than 0"));
        }
        if self.objectives.rto_seconds == 0 {
            return Err(ConfigError::invalid("objectives.rto_seconds", "must be greater than 0"));
        }
        self.validate_policy()
    }

    /// Both regions must describe the same global clusters, the same DNS name and distinct set ids.
    fn validate_pairing(&self) -> Result<(), ConfigError> {
        let (a, b) = (&self.regions[0], &self.regions[1]);
        let globals =
            |r: &RegionConfig| -> BTreeSet<String> { r.aurora.iter().map(|c| c.global_cluster_id.clone()).collect() };
        let (ga, gb) = (globals(a), globals(b));
        if let Some(missing) = ga.symmetric_difference(&gb).next() {
            return Err(ConfigError::invalid(
                "regions[*].aurora",
                format!("global cluster {missing:?} must have a member cluster in both regions"),
            ));
        }
        if a.route53.hosted_zone_id != b.route53.hosted_zone_id {
            return Err(ConfigError::invalid(
                "regions[1].route53.hosted_zone_id",
                "both regions' records must be in the same hosted zone",
            ));
        }
        if a.route53.record_name != b.route53.record_name || a.route53.record_type != b.route53.record_type {
            return Err(ConfigError::invalid(
                "regions[1].route53.record_name",
                "both regions' records must have the same name and type",
            ));
        }
        if a.route53.set_identifier == b.route53.set_identifier {
            return Err(ConfigError::invalid(
                "regions[1].route53.set_identifier",
                "set identifiers must differ between the regions",
            ));
        }
        Ok(())
    }

    fn validate_policy(&self) -> Result<(), ConfigError> {
        let p = &self.policy;
        if p.quorum == 0 {
            return Err(ConfigError::invalid("policy.quorum", "must be at least 1"));
        }
        if p.lease_ttl_seconds == 0 {
            return Err(ConfigError::invalid("policy.lease_ttl_seconds", "must be greater than 0"));
        }
        let names = self.region_names();
        for (i, s) in p.signals.iter().enumerate() {
            non_empty(&format!("policy.signals[{i}].alarm_name"), &s.alarm_name)?;
            non_empty(&format!("policy.signals[{i}].group"), &s.group)?;
            for (field, value) in [("region", &s.region), ("watches", &s.watches)] {
                if !names.contains(&value.as_str()) {
                    return Err(ConfigError::invalid(
                        format!("policy.signals[{i}].{field}"),
                        format!("{value:?} is not one of the topology's regions ({})", names.join(", ")),
                    ));
                }
            }
        }
        for name in &names {
            let groups: BTreeSet<&str> = self.signals_watching(name).map(|s| s.group.as_str()).collect();
            if (groups.len() as u32) < p.quorum {
                return Err(ConfigError::invalid(
                    "policy.signals",
                    format!(
                        "quorum is {} but only {} independent signal group(s) watch {name}: automatic failover away from it could never happen",
                        p.quorum,
                        groups.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl RegionConfig {
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        validate_region_name(&format!("{at}.name"), &self.name)?;
        if self.aurora.is_empty() {
            return Err(ConfigError::invalid(format!("{at}.aurora"), "at least one Aurora cluster is required"));
        }
        for (i, c) in self.aurora.iter().enumerate() {
            let p = format!("{at}.aurora[{i}]");
            non_empty(&format!("{p}.global_cluster_id"), &c.global_cluster_id)?;
            non_empty(&format!("{p}.cluster_id"), &c.cluster_id)?;
            arn_in_region(&format!("{p}.cluster_arn"), &c.cluster_arn, "rds", &self.name)?;
        }
        if self.ecs.is_empty() {
            return Err(ConfigError::invalid(format!("{at}.ecs"), "at least one ECS service is required"));
        }
        for (i, s) in self.ecs.iter().enumerate() {
            let p = format!("{at}.ecs[{i}]");
            non_empty(&format!("{p}.cluster"), &s.cluster)?;
            non_empty(&format!("{p}.service"), &s.service)?;
            if s.active_desired_count == 0 {
                return Err(ConfigError::invalid(format!("{p}.active_desired_count"), "must be at least 1"));
            }
            if s.standby_desired_count > s.active_desired_count {
                return Err(ConfigError::invalid(
                    format!("{p}.standby_desired_count"),
                    "must not exceed active_desired_count",
                ));
            }
        }
        non_empty(&format!("{at}.alb.dns_name"), &self.alb.dns_name)?;
        if !(self.alb.health_url.starts_with("https://") || self.alb.health_url.starts_with("http://")) {
            return Err(ConfigError::invalid(format!("{at}.alb.health_url"), "must be an http(s) URL"));
        }
        let r = &self.route53;
        non_empty(&format!("{at}.route53.hosted_zone_id"), &r.hosted_zone_id)?;
        non_empty(&format!("{at}.route53.record_name"), &r.record_name)?;
        non_empty(&format!("{at}.route53.set_identifier"), &r.set_identifier)?;
        non_empty(&format!("{at}.route53.health_check_id"), &r.health_check_id)?;
        if r.active_weight == 0 {
            return Err(ConfigError::invalid(format!("{at}.route53.active_weight"), "must be at least 1"));
        }
        if r.standby_weight >= r.active_weight {
            return Err(ConfigError::invalid(
                format!("{at}.route53.standby_weight"),
                "must be lower than active_weight",
            ));
        }
        non_empty(&format!("{at}.gate.namespace"), &self.gate.namespace)?;
        non_empty(&format!("{at}.gate.metric_name"), &self.gate.metric_name)?;
        non_empty(&format!("{at}.gate.alarm_name"), &self.gate.alarm_name)?;
        arn_in_region(&format!("{at}.sns.topic_arn"), &self.sns.topic_arn, "sns", &self.name)?;
        non_empty(&format!("{at}.sns.kms_key_id"), &self.sns.kms_key_id)?;
        non_empty(&format!("{at}.lease_table"), &self.lease_table)?;
        if let Some(arn) = &self.state_machine_arn {
            arn_in_region(&format!("{at}.state_machine_arn"), arn, "states", &self.name)?;
        }
        Ok(())
    }
}

fn non_empty(path: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() { Err(ConfigError::invalid(path, "must not be empty")) } else { Ok(()) }
}

/// Region names look like `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

pub fn validate_region_name(path: &str, name: &str) -> Result<(), ConfigError> {
    if is_region_name(name) {
        Ok(())
    } else {
        Err(ConfigError::invalid(path, format!("{name:?} is not an AWS region name (like us-east-1)")))
    }
}

/// `arn:partition:service:region:account:resource`, in the expected service and region.
fn arn_in_region(path: &str, arn: &str, service: &str, region: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[5].is_empty() {
        return Err(ConfigError::invalid(path, format!("{arn:?} is not an ARN")));
    }
    if parts[2] != service {
        return Err(ConfigError::invalid(path, format!("{arn:?} is not a {service} ARN")));
    }
    if parts[3] != region {
        return Err(ConfigError::invalid(
            path,
            format!("{arn:?} is in region {:?}, but this entry is for {region}", parts[3]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> serde_json::Value {
        serde_json::from_str(include_str!("../../docs/topology.example.json")).unwrap()
    }

    fn parse(v: &serde_json::Value) -> Result<Topology, ConfigError> {
        Topology::from_json(&v.to_string())
    }

    fn path_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { path, .. } => path,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_example_parses() {
        let t = parse(&example()).unwrap();
        assert_eq!(t.regions.len(), 2);
        assert_eq!(t.peer_of("us-east-1").unwrap().name, "us-west-2");
        assert_eq!(t.signals_watching("us-east-1").count(), 2);
    }

    #[test]
    fn a_missing_field_names_its_path() {
        let mut v = example();
        v["regions"][1]["route53"].as_object_mut().unwrap().remove("health_check_id");
        let err = parse(&v).unwrap_err();
        assert_eq!(path_of(err.clone()), "regions[1].route53");
        assert!(err.to_string().contains("health_check_id"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let mut v = example();
        v["regions"][0]["ecs"][0]["active_desired_count"] = serde_json::json!("four");
        assert_eq!(path_of(parse(&v).unwrap_err()), "regions[0].ecs[0].active_desired_count");
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let mut v = example();
        v["objectives"]["rto_minutes"] = serde_json::json!(15);
        let err = parse(&v).unwrap_err();
        assert!(err.to_string().contains("rto_minutes"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_field() {
        let cases: Vec<(&str, Box<dyn Fn(&mut serde_json::Value)>)> = vec![
            ("regions[0].name", Box::new(|v| v["regions"][0]["name"] = "moon-base".into())),
            (
                "regions[1].aurora[0].cluster_arn",
                Box::new(|v| v["regions"][1]["aurora"][0]["cluster_arn"] = "arn:aws:rds:eu-west-1:1:cluster:x".into()),
            ),
            (
                "regions[0].ecs[0].standby_desired_count",
                Box::new(|v| v["regions"][0]["ecs"][0]["standby_desired_count"] = 9.into()),
            ),
            (
                "regions[1].route53.set_identifier",
                Box::new(|v| v["regions"][1]["route53"]["set_identifier"] = "us-east-1".into()),
            ),
            ("policy.signals[0].watches", Box::new(|v| v["policy"]["signals"][0]["watches"] = "eu-west-3".into())),
            ("policy.signals", Box::new(|v| v["policy"]["quorum"] = 3.into())),
            ("objectives.rpo_seconds", Box::new(|v| v["objectives"]["rpo_seconds"] = 0.into())),
            (
                "regions",
                Box::new(|v| {
                    v["regions"].as_array_mut().unwrap().pop();
                }),
            ),
            ("regions[*].aurora", Box::new(|v| v["regions"][1]["aurora"][0]["global_cluster_id"] = "other".into())),
        ];
        for (expected, mutate) in cases {
            let mut v = example();
            mutate(&mut v);
            assert_eq!(path_of(parse(&v).unwrap_err()), expected);
        }
    }

    #[test]
    fn unknown_region_lookup_is_an_error_naming_it() {
        let t = parse(&example()).unwrap();
        let err = t.region("eu-west-9").unwrap_err();
        assert!(err.to_string().contains("eu-west-9") && err.to_string().contains("us-east-1"), "{err}");
    }

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5"] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us--1", "u-east-1", "us-east-x"] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
