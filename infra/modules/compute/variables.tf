variable "name" {
  description = "Name prefix for every resource of this module (e.g. drover-shop)."
  type        = string
}

variable "region" {
  description = "AWS region this compute stack is deployed in."
  type        = string
}

variable "peer_region" {
  description = "The other region of the pair (ECR replication destination when replicate_ecr is true)."
  type        = string
}

variable "replicate_ecr" {
  description = "Create the registry replication configuration from this region to peer_region (set in exactly one region)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC to deploy the ALB and the tasks in."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of that VPC (security group rules use CIDRs, never groups of another region)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets of the ECS tasks."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate ARN (in this region) of the HTTPS and test listeners."
  type        = string
}

variable "ingress_cidrs" {
  description = "CIDRs allowed to reach the ALB listeners (the internet by default: it is the public entry point)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "repository_name" {
  description = "ECR repository name of the application image (the same name in both regions)."
  type        = string
}

variable "image_tag" {
  description = "Image tag of the application to run (immutable tags; no default on purpose)."
  type        = string
}

variable "container_port" {
  description = "Port the application container listens on."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "HTTP path of the application's health endpoint (ALB target group and Route 53 health check)."
  type        = string
  default     = "/healthz"
}

variable "cpu_architecture" {
  description = "CPU architecture of the application image (ARM64 or X86_64)."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.cpu_architecture)
    error_message = "cpu_architecture must be ARM64 or X86_64."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Fargate task memory in MiB."
  type        = number
  default     = 1024
}

variable "desired_count" {
  description = "Initial desired task count (active count in the active region, a small warm count in the standby). drover changes it at run time; Terraform ignores later changes."
  type        = number
}

variable "max_count" {
  description = "Upper bound of the service's autoscaling target."
  type        = number
  default     = 20
}

variable "environment" {
  description = "Plain environment variables of the application container."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Container environment variables read from Secrets Manager or SSM (name => ARN)."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "ARNs the task execution role may read (the secrets above, without JSON keys)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer-managed key (in this region) for log groups and the ECR repository."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "Key (in this region) that encrypts the secrets the task reads."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application log group, in days."
  type        = number
  default     = 365
}

variable "access_log_retention_days" {
  description = "Days before ALB access logs expire."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP above which the WAF blocks it."
  type        = number
  default     = 2000
}

variable "deployment_config_name" {
  description = "CodeDeploy traffic shifting of a blue/green deployment: a predefined ECS canary, linear or all-at-once configuration."
  type        = string
  default     = "CodeDeployDefault.ECSCanary10Percent5Minutes"

  validation {
    condition     = can(regex("^CodeDeployDefault\\.ECS(AllAtOnce|Canary10Percent(5|15)Minutes|Linear10PercentEvery(1|3)Minutes)$", var.deployment_config_name))
    error_message = "deployment_config_name must be a predefined ECS configuration: CodeDeployDefault.ECSAllAtOnce, ECSCanary10Percent5Minutes, ECSCanary10Percent15Minutes, ECSLinear10PercentEvery1Minutes or ECSLinear10PercentEvery3Minutes."
  }
}

variable "termination_wait_minutes" {
  description = "Minutes the old (blue) tasks keep running after a successful deployment: the window in which an alarm still rolls back at once."
  type        = number
  default     = 15

  validation {
    condition     = var.termination_wait_minutes >= 0 && var.termination_wait_minutes <= 2880
    error_message = "termination_wait_minutes must be 0 to 2880 (CodeDeploy's limit)."
  }
}

variable "deployment_5xx_threshold" {
  description = "Target 5xx answers in one minute that stop a deployment and roll it back."
  type        = number
  default     = 5
}
