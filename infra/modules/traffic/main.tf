locals {
  gate_alarm_name = { for r in keys(var.endpoints) : r => "${var.name}-gate-${r}" }
}

# (a) Is the region's ALB answering?
resource "aws_route53_health_check" "alb" {
  for_each = var.endpoints

  type              = "HTTPS"
  fqdn              = each.value.alb_dns_name
  port              = 443
  resource_path     = var.health_check_path
  enable_sni        = true
  request_interval  = var.health_check_interval
  failure_threshold = var.health_check_failure_threshold
  measure_latency   = true

  tags = merge(var.tags, { Name = "${var.name}-alb-${each.key}" })
}

# (b) The data-plane gate. drover in the PEER region publishes RecordGate{Record=<this region>}:
# 1 = keep serving, 0 = take this region out. The alarm lives in the peer region too, so
# moving traffic needs neither the failed region nor the Route 53 control plane.
resource "aws_cloudwatch_metric_alarm" "gate" {
  for_each = var.endpoints

  region              = each.value.peer_region
  alarm_name          = local.gate_alarm_name[each.key]
  alarm_description   = "drover data-plane gate of the ${each.key} record: ALARM takes ${each.key} out of DNS."
  namespace           = var.gate_namespace
  metric_name         = var.gate_metric_name
  dimensions          = { Application = var.application, Record = each.key }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  # Missing data keeps the last decision (the health check reads INSUFFICIENT_DATA as LastKnownStatus).
  treat_missing_data = "missing"
  alarm_actions      = lookup(var.alarm_actions, each.value.peer_region, [])
  ok_actions         = lookup(var.alarm_actions, each.value.peer_region, [])

  tags = var.tags
}

resource "aws_route53_health_check" "gate" {
  for_each = var.endpoints

  type                            = "CLOUDWATCH_METRIC"
  cloudwatch_alarm_name           = aws_cloudwatch_metric_alarm.gate[each.key].alarm_name
  cloudwatch_alarm_region         = each.value.peer_region
  insufficient_data_health_status = "LastKnownStatus"

  tags = merge(var.tags, { Name = "${var.name}-gate-${each.key}" })
}

# Healthy only when both the ALB answers and the gate is open.
resource "aws_route53_health_check" "this" {
  for_each = var.endpoints

  type                   = "CALCULATED"
  child_healthchecks     = [aws_route53_health_check.alb[each.key].id, aws_route53_health_check.gate[each.key].id]
  child_health_threshold = 2

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_route53_record" "this" {
  for_each = var.endpoints

  zone_id         = var.hosted_zone_id
  name            = var.record_name
  type            = "CNAME"
  ttl             = var.record_ttl
  records         = [each.value.alb_dns_name]
  set_identifier  = each.key
  health_check_id = aws_route53_health_check.this[each.key].id

  weighted_routing_policy {
    weight = each.value.weight
  }

  lifecycle {
    # shift-traffic owns the weights after the first apply.
    ignore_changes = [weighted_routing_policy]
  }
}
