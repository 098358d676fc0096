variable "application" {
  description = "Name of the application drover protects (lowercase letters, digits, dashes); resource names derive from it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.application))
    error_message = "application: 2-21 characters, lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "primary_region" {
  description = "Region that starts active: Aurora primary, DynamoDB home replica, the weighted record at full weight, the CloudTrail trail."
  type        = string
}

variable "standby_region" {
  description = "Region that starts standby: Aurora secondary, warm ECS service, weight 0."
  type        = string

  validation {
    condition     = var.standby_region != var.primary_region
    error_message = "The standby region must differ from the primary region."
  }
}

variable "allowed_account_ids" {
  description = "Account ids the provider may operate in (guards against applying to the wrong account); null allows any."
  type        = list(string)
  default     = null
}

variable "vpc_cidrs" {
  description = "VPC CIDR per role (primary, standby). They must not overlap."
  type = object({
    primary = string
    standby = string
  })
  default = {
    primary = "10.10.0.0/16"
    standby = "10.20.0.0/16"
  }
}

variable "az_suffixes" {
  description = "Letters of the availability zones used in each region (region name + letter)."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone of the application record."
  type        = string
}

variable "record_name" {
  description = "Fully qualified application record name (e.g. app.example.com)."
  type        = string
}

variable "certificate_arns" {
  description = "ACM certificate ARN per region (keyed by region name) for the ALB listeners."
  type        = map(string)
}

variable "image_tag" {
  description = "Tag of the application image in ECR (immutable; never latest)."
  type        = string
}

variable "image_architecture" {
  description = "CPU architecture of the application image (ARM64 or X86_64)."
  type        = string
  default     = "ARM64"
}

variable "container_port" {
  description = "Port the application container listens on."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Health endpoint path of the application (ALB target group, Route 53 health check, drover's probe)."
  type        = string
  default     = "/healthz"
}

variable "active_desired_count" {
  description = "Task count of the active region's service; scale-compute raises the standby to it."
  type        = number
  default     = 4
}

variable "standby_desired_count" {
  description = "Task count the standby region keeps warm."
  type        = number
  default     = 1
}

variable "db_name" {
  description = "Application database name in Aurora."
  type        = string
  default     = "app"
}

variable "db_master_username" {
  description = "Aurora master user name."
  type        = string
  default     = "app_admin"
}

variable "db_master_password" {
  description = "Aurora master password (stored in Secrets Manager, replicated to the standby). No default: pass it with TF_VAR_db_master_password from a vault."
  type        = string
  sensitive   = true
}

variable "db_instance_class" {
  description = "Aurora instance class in both regions."
  type        = string
  default     = "db.r6g.large"
}

variable "db_engine_version" {
  description = "Aurora PostgreSQL engine version."
  type        = string
  default     = "16.6"
}

variable "rto_seconds" {
  description = "Recovery time objective in seconds (reported against by drover)."
  type        = number
  default     = 900
}

variable "rpo_seconds" {
  description = "Recovery point objective in seconds (Aurora rds.global_db_rpo, lag alarm, drover's promotion gate)."
  type        = number
  default     = 60
}

variable "quorum" {
  description = "Independent signal groups that must be in ALARM for an automatic failover."
  type        = number
  default     = 2
}

variable "cooldown_seconds" {
  description = "No automatic failover within this many seconds of the previous one."
  type        = number
  default     = 3600
}

variable "lease_ttl_seconds" {
  description = "Expiry of the failover lease."
  type        = number
  default     = 1800
}

variable "allow_detach_promote" {
  description = "Let drover detach and promote the secondary (RemoveFromGlobalCluster) when a global failover is impossible."
  type        = bool
  default     = false
}

variable "fence_old_primary" {
  description = "Let drover fence the old primary (scale its service to zero) after a failover."
  type        = bool
  default     = false
}

variable "approval_required" {
  description = "Modes (unplanned, planned, drill, failback) that wait for an operator's approval."
  type        = list(string)
  default     = []
}

variable "lambda_artifacts_dir" {
  description = "Directory with <function>/bootstrap.zip from `cargo lambda build --release --output-format zip`; null means ../target/lambda relative to infra/."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Instruction set of the drover functions (arm64 or x86_64), matching the build."
  type        = string
  default     = "arm64"
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to drover's events topic in both regions."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags for every resource; merged with the standard tags in one place (locals.tags)."
  type        = map(string)
  default     = {}
}

variable "bluegreen_hook_settings" {
  description = "More DROVER_HOOK_* settings of bluegreen-hook, e.g. the smoke request: { DROVER_HOOK_SMOKE_PATH = \"/api/ping\", DROVER_HOOK_SMOKE_EXPECT_BODY = \"pong\" } (see drover_core::deploy::hook)."
  type        = map(string)
  default     = {}
}
