variable "name" {
  description = "Name prefix of drover's resources (drover-<application>); alarm and topic names derive from it."
  type        = string
}

variable "application" {
  description = "Application name (dimension Application of drover's metrics)."
  type        = string
}

variable "region" {
  description = "AWS region of this observability stack."
  type        = string
}

variable "peer_region" {
  description = "The other region of the pair: the probe in this region watches it."
  type        = string
}

variable "create_trail" {
  description = "Create the multi-region CloudTrail trail, its bucket and key here (set in exactly one region)."
  type        = bool
  default     = false
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the application in this region."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service of the application in this region."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB in this region."
  type        = string
}

variable "target_group_arn_suffixes" {
  description = "ARN suffixes of the blue/green target groups in this region (keyed by colour)."
  type        = map(string)
}

variable "aurora_cluster_id" {
  description = "Aurora cluster identifier in this region."
  type        = string
}

variable "app_log_group_name" {
  description = "Log group of the application containers (source of the business metric filter)."
  type        = string
}

variable "rpo_seconds" {
  description = "Recovery point objective: the replication lag alarm fires above it."
  type        = number
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to the drover events topic (confirm the subscription by mail)."
  type        = list(string)
  default     = []
}

variable "probe_namespace" {
  description = "Namespace of the metrics the probe publishes."
  type        = string
  default     = "Drover/Probe"
}

variable "probe_success_threshold" {
  description = "The probe alarm fires when the average success ratio (0..1) of the probes of the peer stays below this."
  type        = number
  default     = 0.5
}

variable "alb_5xx_threshold" {
  description = "5xx responses per minute (ALB plus targets) above which the 5xx alarm counts a breach."
  type        = number
  default     = 50
}

variable "latency_threshold_seconds" {
  description = "p99 target response time above which the latency alarm counts a breach."
  type        = number
  default     = 2
}

variable "business_namespace" {
  description = "Namespace of the business metrics."
  type        = string
  default     = "Drover/Business"
}

variable "orders_filter_pattern" {
  description = "CloudWatch Logs filter pattern counting placed orders in the application logs."
  type        = string
  default     = "{ $.event = \"order_placed\" }"
}

variable "min_orders_per_minute" {
  description = "The orders alarm fires when orders per minute fall below this for five minutes."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Retention of the log groups created here, in days."
  type        = number
  default     = 365
}

variable "trail_log_transition_days" {
  description = "Days before CloudTrail log objects move to Glacier."
  type        = number
  default     = 90
}

variable "trail_log_expiration_days" {
  description = "Days before CloudTrail log objects expire."
  type        = number
  default     = 2555
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}
