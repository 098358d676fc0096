variable "name" {
  description = "Name prefix of drover's resources (drover-<application>); the gate alarm names derive from it."
  type        = string
}

variable "application" {
  description = "Application name (dimension Application of the gate metric)."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone holding the application record."
  type        = string
}

variable "record_name" {
  description = "Fully qualified name of the weighted application record (e.g. app.example.com)."
  type        = string
}

variable "record_ttl" {
  description = "TTL of the weighted records in seconds (short, so a shift is seen quickly)."
  type        = number
  default     = 60
}

variable "endpoints" {
  description = "Per region (keyed by region name): the ALB DNS name, the peer region (where that region's gate is published and alarmed) and the initial weight."
  type = map(object({
    alb_dns_name = string
    peer_region  = string
    weight       = number
  }))

  validation {
    condition     = length(var.endpoints) == 2
    error_message = "drover runs exactly two regions."
  }
}

variable "health_check_path" {
  description = "HTTPS path the Route 53 health check requests on each ALB."
  type        = string
  default     = "/healthz"
}

variable "health_check_interval" {
  description = "Seconds between Route 53 health check requests (10 or 30)."
  type        = number
  default     = 10
}

variable "health_check_failure_threshold" {
  description = "Consecutive failures before the ALB health check turns unhealthy."
  type        = number
  default     = 3
}

variable "gate_namespace" {
  description = "CloudWatch namespace of the data-plane gate metric."
  type        = string
  default     = "Drover/Gate"
}

variable "gate_metric_name" {
  description = "CloudWatch metric name of the data-plane gate."
  type        = string
  default     = "RecordGate"
}

variable "alarm_actions" {
  description = "Per region: actions (SNS topic ARNs, same region) of the gate alarm located there."
  type        = map(list(string))
  default     = {}
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}
