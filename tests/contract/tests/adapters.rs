//! Each AWS adapter's `IAM_ACTIONS` lists exactly the SDK operations its source calls.

use std::collections::BTreeSet;
use std::path::PathBuf;

use regex::Regex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The IAM prefix of the client a field or variable holds, by the names the adapters use.
fn iam_prefix(client: &str) -> Option<&'static str> {
    Some(match client {
        "rds" => "rds",
        "ecs" => "ecs",
        "autoscaling" => "application-autoscaling",
        "cloudwatch" => "cloudwatch",
        "sns" => "sns",
        "dynamodb" => "dynamodb",
        "route53" => "route53",
        "ecr" => "ecr",
        "secrets" | "secretsmanager" => "secretsmanager",
        "sfn" | "states" => "states",
        "codedeploy" => "codedeploy",
        _ => return None,
    })
}

/// `describe_db_clusters` -> `DescribeDBClusters`, as IAM and the API spell it.
fn operation(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| match w {
            "db" => "DB".to_string(),
            w => {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            }
        })
        .collect()
}

/// The `pub const IAM_ACTIONS: &[&str] = &[...]` of a source file.
fn declared(src: &str) -> Option<BTreeSet<String>> {
    let re = Regex::new(r#"(?s)pub const IAM_ACTIONS: &\[&str\] = &\[(.*?)\];"#).unwrap();
    let body = re.captures(src)?.get(1)?.as_str();
    Some(Regex::new(r#""([^"]+)""#).unwrap().captures_iter(body).map(|c| c[1].to_string()).collect())
}

/// `<client>.<operation>()` calls, across line breaks, on the client names above: a request
/// builder that is sent (`.send()` before the statement ends), so accessors on other values
/// that happen to share a name are not counted.
fn called(src: &str) -> BTreeSet<String> {
    let re = Regex::new(r"\b([a-z0-9_]+)\s*\.\s*([a-z][a-z0-9_]*)\(\)").unwrap();
    re.captures_iter(src)
        .filter_map(|c| {
            let prefix = iam_prefix(&c[1])?;
            if matches!(&c[2], "clone" | "config" | "to_owned") {
                return None;
            }
            let end = c.get(0)?.end();
            let statement = &src[end..src[end..].find(';').map(|i| end + i).unwrap_or(src.len())];
            let start = c.get(0)?.start();
            let head = &src[src[..start].rfind([';', '{', '}']).map(|i| i + 1).unwrap_or(0)..start];
            // `let mut req = client.op()…;` sent later as `req.send()`.
            let sent_later = head.trim_start().starts_with("let ") && src[end..].contains(".send()");
            if !statement.contains(".send()") && !sent_later {
                return None;
            }
            Some(format!("{prefix}:{}", operation(&c[2])))
        })
        .collect()
}

#[test]
fn every_adapter_declares_exactly_what_it_calls() {
    let dir = root().join("shared/src/aws");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "mod.rs" || name == "factory.rs" {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let declared = declared(&src).unwrap_or_else(|| panic!("{name} has no IAM_ACTIONS list"));
        let called = called(&src);
        // An adapter may declare actions a called operation needs besides its own
        // (KMS for an encrypted SNS topic, a shared helper's call).
        let undeclared: Vec<_> = called.difference(&declared).collect();
        assert!(undeclared.is_empty(), "{name} calls {undeclared:?} without listing them in IAM_ACTIONS");
        let extra: Vec<_> = declared
            .difference(&called)
            .filter(|a| !a.starts_with("kms:"))
            .filter(|a| !shared_helper_call(a))
            .collect();
        assert!(extra.is_empty(), "{name} lists {extra:?} in IAM_ACTIONS but its source never calls them");
        checked += 1;
    }
    assert!(checked >= 6, "found only {checked} adapters under {}", dir.display());
}

/// Calls made through a helper in another adapter module (the gate's PutMetricData).
fn shared_helper_call(action: &str) -> bool {
    action == "cloudwatch:PutMetricData"
}

#[test]
fn operation_names_follow_the_api_spelling() {
    assert_eq!(operation("describe_db_clusters"), "DescribeDBClusters");
    assert_eq!(operation("failover_global_cluster"), "FailoverGlobalCluster");
    assert_eq!(operation("put_metric_data"), "PutMetricData");
    let src = "self\n  .rds\n  .describe_global_clusters()\n  .send(); self.ecs.clone(); ecs.cluster_name(); x.foo()";
    assert_eq!(called(src), BTreeSet::from(["rds:DescribeGlobalClusters".to_string()]));
}
