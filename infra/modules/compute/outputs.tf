output "repository_url" {
  description = "URL of the application's ECR repository in this region."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the application's ECR repository in this region."
  value       = aws_ecr_repository.this.arn
}

output "image" {
  description = "Full image reference the task definition runs."
  value       = local.image
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = "arn:${data.aws_partition.this.partition}:ecs:${var.region}:${local.account}:service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
}

output "task_definition_family" {
  description = "Family of the application's task definition."
  value       = aws_ecs_task_definition.this.family
}

output "app_log_group_name" {
  description = "CloudWatch log group of the application containers."
  value       = aws_cloudwatch_log_group.app.name
}

output "alb_arn" {
  description = "ARN of the ALB."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB (CloudWatch dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the ALB."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone id of the ALB."
  value       = aws_lb.this.zone_id
}

output "target_group_arn_suffixes" {
  description = "ARN suffixes of the blue and green target groups (CloudWatch dimension TargetGroup)."
  value       = { for k, tg in aws_lb_target_group.this : k => tg.arn_suffix }
}

output "https_listener_arn" {
  description = "ARN of the production HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "test_listener_arn" {
  description = "ARN of the blue/green test listener."
  value       = aws_lb_listener.test.arn
}

output "codedeploy_app_name" {
  description = "CodeDeploy application name."
  value       = aws_codedeploy_app.this.name
}

output "codedeploy_deployment_group_name" {
  description = "CodeDeploy deployment group name."
  value       = aws_codedeploy_deployment_group.this.deployment_group_name
}

output "codedeploy_deployment_group_arn" {
  description = "CodeDeploy deployment group ARN (scope of the bluegreen-hook permission)."
  value       = aws_codedeploy_deployment_group.this.arn
}

output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "tasks_security_group_id" {
  description = "Security group of the ECS tasks."
  value       = aws_security_group.tasks.id
}

output "access_logs_bucket" {
  description = "S3 bucket receiving the ALB access logs."
  value       = aws_s3_bucket.logs.id
}

output "codedeploy_role_name" {
  description = "Name of the CodeDeploy service role (the orchestrator lets it invoke bluegreen-hook)."
  value       = aws_iam_role.codedeploy.name
}

output "test_listener_port" {
  description = "Port of the blue/green test listener (the bluegreen-hook checks the green tasks through it)."
  value       = aws_lb_listener.test.port
}

output "deployment_alarm_names" {
  description = "Alarms that stop and roll back a blue/green deployment."
  value       = [for a in aws_cloudwatch_metric_alarm.deployment : a.alarm_name]
}
