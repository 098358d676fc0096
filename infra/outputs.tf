output "topology" {
  description = "drover's topology JSON, as set in DROVER_TOPOLOGY on every function."
  value       = jsonencode(local.topology)
}

output "regions" {
  description = "Role (primary or standby) of each region at deployment time."
  value       = local.role
}

output "record_name" {
  description = "The application's weighted record."
  value       = var.record_name
}

output "health_check_ids" {
  description = "Per region: the CALCULATED Route 53 health check on its record."
  value       = module.traffic.health_check_ids
}

output "gate_alarm_names" {
  description = "Per region: the gate alarm of its record (located in the peer region)."
  value       = module.traffic.gate_alarm_names
}

output "alb_dns_names" {
  description = "Per region: the ALB DNS name."
  value       = { for r in local.regions : r => module.compute[r].alb_dns_name }
}

output "ecr_repository_urls" {
  description = "Per region: the application's ECR repository URL (push to the primary's; it replicates)."
  value       = { for r in local.regions : r => module.compute[r].repository_url }
}

output "ecs_clusters" {
  description = "Per region: ECS cluster and service names."
  value       = { for r in local.regions : r => { cluster = module.compute[r].cluster_name, service = module.compute[r].service_name } }
}

output "codedeploy" {
  description = "Per region: CodeDeploy application and deployment group of the blue/green deployments."
  value       = { for r in local.regions : r => { app = module.compute[r].codedeploy_app_name, group = module.compute[r].codedeploy_deployment_group_name } }
}

output "aurora" {
  description = "Aurora global cluster id and, per region, cluster id, ARN and endpoints."
  value       = { global_cluster_id = module.database.global_cluster_id, clusters = module.database.clusters }
}

output "db_secret_arns" {
  description = "Per region: the ARN of the database master secret (the standby's is the replica)."
  value       = module.database.master_secret_arns
}

output "app_table_name" {
  description = "The application's DynamoDB global table."
  value       = module.database.app_table_name
}

output "state_machine_arns" {
  description = "Per region: the failover state machine that activates that region."
  value       = { for r in local.regions : r => module.orchestrator[r].state_machine_arn }
}

output "function_arns" {
  description = "Per region: the drover function ARNs."
  value       = { for r in local.regions : r => module.orchestrator[r].function_arns }
}

output "function_actions" {
  description = "IAM actions per drover function (identical in both regions)."
  value       = module.orchestrator[var.primary_region].function_actions
}

output "lease_tables" {
  description = "Per region: the lease table name."
  value       = { for r in local.regions : r => module.orchestrator[r].lease_table_name }
}

output "sns_topic_arns" {
  description = "Per region: drover's events topic."
  value       = { for r in local.regions : r => module.observability[r].sns_topic_arn }
}

output "dashboards" {
  description = "Per region: the CloudWatch dashboard name."
  value       = { for r in local.regions : r => module.observability[r].dashboard_name }
}

output "signals" {
  description = "The failover signal alarms of both regions."
  value       = local.signals
}

output "cloudtrail_arn" {
  description = "ARN of the multi-region CloudTrail trail."
  value       = module.observability[var.primary_region].trail_arn
}
