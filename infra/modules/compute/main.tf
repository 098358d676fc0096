data "aws_caller_identity" "this" {}

data "aws_partition" "this" {}

data "aws_elb_service_account" "this" {
  region = var.region
}

locals {
  service_name   = "app"
  container_name = "app"
  test_port      = 8443
  account        = data.aws_caller_identity.this.account_id
  image          = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
  logs_bucket    = "${var.name}-alb-logs-${local.account}-${var.region}"
}

################################################################################
# ECR: scan on push, immutable tags, replicated to the peer region
################################################################################

resource "aws_ecr_repository" "this" {
  region               = var.region
  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  region     = var.region
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 100 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 100 }
      action       = { type = "expire" }
    }]
  })
}

# The standby must be able to start tasks when the primary region (and its registry) is gone.
resource "aws_ecr_replication_configuration" "this" {
  count = var.replicate_ecr ? 1 : 0

  region = var.region

  replication_configuration {
    rule {
      destination {
        region      = var.peer_region
        registry_id = local.account
      }

      repository_filter {
        filter      = var.repository_name
        filter_type = "PREFIX_MATCH"
      }
    }
  }
}

################################################################################
# ECS cluster, task definition, service
################################################################################

resource "aws_ecs_cluster" "this" {
  region = var.region
  name   = "${var.name}-${var.region}"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "app" {
  region            = var.region
  name              = "/ecs/${var.name}/${local.service_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-ecs-exec-${var.region}"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.this.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [var.secret_arns] : []
    content {
      sid       = "ReadAppSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  statement {
    sid       = "DecryptAppSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn, var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-ecs-task-${var.region}"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  region                   = var.region
  family                   = "${var.name}-${local.service_name}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([{
    name                   = local.container_name
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment            = [for k, v in merge(var.environment, { AWS_REGION = var.region }) : { name = k, value = v }]
    secrets                = [for k, v in var.secrets : { name = k, valueFrom = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.region
        awslogs-stream-prefix = local.service_name
      }
    }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  region                            = var.region
  name                              = local.service_name
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"
  enable_ecs_managed_tags           = true

  deployment_controller {
    type = "CODE_DEPLOY"
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this["blue"].arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  tags = var.tags

  lifecycle {
    # drover scales the standby up during a failover; CodeDeploy swaps task definition
    # and target group on every blue/green deployment. An apply must undo neither.
    ignore_changes = [desired_count, task_definition, load_balancer]
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "this" {
  region             = var.region
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.desired_count
  max_capacity       = var.max_count

  tags = var.tags

  lifecycle {
    # scale-compute raises the floor during a failover.
    ignore_changes = [min_capacity]
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  region             = var.region
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

################################################################################
# Security groups: same-region references only
################################################################################

resource "aws_security_group" "alb" {
  region      = var.region
  name        = "${var.name}-alb"
  description = "Public ALB of ${var.name}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  for_each = { for pair in setproduct([443, local.test_port], var.ingress_cidrs) : "${pair[0]}-${pair[1]}" => pair }

  region            = var.region
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS listeners"
  ip_protocol       = "tcp"
  from_port         = each.value[0]
  to_port           = each.value[0]
  cidr_ipv4         = each.value[1]
}

resource "aws_vpc_security_group_egress_rule" "alb" {
  region                       = var.region
  security_group_id            = aws_security_group.alb.id
  description                  = "To the tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  region      = var.region
  name        = "${var.name}-tasks"
  description = "ECS tasks of ${var.name}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-tasks" })
}

resource "aws_vpc_security_group_ingress_rule" "tasks" {
  region                       = var.region
  security_group_id            = aws_security_group.tasks.id
  description                  = "From the ALB in this region"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "tasks" {
  region            = var.region
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs and the database port inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_db" {
  region            = var.region
  security_group_id = aws_security_group.tasks.id
  description       = "PostgreSQL inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = var.vpc_cidr
}

################################################################################
# ALB: HTTPS listener, test listener for blue/green, access logs
################################################################################

resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it to another bucket only moves the question
  # checkov:skip=CKV_AWS_144:per-region ALB diagnostics; the peer region keeps its own, nothing to replicate for recovery
  # checkov:skip=CKV_AWS_145:ALB access-log delivery supports SSE-S3 (AES256) only, not SSE-KMS
  # checkov:skip=CKV2_AWS_62:log-only bucket, nothing consumes object-created events
  region = var.region
  bucket = local.logs_bucket

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  region                  = var.region
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id

  rule {
    # ALB access logs can only be delivered to SSE-S3 buckets.
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "ElbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.this.arn]
    }
  }

  statement {
    sid       = "LogDeliveryService"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_76:the attached web ACL has AWSManagedRulesKnownBadInputsRuleSet in rule_json, which checkov does not read; infra/tests asserts it
  region                     = var.region
  name                       = substr("${var.name}-${var.region}", 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = true

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "this" {
  for_each = toset(["blue", "green"])

  region      = var.region
  name        = substr("${var.name}-${each.key}", 0, 32)
  port        = var.container_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  region            = var.region
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["blue"].arn
  }

  tags = var.tags

  lifecycle {
    # CodeDeploy moves production traffic between blue and green.
    ignore_changes = [default_action]
  }
}

resource "aws_lb_listener" "test" {
  region            = var.region
  load_balancer_arn = aws_lb.this.arn
  port              = local.test_port
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["green"].arn
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [default_action]
  }
}

################################################################################
# CodeDeploy blue/green
################################################################################

data "aws_iam_policy_document" "codedeploy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "codedeploy" {
  name               = "${var.name}-codedeploy-${var.region}"
  assume_role_policy = data.aws_iam_policy_document.codedeploy_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "codedeploy" {
  role       = aws_iam_role.codedeploy.name
  policy_arn = "arn:${data.aws_partition.this.partition}:iam::aws:policy/AWSCodeDeployRoleForECS"
}

resource "aws_codedeploy_app" "this" {
  region           = var.region
  name             = "${var.name}-${local.service_name}"
  compute_platform = "ECS"

  tags = var.tags
}

# What stops a deployment and rolls it back: 5xx answers from the targets, or an unhealthy
# target in either group (blue and green swap roles on every deployment). The hook
# (bluegreen-hook) fails a deployment before production traffic moves; these alarms catch
# what shows only under production traffic, through the canary and the termination wait.
locals {
  deployment_alarms = {
    target-5xx = {
      metric    = "HTTPCode_Target_5XX_Count"
      statistic = "Sum"
      threshold = var.deployment_5xx_threshold
      periods   = 1
      dims      = { LoadBalancer = aws_lb.this.arn_suffix }
    }
    unhealthy-blue = {
      metric    = "UnHealthyHostCount"
      statistic = "Maximum"
      threshold = 1
      periods   = 2
      dims      = { LoadBalancer = aws_lb.this.arn_suffix, TargetGroup = aws_lb_target_group.this["blue"].arn_suffix }
    }
    unhealthy-green = {
      metric    = "UnHealthyHostCount"
      statistic = "Maximum"
      threshold = 1
      periods   = 2
      dims      = { LoadBalancer = aws_lb.this.arn_suffix, TargetGroup = aws_lb_target_group.this["green"].arn_suffix }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "deployment" {
  for_each = local.deployment_alarms

  region              = var.region
  alarm_name          = "${var.name}-deploy-${each.key}-${var.region}"
  alarm_description   = "Stops and rolls back a blue/green deployment of ${var.name} (CodeDeploy alarm configuration)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dims
  period              = 60
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"

  tags = var.tags
}

resource "aws_codedeploy_deployment_group" "this" {
  region                 = var.region
  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = local.service_name
  service_role_arn       = aws_iam_role.codedeploy.arn
  deployment_config_name = var.deployment_config_name

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  alarm_configuration {
    enabled = true
    alarms  = [for a in aws_cloudwatch_metric_alarm.deployment : a.alarm_name]
  }

  blue_green_deployment_config {
    deployment_ready_option {
      action_on_timeout = "CONTINUE_DEPLOYMENT"
    }

    terminate_blue_instances_on_deployment_success {
      action                           = "TERMINATE"
      termination_wait_time_in_minutes = var.termination_wait_minutes
    }
  }

  deployment_style {
    deployment_option = "WITH_TRAFFIC_CONTROL"
    deployment_type   = "BLUE_GREEN"
  }

  ecs_service {
    cluster_name = aws_ecs_cluster.this.name
    service_name = aws_ecs_service.this.name
  }

  load_balancer_info {
    target_group_pair_info {
      prod_traffic_route {
        listener_arns = [aws_lb_listener.https.arn]
      }

      test_traffic_route {
        listener_arns = [aws_lb_listener.test.arn]
      }

      target_group {
        name = aws_lb_target_group.this["blue"].name
      }

      target_group {
        name = aws_lb_target_group.this["green"].name
      }
    }
  }

  tags = var.tags
}

################################################################################
# WAF in front of the public ALB
################################################################################

resource "aws_wafv2_web_acl" "this" {
  # checkov:skip=CKV_AWS_175:the rules are in rule_json, which checkov does not read; infra/tests asserts them
  # checkov:skip=CKV_AWS_192:AWSManagedRulesKnownBadInputsRuleSet (Log4j signatures) is in rule_json, which checkov does not read; infra/tests asserts it
  region      = var.region
  name        = "${var.name}-alb"
  description = "Managed protections of the ${var.name} ALB"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  # JSON rules (the provider's rule_json): the offline stand-in cannot describe the recursive
  # `statement` block, and the JSON is what WAF stores anyway.
  rule_json = jsonencode([
    {
      Name           = "common"
      Priority       = 10
      OverrideAction = { None = {} }
      Statement      = { ManagedRuleGroupStatement = { VendorName = "AWS", Name = "AWSManagedRulesCommonRuleSet" } }
      VisibilityConfig = {
        CloudWatchMetricsEnabled = true
        MetricName               = "${var.name}-common"
        SampledRequestsEnabled   = true
      }
    },
    {
      # Includes the Log4j (CVE-2021-44228) signatures.
      Name           = "known-bad-inputs"
      Priority       = 20
      OverrideAction = { None = {} }
      Statement      = { ManagedRuleGroupStatement = { VendorName = "AWS", Name = "AWSManagedRulesKnownBadInputsRuleSet" } }
      VisibilityConfig = {
        CloudWatchMetricsEnabled = true
        MetricName               = "${var.name}-known-bad-inputs"
        SampledRequestsEnabled   = true
      }
    },
    {
      Name      = "rate-limit"
      Priority  = 30
      Action    = { Block = {} }
      Statement = { RateBasedStatement = { Limit = var.waf_rate_limit, AggregateKeyType = "IP" } }
      VisibilityConfig = {
        CloudWatchMetricsEnabled = true
        MetricName               = "${var.name}-rate-limit"
        SampledRequestsEnabled   = true
      }
    },
  ])

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-alb"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  region       = var.region
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

resource "aws_cloudwatch_log_group" "waf" {
  region            = var.region
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  region                  = var.region
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}
