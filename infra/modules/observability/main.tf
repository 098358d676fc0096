data "aws_caller_identity" "this" {}

data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  partition = data.aws_partition.this.partition
  root_arn  = "arn:${local.partition}:iam::${local.account}:root"
  topic     = "${var.name}-events"

  alarm_names = {
    alb_5xx       = "${var.name}-alb-5xx-${var.region}"
    alb_latency   = "${var.name}-alb-latency-${var.region}"
    ecs_cpu       = "${var.name}-ecs-cpu-${var.region}"
    ecs_memory    = "${var.name}-ecs-memory-${var.region}"
    ecs_running   = "${var.name}-ecs-running-${var.region}"
    aurora_cpu    = "${var.name}-aurora-cpu-${var.region}"
    aurora_lag    = "${var.name}-aurora-rpo-lag-${var.region}"
    aurora_memory = "${var.name}-aurora-memory-${var.region}"
    orders        = "${var.name}-orders-${var.region}"
    # Located here, watching the peer: detection from outside the failing region.
    probe = "${var.name}-probe-${var.peer_region}"
  }

  # Alarms that count as failover signals, in drover's topology format.
  signals = [
    { alarm_name = local.alarm_names.probe, region = var.region, group = "probe", watches = var.peer_region },
    { alarm_name = local.alarm_names.alb_5xx, region = var.region, group = "alb", watches = var.region },
  ]

  alarm_actions = [aws_sns_topic.this.arn]
}

################################################################################
# Keys
################################################################################

data "aws_iam_policy_document" "sns_key" {
  # checkov:skip=CKV_AWS_109:KMS key policy: "*" is this key only, and the root statement delegates access to IAM policies
  # checkov:skip=CKV_AWS_111:KMS key policy: "*" is this key only; service principals are limited by conditions
  # checkov:skip=CKV_AWS_356:KMS key policy: a key policy cannot name the key it is attached to, "*" means this key
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  # CloudWatch alarms, EventBridge (and CloudTrail's log-delivery notices) publish to the encrypted topic.
  statement {
    sid       = "AlarmAndEventPublishers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_kms_key" "sns" {
  region                  = var.region
  description             = "${var.name} notifications topic in ${var.region}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.sns_key.json

  tags = var.tags
}

resource "aws_kms_alias" "sns" {
  region        = var.region
  name          = "alias/${var.name}-sns"
  target_key_id = aws_kms_key.sns.key_id
}

################################################################################
# Notifications
################################################################################

resource "aws_sns_topic" "this" {
  region            = var.region
  name              = local.topic
  kms_master_key_id = aws_kms_key.sns.arn

  tags = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "AlarmAndEventPublishers"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }

  statement {
    sid       = "AccountPublishers"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  region = var.region
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  region    = var.region
  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  region              = var.region
  alarm_name          = local.alarm_names.alb_5xx
  alarm_description   = "5xx responses (ALB and targets) above ${var.alb_5xx_threshold}/min in ${var.region}. drover signal (group alb)."
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = var.alb_5xx_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "total"
    expression  = "FILL(elb, 0) + FILL(target, 0)"
    label       = "5xx per minute"
    return_data = true
  }

  metric_query {
    id = "elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      stat        = "Sum"
      period      = 60
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_unhealthy" {
  for_each = var.target_group_arn_suffixes

  region              = var.region
  alarm_name          = "${var.name}-alb-unhealthy-${each.key}-${var.region}"
  alarm_description   = "Unhealthy ${each.key} targets behind the ALB in ${var.region}."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_latency" {
  region              = var.region
  alarm_name          = local.alarm_names.alb_latency
  alarm_description   = "p99 target response time above ${var.latency_threshold_seconds}s in ${var.region}."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = var.alb_arn_suffix }
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "ecs" {
  for_each = {
    ecs_cpu    = { namespace = "AWS/ECS", metric = "CPUUtilization", stat = "Average", threshold = 85, op = "GreaterThanThreshold", missing = "notBreaching" }
    ecs_memory = { namespace = "AWS/ECS", metric = "MemoryUtilization", stat = "Average", threshold = 85, op = "GreaterThanThreshold", missing = "notBreaching" }
    # Container Insights; missing data means no task reports at all.
    ecs_running = { namespace = "ECS/ContainerInsights", metric = "RunningTaskCount", stat = "Minimum", threshold = 1, op = "LessThanThreshold", missing = "breaching" }
  }

  region              = var.region
  alarm_name          = local.alarm_names[each.key]
  alarm_description   = "${each.value.metric} of ${var.ecs_service_name} in ${var.region}."
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = { ClusterName = var.ecs_cluster_name, ServiceName = var.ecs_service_name }
  statistic           = each.value.stat
  period              = 60
  evaluation_periods  = 5
  threshold           = each.value.threshold
  comparison_operator = each.value.op
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "aurora" {
  for_each = {
    aurora_cpu = { metric = "CPUUtilization", stat = "Average", threshold = 85, op = "GreaterThanThreshold" }
    # Reported by the secondary cluster only; in ms.
    aurora_lag    = { metric = "AuroraGlobalDBRPOLag", stat = "Maximum", threshold = var.rpo_seconds * 1000, op = "GreaterThanThreshold" }
    aurora_memory = { metric = "FreeableMemory", stat = "Minimum", threshold = 268435456, op = "LessThanThreshold" }
  }

  region              = var.region
  alarm_name          = local.alarm_names[each.key]
  alarm_description   = "${each.value.metric} of Aurora cluster ${var.aurora_cluster_id} in ${var.region}."
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  dimensions          = { DBClusterIdentifier = var.aurora_cluster_id }
  statistic           = each.value.stat
  period              = 60
  evaluation_periods  = 5
  threshold           = each.value.threshold
  comparison_operator = each.value.op
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# The probe in this region checks the peer's endpoint every minute (several requests per
# run, one-second resolution) and publishes ProbeSuccessRatio (0..1) with dimensions
# {Application, Target=<peer>}. Ten-second periods: three failing periods is ~30 s of detection.
resource "aws_cloudwatch_metric_alarm" "probe" {
  region              = var.region
  alarm_name          = local.alarm_names.probe
  alarm_description   = "The endpoint of ${var.peer_region}, probed from ${var.region}, is failing. drover signal (group probe)."
  namespace           = var.probe_namespace
  metric_name         = "ProbeSuccessRatio"
  dimensions          = { Application = var.application, Target = var.peer_region }
  statistic           = "Average"
  period              = 10
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = var.probe_success_threshold
  comparison_operator = "LessThanThreshold"
  # A silent probe is a problem of this region, not evidence against the peer.
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_log_metric_filter" "orders" {
  region         = var.region
  name           = "${var.name}-orders"
  log_group_name = var.app_log_group_name
  pattern        = var.orders_filter_pattern

  metric_transformation {
    name      = "OrdersPlaced"
    namespace = var.business_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "orders" {
  region              = var.region
  alarm_name          = local.alarm_names.orders
  alarm_description   = "Orders per minute below ${var.min_orders_per_minute} in ${var.region} (business signal, informational)."
  namespace           = var.business_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.orders.metric_transformation[0].name
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.min_orders_per_minute
  comparison_operator = "LessThanThreshold"
  # The standby serves no orders: only a drop in a region that has traffic is a breach.
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions

  tags = var.tags
}

################################################################################
# Dashboard
################################################################################

resource "aws_cloudwatch_dashboard" "this" {
  region         = var.region
  dashboard_name = "${var.name}-${var.region}"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title = "ALB 5xx and latency", region = var.region, stat = "Sum", period = 60
          metrics = [
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, { stat = "p99", yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title = "ECS service", region = var.region, stat = "Average", period = 60
          metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
            ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name, { yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title = "Aurora", region = var.region, stat = "Maximum", period = 60
          metrics = [
            ["AWS/RDS", "AuroraGlobalDBRPOLag", "DBClusterIdentifier", var.aurora_cluster_id],
            ["AWS/RDS", "AuroraGlobalDBReplicationLag", "DBClusterIdentifier", var.aurora_cluster_id],
            ["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", var.aurora_cluster_id, { yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title = "drover: probe of ${var.peer_region}, gate, orders", region = var.region, period = 60
          metrics = [
            [var.probe_namespace, "ProbeSuccessRatio", "Application", var.application, "Target", var.peer_region, { stat = "Average" }],
            ["Drover/Gate", "RecordGate", "Application", var.application, "Record", var.peer_region, { stat = "Minimum" }],
            [var.business_namespace, "OrdersPlaced", { stat = "Sum", yAxis = "right" }],
          ]
        }
      },
    ]
  })
}

################################################################################
# CloudTrail: one multi-region trail, KMS, validated, into a private bucket
################################################################################

locals {
  trail_name   = "${var.name}-trail"
  trail_arn    = "arn:${local.partition}:cloudtrail:${var.region}:${local.account}:trail/${local.trail_name}"
  trail_bucket = "${var.name}-trail-${local.account}"
}

data "aws_iam_policy_document" "trail_key" {
  # checkov:skip=CKV_AWS_109:KMS key policy: "*" is this key only, and the root statement delegates access to IAM policies
  # checkov:skip=CKV_AWS_111:KMS key policy: "*" is this key only; service principals are limited by conditions
  # checkov:skip=CKV_AWS_356:KMS key policy: a key policy cannot name the key it is attached to, "*" means this key
  count = var.create_trail ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "CloudTrailEncrypt"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.account}:trail/*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailDescribe"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "trail" {
  count = var.create_trail ? 1 : 0

  region                  = var.region
  description             = "${var.name} CloudTrail trail"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.trail_key[0].json

  tags = var.tags
}

resource "aws_s3_bucket" "trail" {
  # checkov:skip=CKV_AWS_18:this is the audit-log bucket; CloudTrail data events, not S3 server access logs, audit it
  # checkov:skip=CKV_AWS_144:the trail is multi-region and validated; replicating its bucket is not done yet (documented in infra/README.md)
  # checkov:skip=CKV2_AWS_62:log-only bucket, nothing consumes object-created events
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = local.trail_bucket

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "trail" {
  count = var.create_trail ? 1 : 0

  region                  = var.region
  bucket                  = aws_s3_bucket.trail[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "trail" {
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = aws_s3_bucket.trail[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "trail" {
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = aws_s3_bucket.trail[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "trail" {
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = aws_s3_bucket.trail[0].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.trail[0].arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "trail" {
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = aws_s3_bucket.trail[0].id

  rule {
    id     = "archive-then-expire"
    status = "Enabled"

    filter {}

    transition {
      days          = var.trail_log_transition_days
      storage_class = "GLACIER"
    }

    expiration {
      days = var.trail_log_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "trail_bucket" {
  count = var.create_trail ? 1 : 0

  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.trail[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.trail[0].arn}/AWSLogs/${local.account}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.trail[0].arn, "${aws_s3_bucket.trail[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "trail" {
  count = var.create_trail ? 1 : 0

  region = var.region
  bucket = aws_s3_bucket.trail[0].id
  policy = data.aws_iam_policy_document.trail_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.trail]
}

resource "aws_cloudwatch_log_group" "trail" {
  count = var.create_trail ? 1 : 0

  region            = var.region
  name              = "/aws/cloudtrail/${local.trail_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.trail[0].arn

  tags = var.tags
}

data "aws_iam_policy_document" "trail_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "trail" {
  count = var.create_trail ? 1 : 0

  name               = "${var.name}-cloudtrail-logs"
  assume_role_policy = data.aws_iam_policy_document.trail_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "trail_logs" {
  count = var.create_trail ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trail[0].arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "trail" {
  count = var.create_trail ? 1 : 0

  name   = "cloudwatch-logs"
  role   = aws_iam_role.trail[0].id
  policy = data.aws_iam_policy_document.trail_logs[0].json
}

resource "aws_cloudtrail" "this" {
  count = var.create_trail ? 1 : 0

  region                        = var.region
  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.trail[0].id
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = aws_kms_key.trail[0].arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.trail[0].arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.trail[0].arn
  sns_topic_name                = aws_sns_topic.this.arn

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.trail]
}
