output "function_actions" {
  description = "The AWS actions each function may call (the single source the IAM policies are built from)."
  value       = local.function_actions
}

output "function_names" {
  description = "Function name per drover function."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Function ARN per drover function."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "function_role_arns" {
  description = "IAM role ARN per drover function."
  value       = { for k, r in aws_iam_role.functions : k => r.arn }
}

output "state_machine_arn" {
  description = "ARN of this region's failover state machine (start it for a drill, planned switchover or failback)."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of this region's failover state machine."
  value       = aws_sfn_state_machine.this.name
}

output "lease_table_name" {
  description = "Name of this region's lease table."
  value       = aws_dynamodb_table.lease.name
}

output "lease_table_arn" {
  description = "ARN of this region's lease table."
  value       = aws_dynamodb_table.lease.arn
}

output "dead_letter_queue_arn" {
  description = "Dead-letter queue of the asynchronously invoked functions."
  value       = aws_sqs_queue.dlq.arn
}

output "signal_rule_name" {
  description = "EventBridge rule starting the state machine on signal alarms."
  value       = aws_cloudwatch_event_rule.signals.name
}
