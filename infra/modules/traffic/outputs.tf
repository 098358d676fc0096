output "record_name" {
  description = "Name of the weighted application record."
  value       = var.record_name
}

output "record_type" {
  description = "Type of the weighted application records."
  value       = "CNAME"
}

output "hosted_zone_id" {
  description = "Hosted zone of the application record."
  value       = var.hosted_zone_id
}

output "set_identifiers" {
  description = "Per region: the set identifier of its weighted record."
  value       = { for r, rec in aws_route53_record.this : r => rec.set_identifier }
}

output "health_check_ids" {
  description = "Per region: the CALCULATED health check attached to its record."
  value       = { for r, hc in aws_route53_health_check.this : r => hc.id }
}

output "alb_health_check_ids" {
  description = "Per region: the HTTPS health check of its ALB."
  value       = { for r, hc in aws_route53_health_check.alb : r => hc.id }
}

output "gate_health_check_ids" {
  description = "Per region: the CLOUDWATCH_METRIC health check of its gate."
  value       = { for r, hc in aws_route53_health_check.gate : r => hc.id }
}

output "gate_alarm_names" {
  description = "Per region: the name of the alarm gating its record (the alarm lives in the peer region)."
  value       = local.gate_alarm_name
}

output "gate_alarm_arns" {
  description = "Per region: the ARN of the alarm gating its record."
  value       = { for r, a in aws_cloudwatch_metric_alarm.gate : r => a.arn }
}

output "gate" {
  description = "Namespace and metric name of the gate metric."
  value       = { namespace = var.gate_namespace, metric_name = var.gate_metric_name }
}
