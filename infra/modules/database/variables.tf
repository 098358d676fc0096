variable "name" {
  description = "Name prefix for every resource of this module (e.g. drover-shop)."
  type        = string
}

variable "primary_region" {
  description = "Region of the Aurora primary cluster and of the DynamoDB table's home replica."
  type        = string
}

variable "standby_region" {
  description = "Region of the Aurora secondary cluster and of the DynamoDB replica."
  type        = string
}

variable "networks" {
  description = "Per region (keyed by region name): the VPC id, its CIDR and the private subnet ids for Aurora."
  type = map(object({
    vpc_id     = string
    vpc_cidr   = string
    subnet_ids = list(string)
  }))
}

variable "engine_version" {
  description = "Aurora PostgreSQL engine version (must support global databases)."
  type        = string
  default     = "16.6"
}

variable "parameter_group_family" {
  description = "Cluster parameter group family matching engine_version."
  type        = string
  default     = "aurora-postgresql16"
}

variable "instance_class" {
  description = "Instance class of the Aurora instances in both regions."
  type        = string
  default     = "db.r6g.large"
}

variable "primary_instance_count" {
  description = "Number of Aurora instances in the primary region (writer plus readers)."
  type        = number
  default     = 2
}

variable "standby_instance_count" {
  description = "Number of Aurora instances in the standby region (at least one, so it can be promoted)."
  type        = number
  default     = 1

  validation {
    condition     = var.standby_instance_count >= 1
    error_message = "The standby cluster needs at least one instance to be promotable."
  }
}

variable "database_name" {
  description = "Name of the application database created in the primary cluster."
  type        = string
}

variable "master_username" {
  description = "Master user name of the Aurora cluster."
  type        = string
}

variable "master_password" {
  description = "Master password of the Aurora cluster; stored in Secrets Manager and replicated to the standby region. Pass it from a vault (TF_VAR_db_master_password); it has no default."
  type        = string
  sensitive   = true
}

variable "rpo_seconds" {
  description = "Recovery point objective in seconds; sets rds.global_db_rpo (Aurora pauses commits rather than exceed it; minimum 20)."
  type        = number

  validation {
    condition     = var.rpo_seconds >= 20
    error_message = "rds.global_db_rpo must be at least 20 seconds."
  }
}

variable "backup_retention_days" {
  description = "Days of automated Aurora backups."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Deletion protection on the global cluster, the clusters and the DynamoDB table."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Enhanced monitoring interval of the Aurora instances in seconds (0 disables it)."
  type        = number
  default     = 30
}

variable "app_table_name" {
  description = "Name of the application's DynamoDB global table."
  type        = string
}

variable "app_table_hash_key" {
  description = "Partition key (type S) of the application's DynamoDB global table."
  type        = string
  default     = "pk"
}

variable "app_table_range_key" {
  description = "Sort key (type S) of the application's DynamoDB global table."
  type        = string
  default     = "sk"
}

variable "app_table_capacity" {
  description = "Provisioned capacity autoscaling of the application table, applied in both regions."
  type = object({
    read_min     = number
    read_max     = number
    write_min    = number
    write_max    = number
    target_value = number
  })
  default = {
    read_min     = 5
    read_max     = 500
    write_min    = 5
    write_max    = 500
    target_value = 70
  }
}

variable "tags" {
  description = "Tags applied to every resource (merged once, in the root module)."
  type        = map(string)
  default     = {}
}
