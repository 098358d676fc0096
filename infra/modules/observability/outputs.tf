output "sns_topic_arn" {
  description = "ARN of drover's events topic in this region."
  value       = aws_sns_topic.this.arn
}

output "sns_kms_key_arn" {
  description = "Customer-managed key encrypting the events topic."
  value       = aws_kms_key.sns.arn
}

output "alarm_names" {
  description = "Names of the alarms of this region, by purpose."
  value       = local.alarm_names
}

output "alarm_arns" {
  description = "ARNs of the main alarms of this region, by purpose."
  value = merge(
    { alb_5xx = aws_cloudwatch_metric_alarm.alb_5xx.arn, alb_latency = aws_cloudwatch_metric_alarm.alb_latency.arn },
    { probe = aws_cloudwatch_metric_alarm.probe.arn, orders = aws_cloudwatch_metric_alarm.orders.arn },
    { for k, a in aws_cloudwatch_metric_alarm.ecs : k => a.arn },
    { for k, a in aws_cloudwatch_metric_alarm.aurora : k => a.arn },
  )
}

output "signals" {
  description = "The failover signal alarms located in this region: alarm_name, region (where the alarm lives), group, and watches (the region whose failure it indicates)."
  value       = local.signals
}

output "probe_metric" {
  description = "Namespace, metric name and dimensions the probe in this region publishes."
  value       = { namespace = var.probe_namespace, metric_name = "ProbeSuccessRatio", dimensions = { Application = var.application, Target = var.peer_region } }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of this region."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "trail_arn" {
  description = "ARN of the multi-region CloudTrail trail (null where the trail is not created)."
  value       = one(aws_cloudtrail.this[*].arn)
}

output "trail_bucket" {
  description = "Bucket of the CloudTrail logs (null where the trail is not created)."
  value       = one(aws_s3_bucket.trail[*].id)
}

output "trail_kms_key_arn" {
  description = "Key encrypting the CloudTrail logs (null where the trail is not created)."
  value       = one(aws_kms_key.trail[*].arn)
}
