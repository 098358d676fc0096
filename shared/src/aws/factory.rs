//! One client factory: SDK clients built once per region per cold start and shared.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::Mutex;

use crate::config::is_region_name;
use crate::error::{AwsError, ErrorKind};

/// Route 53's control plane is served from us-east-1 whatever region calls it.
pub const ROUTE53_SIGNING_REGION: &str = "us-east-1";

/// The clients of one region. Cheap to clone (each client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub rds: aws_sdk_rds::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub route53: aws_sdk_route53::Client,
    /// Readiness reads: the standby's image, secret and state machine.
    pub ecr: aws_sdk_ecr::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// Blue/green deployments: the lifecycle hook's status and the deploy trigger.
    pub codedeploy: aws_sdk_codedeploy::Client,
}

#[derive(Debug, Clone, Default)]
pub struct FactoryOptions {
    /// Overrides `AWS_ENDPOINT_URL` (tests point it at the emulator).
    pub endpoint_url: Option<String>,
    /// Static credentials for the emulator; `None` uses the default chain (the Lambda role).
    pub static_credentials: Option<(String, String)>,
    pub max_attempts: Option<u32>,
}

/// Builds each region's clients once and hands out shared copies.
#[derive(Debug, Default)]
pub struct ClientFactory {
    options: FactoryOptions,
    regions: Mutex<HashMap<String, Arc<RegionClients>>>,
}

impl ClientFactory {
    /// Honours `AWS_ENDPOINT_URL` and the default credential chain, as in a Lambda.
    pub fn from_env() -> Self {
        Self::with_options(FactoryOptions::default())
    }

    pub fn with_options(options: FactoryOptions) -> Self {
        ClientFactory { options, regions: Mutex::new(HashMap::new()) }
    }

    /// The clients for `region`, built on first use.
    pub async fn region(&self, region: &str) -> Result<Arc<RegionClients>, AwsError> {
        if !is_region_name(region) {
            return Err(AwsError::new(
                "sdk",
                "configure",
                region,
                ErrorKind::Rejected,
                format!("{region:?} is not an AWS region name"),
            ));
        }
        let mut regions = self.regions.lock().await;
        if let Some(c) = regions.get(region) {
            return Ok(c.clone());
        }
        let shared = self.load(region).await;
        let route53_conf =
            aws_sdk_route53::config::Builder::from(&shared).region(Region::new(ROUTE53_SIGNING_REGION)).build();
        let clients = Arc::new(RegionClients {
            region: region.to_string(),
            rds: aws_sdk_rds::Client::new(&shared),
            ecs: aws_sdk_ecs::Client::new(&shared),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(&shared),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&shared),
            sns: aws_sdk_sns::Client::new(&shared),
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            route53: aws_sdk_route53::Client::from_conf(route53_conf),
            ecr: aws_sdk_ecr::Client::new(&shared),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&shared),
            sfn: aws_sdk_sfn::Client::new(&shared),
            codedeploy: aws_sdk_codedeploy::Client::new(&shared),
        });
        regions.insert(region.to_string(), clients.clone());
        Ok(clients)
    }

    async fn load(&self, region: &str) -> SdkConfig {
        // A failing region must fail fast: the recovery cannot wait on it.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build();
        let retry = RetryConfig::standard().with_max_attempts(self.options.max_attempts.unwrap_or(3));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .timeout_config(timeouts)
            .retry_config(retry);
        if let Some(url) = &self.options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &self.options.static_credentials {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                key.clone(),
                secret.clone(),
                None,
                None,
                "drover-static",
            ));
        }
        loader.load().await
    }
}
