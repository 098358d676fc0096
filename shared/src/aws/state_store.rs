//! StateStore over the lease table: drover's own durable facts live beside the lease, as
//! further items of the same table (hash key `lease_id`), so they need no extra resource and
//! the same IAM grant:
//!
//! - `lease_id = "last-failover"`: the last run decided in this region (what the cooldown
//!   counts from). Written by `decide` on Go, only if its fencing token is higher than the
//!   stored one, so a stale or repeated write never moves the cooldown back.
//! - `lease_id = "readiness"`: the last readiness verdict, written by `readiness` with a
//!   compare-and-set on `version`, so of two overlapping runs only one announces a change.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::model::Mode;
use crate::ports::{FailoverRecord, ReadinessRecord, StateStore};

pub const IAM_ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem"];

pub const LAST_FAILOVER_ID: &str = "last-failover";
pub const READINESS_ID: &str = "readiness";

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStateStore {
    region: String,
    table: String,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl DynamoStateStore {
    pub fn new(clients: &RegionClients, table: &str) -> Self {
        DynamoStateStore {
            region: clients.region.clone(),
            table: table.to_string(),
            dynamodb: clients.dynamodb.clone(),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Item>, AwsError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("lease_id", AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "GetItem", &self.region, e))?;
        Ok(out.item().cloned())
    }

    /// A conditional put: Ok(false) when the condition failed.
    async fn put_if(&self, item: Item, condition: &str, values: Vec<(&str, AttributeValue)>) -> Result<bool, AwsError> {
        let mut req =
            self.dynamodb.put_item().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await.map_err(|e| AwsError::from_sdk("dynamodb", "PutItem", &self.region, e)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::ConditionFailed => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn corrupt(&self, id: &str, what: &str) -> AwsError {
        AwsError::new(
            "dynamodb",
            "GetItem",
            &self.region,
            ErrorKind::Rejected,
            format!("item {id:?} in {}: {what}", self.table),
        )
    }
}

fn s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn n(item: &Item, k: &str) -> Option<i64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn num(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn time(item: &Item, k: &str) -> Option<DateTime<Utc>> {
    n(item, k).and_then(DateTime::<Utc>::from_timestamp_millis)
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn last_failover(&self) -> Result<Option<FailoverRecord>, AwsError> {
        let Some(item) = self.get(LAST_FAILOVER_ID).await? else { return Ok(None) };
        let mode: Mode = s(&item, "mode")
            .and_then(|m| serde_json::from_value(serde_json::Value::String(m)).ok())
            .ok_or_else(|| self.corrupt(LAST_FAILOVER_ID, "mode missing or unknown"))?;
        Ok(Some(FailoverRecord {
            run_id: s(&item, "run_id").ok_or_else(|| self.corrupt(LAST_FAILOVER_ID, "run_id missing"))?,
            fencing_token: n(&item, "fencing_token").and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
            mode,
            from_region: s(&item, "from_region").unwrap_or_default(),
            to_region: s(&item, "to_region").unwrap_or_default(),
            at: time(&item, "at").ok_or_else(|| self.corrupt(LAST_FAILOVER_ID, "at missing"))?,
        }))
    }

    async fn record_failover(&self, r: &FailoverRecord) -> Result<bool, AwsError> {
        let item = Item::from([
            ("lease_id".to_string(), AttributeValue::S(LAST_FAILOVER_ID.to_string())),
            ("run_id".to_string(), AttributeValue::S(r.run_id.clone())),
            ("fencing_token".to_string(), num(r.fencing_token)),
            ("mode".to_string(), AttributeValue::S(r.mode.as_str().to_string())),
            ("from_region".to_string(), AttributeValue::S(r.from_region.clone())),
            ("to_region".to_string(), AttributeValue::S(r.to_region.clone())),
            ("at".to_string(), num(r.at.timestamp_millis())),
        ]);
        self.put_if(item, "attribute_not_exists(lease_id) OR fencing_token < :t", vec![(":t", num(r.fencing_token))])
            .await
    }

    async fn readiness(&self) -> Result<Option<ReadinessRecord>, AwsError> {
        let Some(item) = self.get(READINESS_ID).await? else { return Ok(None) };
        let failing = item
            .get("failing")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default();
        Ok(Some(ReadinessRecord {
            ready: item
                .get("ready")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .ok_or_else(|| self.corrupt(READINESS_ID, "ready missing"))?,
            failing,
            at: time(&item, "at").ok_or_else(|| self.corrupt(READINESS_ID, "at missing"))?,
            version: n(&item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
        }))
    }

    async fn put_readiness(&self, r: &ReadinessRecord, expected_version: Option<u64>) -> Result<bool, AwsError> {
        let item = Item::from([
            ("lease_id".to_string(), AttributeValue::S(READINESS_ID.to_string())),
            ("ready".to_string(), AttributeValue::Bool(r.ready)),
            (
                "failing".to_string(),
                AttributeValue::L(r.failing.iter().map(|f| AttributeValue::S(f.clone())).collect()),
            ),
            ("at".to_string(), num(r.at.timestamp_millis())),
            ("version".to_string(), num(r.version)),
        ]);
        match expected_version {
            None => self.put_if(item, "attribute_not_exists(lease_id)", vec![]).await,
            Some(v) => self.put_if(item, "version = :v", vec![(":v", num(v))]).await,
        }
    }
}
