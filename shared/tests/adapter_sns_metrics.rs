//! Publisher over SNS (KMS-encrypted topic) and Metrics over CloudWatch.

mod common;

use std::collections::BTreeMap;

use common::*;
use drover_core::aws::cloudwatch::CloudWatchMetrics;
use drover_core::aws::sns::SnsPublisher;
use drover_core::events::{EventType, PublishedEvent, Severity};
use drover_core::ports::{MetricDatum, Metrics, Publisher, Unit};
use drover_core::{ErrorKind, Mode, Step, StepStatus};

#[tokio::test]
async fn publishes_to_the_encrypted_topic_with_attributes() {
    let w = World::new(1.0);
    let sns_cfg = w.region(STANDBY).sns.clone();
    let publisher = SnsPublisher::new(&*w.clients(STANDBY).await);
    let key = publisher.topic_kms_key(&sns_cfg.topic_arn).await.unwrap();
    assert_eq!(key.as_deref(), Some(sns_cfg.kms_key_id.as_str()), "the topic is encrypted with the configured key");

    let event = PublishedEvent::new(
        "shop",
        EventType::StepSucceeded,
        Severity::Info,
        StepStatus::Succeeded,
        "Aurora promoted in us-west-2",
    )
    .for_run("run-42", Some(3), Mode::Unplanned, PRIMARY, STANDBY)
    .with_step(Step::PromoteDb);
    let id = publisher.publish(&sns_cfg.topic_arn, &event).await.unwrap();
    assert!(!id.is_empty());

    let sent = w.emu.sns_messages(&sns_cfg.topic_arn);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    assert_eq!(m["subject"], event.subject());
    let body: PublishedEvent = serde_json::from_str(m["message"].as_str().unwrap()).unwrap();
    assert_eq!(body, event);
    assert_eq!(m["attributes"]["event_type"], "step_succeeded");
    assert_eq!(m["attributes"]["mode"], "unplanned");
    assert_eq!(m["attributes"]["severity"], "info");
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_not_found_and_a_down_region_unavailable() {
    let w = World::with_attempts(1.0, 1);
    let publisher = SnsPublisher::new(&*w.clients(STANDBY).await);
    let event = PublishedEvent::new("shop", EventType::RunStarted, Severity::Info, StepStatus::Started, "x");
    let err = publisher.publish("arn:aws:sns:us-west-2:123456789012:nope", &event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    w.emu.region_down(STANDBY);
    let err = publisher.publish(&w.region(STANDBY).sns.topic_arn, &event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn metrics_are_readable_after_put_and_faults_are_typed() {
    let w = World::with_attempts(1.0, 1);
    let clients = w.clients(STANDBY).await;
    let metrics = CloudWatchMetrics::new(&clients);
    let dims = BTreeMap::from([("Target".to_string(), PRIMARY.to_string())]);
    let data = [MetricDatum {
        name: "ProbeSuccessRatio".into(),
        value: 0.25,
        unit: Unit::None,
        dimensions: dims.clone(),
        high_resolution: true,
    }];
    metrics.put("Drover/Probe", &data).await.unwrap();

    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let stats = clients
        .cloudwatch
        .get_metric_statistics()
        .namespace("Drover/Probe")
        .metric_name("ProbeSuccessRatio")
        .dimensions(aws_sdk_cloudwatch::types::Dimension::builder().name("Target").value(PRIMARY).build())
        .start_time(aws_smithy_types::DateTime::from_secs(now.secs() - 300))
        .end_time(aws_smithy_types::DateTime::from_secs(now.secs() + 60))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Minimum)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.datapoints().first().and_then(|d| d.minimum()), Some(0.25));

    w.emu.fault("monitoring", STANDBY, "PutMetricData", FaultKind::Drop, None);
    let err = metrics.put("Drover/Probe", &data).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
}
