//! One error type for every AWS call, saying whether a retry can help and keeping the source.

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an AWS call met; decides retry and what a person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service asked us to slow down.
    Throttled,
    /// 5xx, timeout, a dropped or refused connection: the region may be impaired.
    Unavailable,
    /// The resource does not exist.
    NotFound,
    /// The resource exists but is in a state that forbids the call (e.g. a failover already running).
    InvalidState,
    /// A conditional write lost (lease held, stale fencing token).
    ConditionFailed,
    /// The request itself is wrong or not allowed (validation, access denied).
    Rejected,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Unavailable)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidState => "invalid state",
            ErrorKind::ConditionFailed => "condition failed",
            ErrorKind::Rejected => "rejected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} in {region}: {kind}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub region: String,
    pub kind: ErrorKind,
    /// The AWS error code, when the service answered with one.
    pub code: Option<String>,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl AwsError {
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// An error found by the adapter itself (e.g. an answer missing a field it must carry).
    pub fn new(
        service: &'static str,
        operation: &'static str,
        region: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        AwsError {
            service,
            operation,
            region: region.to_string(),
            kind,
            code: None,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        region: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let (kind, code, message) = match &err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().map(str::to_string);
                let status = ctx.raw().status().as_u16();
                let message = ctx.err().message().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
                (classify(code.as_deref(), status), code, message)
            }
            SdkError::ConstructionFailure(_) => (ErrorKind::Rejected, None, DisplayErrorContext(&err).to_string()),
            // Timeouts, connection failures and unparseable answers all look like an impaired region.
            _ => (ErrorKind::Unavailable, None, DisplayErrorContext(&err).to_string()),
        };
        AwsError { service, operation, region: region.to_string(), kind, code, message, source: Some(Box::new(err)) }
    }
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "PriorRequestNotComplete",
    "SlowDown",
];

const UNAVAILABLE: &[&str] =
    &["InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException", "InternalServerError"];

/// Maps an AWS error code and HTTP status to a kind. Codes win over status: Route 53 answers
/// throttling with 400, RDS answers GlobalClusterNotFoundFault with 404.
pub fn classify(code: Option<&str>, status: u16) -> ErrorKind {
    let code = code.unwrap_or("");
    if THROTTLING.contains(&code) || status == 429 {
        ErrorKind::Throttled
    } else if UNAVAILABLE.contains(&code) || status >= 500 {
        ErrorKind::Unavailable
    } else if code == "ConditionalCheckFailedException" || code == "TransactionConflictException" {
        ErrorKind::ConditionFailed
    } else if code.contains("NotFound") || code.starts_with("NoSuch") || status == 404 {
        ErrorKind::NotFound
    } else if code.starts_with("Invalid") && code.contains("State") || code == "ServiceNotActiveException" {
        ErrorKind::InvalidState
    } else {
        ErrorKind::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_map_to_kinds() {
        assert_eq!(classify(Some("Throttling"), 400), ErrorKind::Throttled);
        assert_eq!(classify(Some("ThrottlingException"), 400), ErrorKind::Throttled);
        assert_eq!(classify(Some("PriorRequestNotComplete"), 400), ErrorKind::Throttled);
        assert_eq!(classify(None, 503), ErrorKind::Unavailable);
        assert_eq!(classify(Some("InternalFailure"), 500), ErrorKind::Unavailable);
        assert_eq!(classify(Some("GlobalClusterNotFoundFault"), 404), ErrorKind::NotFound);
        assert_eq!(classify(Some("NoSuchHostedZone"), 404), ErrorKind::NotFound);
        assert_eq!(classify(Some("InvalidGlobalClusterStateFault"), 400), ErrorKind::InvalidState);
        assert_eq!(classify(Some("InvalidDBClusterStateFault"), 400), ErrorKind::InvalidState);
        assert_eq!(classify(Some("ConditionalCheckFailedException"), 400), ErrorKind::ConditionFailed);
        assert_eq!(classify(Some("AccessDeniedException"), 400), ErrorKind::Rejected);
        assert!(ErrorKind::Throttled.is_retryable() && ErrorKind::Unavailable.is_retryable());
        assert!(!ErrorKind::NotFound.is_retryable() && !ErrorKind::Rejected.is_retryable());
    }
}
