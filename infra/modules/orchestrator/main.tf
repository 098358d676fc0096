data "aws_caller_identity" "this" {}

data "aws_partition" "this" {}

locals {
  account   = data.aws_caller_identity.this.account_id
  partition = data.aws_partition.this.partition

  # The AWS API actions each function's code calls: the ONE list of them. A Rust test
  # cross-checks it with the operations drover-core's adapters call. KMS is not listed:
  # the rights on the topic key follow from sns:Publish (see kms_for_sns below).
  function_actions = {
    probe = ["cloudwatch:PutMetricData"]
    decide = [
      "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData",
      "rds:DescribeGlobalClusters", "rds:DescribeDBClusters",
      "ecs:DescribeServices",
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
      "sns:Publish",
    ]
    promote-db = [
      "rds:DescribeGlobalClusters", "rds:DescribeDBClusters",
      "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster", "rds:RemoveFromGlobalCluster",
      "cloudwatch:GetMetricData",
      "dynamodb:GetItem",
      "sns:Publish",
    ]
    scale-compute = [
      "ecs:DescribeServices", "ecs:UpdateService",
      "application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget",
      "dynamodb:GetItem",
      "sns:Publish",
    ]
    shift-traffic = [
      "cloudwatch:PutMetricData", "cloudwatch:GetMetricData",
      "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets", "route53:GetChange",
      "route53:GetHealthCheckStatus",
      "dynamodb:GetItem",
      "sns:Publish",
    ]
    verify = ["rds:DescribeGlobalClusters", "ecs:DescribeServices", "cloudwatch:GetMetricData", "dynamodb:GetItem"]
    notify = ["sns:Publish", "sns:GetTopicAttributes", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    readiness = [
      "rds:DescribeGlobalClusters", "rds:DescribeDBClusters",
      "cloudwatch:GetMetricData", "cloudwatch:PutMetricData",
      "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
      "ecr:DescribeImages",
      "secretsmanager:DescribeSecret",
      "route53:ListResourceRecordSets",
      "dynamodb:GetItem", "dynamodb:PutItem",
      "states:DescribeStateMachine",
      "sns:Publish",
    ]
    bluegreen-hook = ["codedeploy:PutLifecycleEventHookExecutionStatus"]
  }

  kms_for_sns = ["kms:GenerateDataKey", "kms:Decrypt"]

  function_name     = { for f in keys(local.function_actions) : f => "${var.name}-${f}" }
  state_machine     = "${var.name}-failover"
  state_machine_arn = "arn:${local.partition}:states:${var.region}:${local.account}:stateMachine:${local.state_machine}"
  lease_table       = "${var.name}-lease"
  lease_table_arn   = "arn:${local.partition}:dynamodb:${var.region}:${local.account}:table/${local.lease_table}"
  # The peer's orchestrator has a lease table of the same name in its region.
  peer_lease_table_arn = "arn:${local.partition}:dynamodb:${var.peer_region}:${local.account}:table/${local.lease_table}"

  # Where each action can be scoped. Actions AWS only grants on "*" (Describe/List calls
  # without resource-level permissions, CloudWatch metrics, Application Auto Scaling) are absent.
  action_resources = {
    "rds:DescribeGlobalClusters"                      = [var.global_cluster_arn]
    "rds:DescribeDBClusters"                          = var.aurora_cluster_arns
    "rds:FailoverGlobalCluster"                       = concat([var.global_cluster_arn], var.aurora_cluster_arns)
    "rds:SwitchoverGlobalCluster"                     = concat([var.global_cluster_arn], var.aurora_cluster_arns)
    "rds:RemoveFromGlobalCluster"                     = concat([var.global_cluster_arn], var.aurora_cluster_arns)
    "ecs:DescribeServices"                            = values(var.ecs_service_arns)
    "ecs:UpdateService"                               = values(var.ecs_service_arns)
    "dynamodb:GetItem"                                = [local.lease_table_arn]
    "dynamodb:PutItem"                                = [local.lease_table_arn]
    "dynamodb:UpdateItem"                             = [local.lease_table_arn]
    "sns:Publish"                                     = [var.sns_topic_arn]
    "sns:GetTopicAttributes"                          = [var.sns_topic_arn]
    "route53:ListResourceRecordSets"                  = ["arn:${local.partition}:route53:::hostedzone/${var.hosted_zone_id}"]
    "route53:ChangeResourceRecordSets"                = ["arn:${local.partition}:route53:::hostedzone/${var.hosted_zone_id}"]
    "route53:GetChange"                               = ["arn:${local.partition}:route53:::change/*"]
    "route53:GetHealthCheckStatus"                    = ["arn:${local.partition}:route53:::healthcheck/*"]
    "ecr:DescribeImages"                              = [var.ecr_repository_arn]
    "secretsmanager:DescribeSecret"                   = [var.db_secret_arn]
    "states:DescribeStateMachine"                     = [local.state_machine_arn]
    "codedeploy:PutLifecycleEventHookExecutionStatus" = [var.codedeploy_deployment_group_arn]
  }

  # What a function reads in the OTHER region, on top of action_resources (which is this
  # region's): decide's cooldown reads the peer's last-failover item. (Its DescribeAlarms in
  # the peer needs nothing more: that action is granted on "*", with no region condition.)
  # scale-compute's fencing of the old primary is covered by ecs:UpdateService on both services.
  peer_resources = {
    decide = { "dynamodb:GetItem" = [local.peer_lease_table_arn] }
  }

  function_settings = {
    for f in keys(local.function_actions) : f => {
      memory_size = try(var.function_settings[f].memory_size, 256)
      timeout     = try(var.function_settings[f].timeout, 60)
    }
  }

  zip = { for f in keys(local.function_actions) : f => "${var.lambda_artifacts_dir}/${f}/bootstrap.zip" }

  # Every function's environment; function_environment adds a function's own settings.
  environment = {
    DROVER_TOPOLOGY    = var.topology_json
    DROVER_REGION_SELF = var.region
    RUST_LOG           = var.log_level
  }

  function_environment = {
    # Optional in the code, but without it readiness skips its database-secret check.
    readiness = { DROVER_DB_SECRET_ID = var.db_secret_arn }
    # Where the green tasks answer during a blue/green deployment (drover_core::deploy::hook).
    bluegreen-hook = var.bluegreen_hook_environment
  }
}

################################################################################
# Functions
################################################################################

resource "aws_security_group" "functions" {
  region      = var.region
  name        = "${var.name}-functions"
  description = "drover functions: outbound HTTPS only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-functions" })
}

resource "aws_vpc_security_group_egress_rule" "functions_https" {
  region            = var.region
  security_group_id = aws_security_group.functions.id
  description       = "HTTPS to regional AWS endpoints, Route 53 and the peer's public endpoint (probe)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "functions_test_listener" {
  count = var.test_listener_port == null ? 0 : 1

  region            = var.region
  security_group_id = aws_security_group.functions.id
  description       = "bluegreen-hook to the ALB's blue/green test listener (public ALB, reached through the NAT)"
  ip_protocol       = "tcp"
  from_port         = var.test_listener_port
  to_port           = var.test_listener_port
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_sqs_queue" "dlq" {
  region                    = var.region
  name                      = "${var.name}-functions-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "functions" {
  for_each = local.function_name

  region            = var.region
  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "functions" {
  for_each = local.function_name

  # IAM is global: the region keeps the two orchestrators' roles apart.
  name               = substr("${each.value}-${var.region}", 0, 64)
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "functions" {
  for_each = local.function_actions

  # What the code calls, scoped where AWS allows it.
  dynamic "statement" {
    for_each = each.value
    content {
      sid       = replace(title(replace(statement.value, "/[:-]/", " ")), " ", "")
      actions   = [statement.value]
      resources = concat(lookup(local.action_resources, statement.value, ["*"]), try(local.peer_resources[each.key][statement.value], []))

      dynamic "condition" {
        for_each = statement.value == "cloudwatch:PutMetricData" ? [1] : []
        content {
          test     = "StringLike"
          variable = "cloudwatch:namespace"
          values   = ["Drover/*"]
        }
      }
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "sns:Publish") ? [1] : []
    content {
      sid       = "TopicKey"
      actions   = local.kms_for_sns
      resources = [var.sns_kms_key_arn]
    }
  }

  # Runtime plumbing every function needs: its own log group, the DLQ, the env key.
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions[each.key].arn}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "PlatformKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "functions" {
  for_each = local.function_name

  name   = "drover-${each.key}"
  role   = aws_iam_role.functions[each.key].id
  policy = data.aws_iam_policy_document.functions[each.key].json
}

resource "aws_iam_role_policy_attachment" "functions_vpc" {
  for_each = local.function_name

  role       = aws_iam_role.functions[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "functions_xray" {
  for_each = local.function_name

  role       = aws_iam_role.functions[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_272:zips come from cargo lambda build in CI; there is no AWS Signer profile in this stack yet
  for_each = local.function_name

  region        = var.region
  function_name = each.value
  description   = "drover ${each.key} (activates ${var.region})"
  role          = aws_iam_role.functions[each.key].arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  memory_size   = local.function_settings[each.key].memory_size
  timeout       = local.function_settings[each.key].timeout
  filename      = local.zip[each.key]
  # Read only when the zip exists, so validate and test run before `cargo lambda build`.
  source_code_hash               = fileexists(local.zip[each.key]) ? filebase64sha256(local.zip[each.key]) : null
  kms_key_arn                    = var.kms_key_arn
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge(local.environment, lookup(local.function_environment, each.key, {}))
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.functions.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.functions[each.key].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.functions, aws_iam_role_policy_attachment.functions_vpc]
}

################################################################################
# Lease table: one failover at a time
################################################################################

resource "aws_dynamodb_table" "lease" {
  region                      = var.region
  name                        = local.lease_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "lease_id"
  deletion_protection_enabled = true

  attribute {
    name = "lease_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

################################################################################
# State machine
################################################################################

resource "aws_cloudwatch_log_group" "state_machine" {
  region            = var.region
  name              = "/aws/vendedlogs/states/${local.state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid     = "InvokeSteps"
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for f in aws_lambda_function.this : [f.arn, "${f.arn}:*"]
    ])
  }

  # Log delivery and X-Ray have no resource-level permissions.
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  # The approval request (sns:publish.waitForTaskToken) is published by the state machine
  # itself, to the region's encrypted events topic.
  statement {
    sid       = "ApprovalRequest"
    actions   = ["sns:Publish"]
    resources = [var.sns_topic_arn]
  }

  statement {
    sid       = "ApprovalTopicKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.sns_kms_key_arn]
  }

  statement {
    sid       = "PlatformKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "state_machine" {
  name               = substr("${local.state_machine}-${var.region}", 0, 64)
  assume_role_policy = data.aws_iam_policy_document.states_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "failover"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "this" {
  region   = var.region
  name     = local.state_machine
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn
  definition = templatefile("${path.module}/failover.asl.json", {
    fn_decide        = aws_lambda_function.this["decide"].arn
    fn_promote_db    = aws_lambda_function.this["promote-db"].arn
    fn_scale_compute = aws_lambda_function.this["scale-compute"].arn
    fn_shift_traffic = aws_lambda_function.this["shift-traffic"].arn
    fn_verify        = aws_lambda_function.this["verify"].arn
    fn_notify        = aws_lambda_function.this["notify"].arn
    # Modes listed in policy.approval_required wait here for a person (SendTaskSuccess).
    approval_topic_arn = var.sns_topic_arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.state_machine]
}

################################################################################
# EventBridge: signals -> state machine, forwarding, schedules
################################################################################

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "events" {
  statement {
    sid       = "StartFailover"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }

  statement {
    sid       = "ForwardToPeer"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${var.peer_region}:${local.account}:event-bus/default"]
  }

  # The state machine is encrypted with the platform key; starting it encrypts the input.
  statement {
    sid       = "PlatformKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "events" {
  name               = substr("${var.name}-events-${var.region}", 0, 64)
  assume_role_policy = data.aws_iam_policy_document.events_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "events" {
  name   = "events"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_rule" "signals" {
  region      = var.region
  name        = "${var.name}-signals"
  description = "Failover signals in ALARM: start the failover state machine of ${var.region}."
  event_pattern = jsonencode({
    source        = ["aws.cloudwatch"]
    "detail-type" = ["CloudWatch Alarm State Change"]
    detail = {
      alarmName = var.signal_alarm_names
      state     = { value = ["ALARM"] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "signals" {
  region   = var.region
  rule     = aws_cloudwatch_event_rule.signals.name
  arn      = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.events.arn
}

# This region's own signals matter to the peer's orchestrator: send them over.
resource "aws_cloudwatch_event_rule" "forward" {
  count = length(var.forwarded_alarm_names) > 0 ? 1 : 0

  region      = var.region
  name        = "${var.name}-forward-signals"
  description = "Forward the state changes of ${var.region}'s signal alarms to ${var.peer_region}."
  event_pattern = jsonencode({
    source        = ["aws.cloudwatch"]
    "detail-type" = ["CloudWatch Alarm State Change"]
    detail        = { alarmName = var.forwarded_alarm_names }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  count = length(var.forwarded_alarm_names) > 0 ? 1 : 0

  region   = var.region
  rule     = aws_cloudwatch_event_rule.forward[0].name
  arn      = "arn:${local.partition}:events:${var.peer_region}:${local.account}:event-bus/default"
  role_arn = aws_iam_role.events.arn
}

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = { probe = var.probe_schedule, readiness = var.readiness_schedule }

  region              = var.region
  name                = "${var.name}-${each.key}"
  description         = "Run drover ${each.key} in ${var.region}."
  schedule_expression = each.value

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = aws_cloudwatch_event_rule.schedule

  region = var.region
  rule   = each.value.name
  arn    = aws_lambda_function.this[each.key].arn

  retry_policy {
    maximum_event_age_in_seconds = 60
    maximum_retry_attempts       = 0
  }
}

resource "aws_lambda_permission" "schedule" {
  for_each = aws_cloudwatch_event_rule.schedule

  region        = var.region
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}

# CodeDeploy calls the blue/green validation hook with its service role.
data "aws_iam_policy_document" "codedeploy_hook" {
  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["bluegreen-hook"].arn]
  }
}

resource "aws_iam_role_policy" "codedeploy_hook" {
  name   = "invoke-bluegreen-hook-${var.region}"
  role   = var.codedeploy_role_name
  policy = data.aws_iam_policy_document.codedeploy_hook.json
}
