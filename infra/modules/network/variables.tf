variable "name" {
  description = "Name prefix for every resource of this module (e.g. drover-shop)."
  type        = string
}

variable "region" {
  description = "AWS region this network is deployed in (provider v6 per-resource region)."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC. The two regions must not overlap."
  type        = string
}

variable "az_suffixes" {
  description = "Letters of the availability zones to use (region name + letter), e.g. [\"a\", \"b\", \"c\"]."
  type        = list(string)
  default     = ["a", "b", "c"]

  validation {
    condition     = length(var.az_suffixes) >= 2 && length(var.az_suffixes) <= 6
    error_message = "Use between 2 and 6 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all private subnets instead of one per AZ (cheaper, not zone-redundant)."
  type        = bool
  default     = false
}

variable "interface_endpoint_services" {
  description = "Interface VPC endpoints to create so the Lambdas reach the regional AWS APIs without NAT."
  type        = list(string)
  default = [
    "ecr.api", "ecr.dkr", "ecs", "kms", "logs", "monitoring", "rds", "secretsmanager",
    "sns", "sqs", "states", "sts", "application-autoscaling", "codedeploy",
  ]
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs in CloudWatch Logs, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}
