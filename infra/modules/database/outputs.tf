output "global_cluster_id" {
  description = "Identifier of the Aurora global cluster."
  value       = aws_rds_global_cluster.this.id
}

output "global_cluster_arn" {
  description = "ARN of the Aurora global cluster."
  value       = aws_rds_global_cluster.this.arn
}

output "clusters" {
  description = "Per region: the Aurora cluster id, ARN, writer and reader endpoints."
  value = {
    for r, c in { (var.primary_region) = aws_rds_cluster.primary, (var.standby_region) = aws_rds_cluster.secondary } : r => {
      id                               = c.cluster_identifier
      arn                              = c.arn
      endpoint                         = c.endpoint
      reader_endpoint                  = c.reader_endpoint
    }
  }
}

output "security_group_ids" {
  description = "Per region: the Aurora security group id."
  value       = { for r, sg in aws_security_group.this : r => sg.id }
}

output "kms_key_arns" {
  description = "Per region: the customer-managed key encrypting Aurora, the secret and the table."
  value       = { for r, k in aws_kms_key.this : r => k.arn }
}

output "master_secret_arns" {
  description = "Per region: the ARN of the master credentials secret (the standby holds the replica)."
  value = {
    (var.primary_region) = aws_secretsmanager_secret.master.arn
    (var.standby_region) = replace(aws_secretsmanager_secret.master.arn, ":${var.primary_region}:", ":${var.standby_region}:")
  }
}

output "app_table_name" {
  description = "Name of the application's DynamoDB global table (same in both regions)."
  value       = aws_dynamodb_table.app.name
}

output "app_table_arns" {
  description = "Per region: the ARN of the application's DynamoDB table replica."
  value = {
    (var.primary_region) = aws_dynamodb_table.app.arn
    (var.standby_region) = replace(aws_dynamodb_table.app.arn, ":${var.primary_region}:", ":${var.standby_region}:")
  }
}
