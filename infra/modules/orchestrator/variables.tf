variable "name" {
  description = "Name prefix of drover's resources (drover-<application>)."
  type        = string
}

variable "region" {
  description = "The region this orchestrator runs in and activates."
  type        = string
}

variable "peer_region" {
  description = "The other region of the pair (its alarms are forwarded here, this region's alarms to it)."
  type        = string
}

variable "topology_json" {
  description = "drover's topology (JSON, see docs/topology.example.json), set as DROVER_TOPOLOGY on every function."
  type        = string
}

variable "lambda_artifacts_dir" {
  description = "Directory holding <function>/bootstrap.zip as built by `cargo lambda build --release --output-format zip` (target/lambda)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the functions (must match the cargo lambda build target)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "function_settings" {
  description = "Per function overrides of memory (MB) and timeout (s); functions not listed use 256 MB / 60 s."
  type = map(object({
    memory_size = optional(number, 256)
    timeout     = optional(number, 60)
  }))
  default = {
    probe     = { timeout = 50 }
    readiness = { timeout = 120 }
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of each function (keeps the recovery path runnable when the account is saturated)."
  type        = number
  default     = 5
}

variable "log_level" {
  description = "RUST_LOG of the functions."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of the function and state machine log groups, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "Platform key of this region: log groups, function environments, the dead-letter queue, the lease table, the state machine."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the functions run in."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the functions' security group."
  type        = string
}

variable "probe_schedule" {
  description = "Schedule expression of the probe (it probes the peer several times per run)."
  type        = string
  default     = "rate(1 minute)"
}

variable "readiness_schedule" {
  description = "Schedule expression of the readiness evaluation."
  type        = string
  default     = "rate(5 minutes)"
}

variable "signal_alarm_names" {
  description = "Alarms whose ALARM state starts this region's state machine: alarms located here plus those forwarded from the peer."
  type        = list(string)
}

variable "forwarded_alarm_names" {
  description = "Alarms located in this region whose state changes are forwarded to the peer region's default event bus."
  type        = list(string)
  default     = []
}

variable "sns_topic_arn" {
  description = "drover's events topic in this region."
  type        = string
}

variable "sns_kms_key_arn" {
  description = "Key of that topic."
  type        = string
}

variable "hosted_zone_id" {
  description = "Hosted zone of the application record (shift-traffic, verify, readiness)."
  type        = string
}

variable "global_cluster_arn" {
  description = "ARN of the Aurora global cluster."
  type        = string
}

variable "aurora_cluster_arns" {
  description = "ARNs of the Aurora clusters of both regions."
  type        = list(string)
}

variable "ecs_service_arns" {
  description = "Per region: ARN of the application's ECS service (describe and update both: this region's to activate it, the peer's to fence the old primary)."
  type        = map(string)
}

variable "ecs_task_definition_family" {
  description = "Family of the application's task definition (readiness checks it)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ECR repository of this region (readiness checks the image was replicated)."
  type        = string
}

variable "db_secret_arn" {
  description = "The database secret in this region (readiness checks its replica)."
  type        = string
}

variable "app_table_arn" {
  description = "The application's DynamoDB table replica in this region. No function calls DynamoDB on it today (readiness does not describe it), so no policy grants it."
  type        = string
}

variable "codedeploy_deployment_group_arn" {
  description = "CodeDeploy deployment group whose lifecycle hooks bluegreen-hook answers."
  type        = string
}

variable "codedeploy_role_name" {
  description = "Name of the CodeDeploy service role, allowed here to invoke bluegreen-hook."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}

variable "bluegreen_hook_environment" {
  description = "Environment of bluegreen-hook (DROVER_HOOK_*): the test listener's URL under the application's name, the ALB to connect to, the health path, the smoke request. See drover_core::deploy::hook."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.bluegreen_hook_environment) : startswith(k, "DROVER_HOOK_")])
    error_message = "bluegreen_hook_environment takes DROVER_HOOK_* variables only."
  }
}

variable "test_listener_port" {
  description = "Port of the ALB's blue/green test listener that bluegreen-hook reaches (null: no egress rule)."
  type        = number
  default     = null
}
