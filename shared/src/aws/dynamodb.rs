//! Lease over DynamoDB conditional writes.
//!
//! One item per table (`lease_id = "failover"`). Acquiring sets the holder and expiry and ADDs 1
//! to `fencing_token` in one conditional update, so the token only grows, even across releases
//! and expiries (the item is never deleted). Every step presents its token before it writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::ports::{Clock, Lease, LeaseError, LeaseGrant, LeaseRecord, SystemClock};

pub const IAM_ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:UpdateItem"];

pub const LEASE_ID: &str = "failover";

pub struct DynamoLease {
    region: String,
    table: String,
    dynamodb: aws_sdk_dynamodb::Client,
    clock: Arc<dyn Clock>,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoLease {
    pub fn new(clients: &RegionClients, table: &str) -> Self {
        Self::with_clock(clients, table, Arc::new(SystemClock))
    }

    pub fn with_clock(clients: &RegionClients, table: &str, clock: Arc<dyn Clock>) -> Self {
        DynamoLease {
            region: clients.region.clone(),
            table: table.to_string(),
            dynamodb: clients.dynamodb.clone(),
            clock,
        }
    }

    fn key() -> (String, AttributeValue) {
        ("lease_id".to_string(), AttributeValue::S(LEASE_ID.to_string()))
    }

    fn millis(t: DateTime<Utc>) -> AttributeValue {
        AttributeValue::N(t.timestamp_millis().to_string())
    }

    fn expiry(&self, ttl: Duration) -> DateTime<Utc> {
        self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
    }

    fn record(item: &Item) -> LeaseRecord {
        let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|s| s.parse::<i64>().ok());
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        LeaseRecord {
            fencing_token: n("fencing_token").and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
            holder: s("holder"),
            run_id: s("run_id"),
            expires_at: n("expires_at").and_then(DateTime::<Utc>::from_timestamp_millis),
        }
    }

    fn grant(&self, item: &Item, op: &'static str) -> Result<LeaseGrant, LeaseError> {
        let r = Self::record(item);
        match (r.holder, r.run_id, r.expires_at) {
            (Some(holder), Some(run_id), Some(expires_at)) if r.fencing_token > 0 => {
                Ok(LeaseGrant { fencing_token: r.fencing_token, holder, run_id, expires_at })
            }
            _ => Err(AwsError::new(
                "dynamodb",
                op,
                &self.region,
                ErrorKind::Unavailable,
                "lease item incomplete after a successful write",
            )
            .into()),
        }
    }

    fn is_condition_failure(e: &AwsError) -> bool {
        e.kind == ErrorKind::ConditionFailed
    }

    fn stale(presented: u64, current: Option<LeaseRecord>) -> LeaseError {
        LeaseError::Stale {
            presented,
            current: current.as_ref().map(|c| c.fencing_token),
            holder: current.and_then(|c| c.holder),
        }
    }
}

#[async_trait]
impl Lease for DynamoLease {
    async fn acquire(&self, holder: &str, run_id: &str, ttl: Duration) -> Result<LeaseGrant, LeaseError> {
        const OP: &str = "UpdateItem";
        let now = self.clock.now();
        let (k, v) = Self::key();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression(
                "SET holder = :h, run_id = :r, expires_at = :e, acquired_at = :now ADD fencing_token :one",
            )
            .condition_expression("attribute_not_exists(holder) OR expires_at <= :now")
            .expression_attribute_values(":h", AttributeValue::S(holder.to_string()))
            .expression_attribute_values(":r", AttributeValue::S(run_id.to_string()))
            .expression_attribute_values(":e", Self::millis(self.expiry(ttl)))
            .expression_attribute_values(":now", Self::millis(now))
            .expression_attribute_values(":one", AttributeValue::N("1".to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", OP, &self.region, e));
        match result {
            Ok(out) => self.grant(out.attributes().unwrap_or(&HashMap::new()), OP),
            Err(e) if Self::is_condition_failure(&e) => {
                let current = self.current().await?;
                let c =
                    current.unwrap_or(LeaseRecord { fencing_token: 0, holder: None, run_id: None, expires_at: None });
                Err(LeaseError::Held {
                    holder: c.holder.unwrap_or_else(|| "(released meanwhile)".to_string()),
                    run_id: c.run_id.unwrap_or_default(),
                    expires_at: c.expires_at.unwrap_or(now),
                    fencing_token: c.fencing_token,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn renew(&self, fencing_token: u64, ttl: Duration) -> Result<LeaseGrant, LeaseError> {
        const OP: &str = "UpdateItem";
        let (k, v) = Self::key();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("SET expires_at = :e")
            .condition_expression("fencing_token = :t AND attribute_exists(holder) AND expires_at > :now")
            .expression_attribute_values(":e", Self::millis(self.expiry(ttl)))
            .expression_attribute_values(":t", AttributeValue::N(fencing_token.to_string()))
            .expression_attribute_values(":now", Self::millis(self.clock.now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", OP, &self.region, e));
        match result {
            Ok(out) => self.grant(out.attributes().unwrap_or(&HashMap::new()), OP),
            Err(e) if Self::is_condition_failure(&e) => Err(Self::stale(fencing_token, self.current().await?)),
            Err(e) => Err(e.into()),
        }
    }

    async fn release(&self, fencing_token: u64) -> Result<(), LeaseError> {
        let (k, v) = Self::key();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(k, v)
            .update_expression("REMOVE holder, run_id SET expires_at = :zero, released_at = :now")
            .condition_expression("fencing_token = :t AND attribute_exists(holder)")
            .expression_attribute_values(":t", AttributeValue::N(fencing_token.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".to_string()))
            .expression_attribute_values(":now", Self::millis(self.clock.now()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "UpdateItem", &self.region, e));
        match result {
            Ok(_) => Ok(()),
            Err(e) if Self::is_condition_failure(&e) => match self.current().await? {
                // Already released with this very token: a repeated release is harmless.
                Some(c) if c.fencing_token == fencing_token && c.holder.is_none() => Ok(()),
                current => Err(Self::stale(fencing_token, current)),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn check(&self, fencing_token: u64) -> Result<LeaseRecord, LeaseError> {
        let current = self.current().await?;
        match current {
            Some(c)
                if c.fencing_token == fencing_token
                    && c.holder.is_some()
                    && c.expires_at.is_some_and(|e| e > self.clock.now()) =>
            {
                Ok(c)
            }
            other => Err(Self::stale(fencing_token, other)),
        }
    }

    async fn current(&self) -> Result<Option<LeaseRecord>, AwsError> {
        let (k, v) = Self::key();
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(k, v)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb", "GetItem", &self.region, e))?;
        Ok(out.item().map(Self::record))
    }
}
