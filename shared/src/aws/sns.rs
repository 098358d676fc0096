//! Publisher over SNS. The topic is encrypted with a customer-managed KMS key; SNS encrypts at
//! rest with it, so publishing needs kms:GenerateDataKey and kms:Decrypt on that key.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::RegionClients;
use crate::error::{AwsError, ErrorKind};
use crate::events::published::PublishedEvent;
use crate::ports::Publisher;

pub const IAM_ACTIONS: &[&str] = &["sns:Publish", "sns:GetTopicAttributes", "kms:GenerateDataKey", "kms:Decrypt"];

pub struct SnsPublisher {
    region: String,
    sns: aws_sdk_sns::Client,
}

impl SnsPublisher {
    pub fn new(clients: &RegionClients) -> Self {
        SnsPublisher { region: clients.region.clone(), sns: clients.sns.clone() }
    }
}

#[async_trait]
impl Publisher for SnsPublisher {
    fn region(&self) -> &str {
        &self.region
    }

    async fn publish(&self, topic_arn: &str, event: &PublishedEvent) -> Result<String, AwsError> {
        const OP: &str = "Publish";
        let mut req = self.sns.publish().topic_arn(topic_arn).subject(event.subject()).message(event.to_json());
        for (name, value) in event.attributes() {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AwsError::new("sns", OP, &self.region, ErrorKind::Rejected, e.to_string()))?;
            req = req.message_attributes(name, attr);
        }
        let out = req.send().await.map_err(|e| AwsError::from_sdk("sns", OP, &self.region, e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    async fn topic_kms_key(&self, topic_arn: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns", "GetTopicAttributes", &self.region, e))?;
        Ok(out.attributes().and_then(|a| a.get("KmsMasterKeyId")).filter(|k| !k.is_empty()).cloned())
    }
}
