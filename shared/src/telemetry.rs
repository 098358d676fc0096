//! Logs and metrics as Lambda wants them: JSON lines on stdout, and CloudWatch embedded
//! metric format (EMF) lines that CloudWatch Logs turns into metrics without an API call.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};

use crate::ports::MetricDatum;

/// JSON logs, one object per line, no ANSI, level from `RUST_LOG` (default info).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch Logs stamps every line
        .with_target(true)
        .try_init();
}

/// One EMF document for `data`, all sharing the same dimensions.
pub fn emf_line(namespace: &str, dimensions: &BTreeMap<String, String>, data: &[MetricDatum]) -> String {
    let mut doc = serde_json::Map::new();
    let dim_names: Vec<&String> = dimensions.keys().collect();
    let metrics: Vec<Value> = data
        .iter()
        .map(|d| {
            let mut m = json!({ "Name": d.name, "Unit": d.unit.as_str() });
            if d.high_resolution {
                m["StorageResolution"] = json!(1);
            }
            m
        })
        .collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{ "Namespace": namespace, "Dimensions": [dim_names], "Metrics": metrics }]
        }),
    );
    for (k, v) in dimensions {
        doc.insert(k.clone(), json!(v));
    }
    for d in data {
        doc.insert(d.name.clone(), json!(d.value));
    }
    Value::Object(doc).to_string()
}

/// Writes an EMF line to stdout, where the Lambda runtime sends it to CloudWatch Logs.
pub fn emit_emf(namespace: &str, dimensions: &BTreeMap<String, String>, data: &[MetricDatum]) {
    println!("{}", emf_line(namespace, dimensions, data));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Unit;

    #[test]
    fn emf_line_has_the_documented_shape() {
        let dims = BTreeMap::from([
            ("Application".to_string(), "shop".to_string()),
            ("Step".to_string(), "promote-db".to_string()),
        ]);
        let data = [MetricDatum {
            name: "StepDuration".into(),
            value: 61.5,
            unit: Unit::Seconds,
            dimensions: BTreeMap::new(),
            high_resolution: false,
        }];
        let v: Value = serde_json::from_str(&emf_line("Drover", &dims, &data)).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Drover");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0], json!(["Application", "Step"]));
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0], json!({"Name": "StepDuration", "Unit": "Seconds"}));
        assert_eq!(v["StepDuration"], 61.5);
        assert_eq!(v["Step"], "promote-db");
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 0);
    }
}
