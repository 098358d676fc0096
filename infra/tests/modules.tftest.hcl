# Each module planned on its own against a mocked AWS provider, so the assertions can read
# the module's resources directly. Run from infra/: terraform test.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  name        = "drover-shop"
  application = "shop"
  tags        = { Application = "shop", ManagedBy = "terraform", System = "drover" }
}

run "network" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    region = "us-west-2"
    cidr   = "10.20.0.0/16"
  }

  assert {
    condition     = aws_vpc.this.region == "us-west-2" && length(aws_subnet.public) == 3 && length(aws_subnet.private) == 3
    error_message = "One VPC with public and private subnets in three AZs of its region."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && alltrue([for r in aws_route.private_nat : r.destination_cidr_block == "0.0.0.0/0"])
    error_message = "A NAT gateway per AZ, and a default route through it from every private subnet."
  }

  assert {
    condition = alltrue(concat(
      [for s in aws_subnet.public : s.region == "us-west-2" && s.map_public_ip_on_launch != true],
      [for s in aws_subnet.private : s.region == "us-west-2"],
    ))
    error_message = "Subnets must live in the module's region and never auto-assign public IPs."
  }

  assert {
    condition     = contains(keys(aws_vpc_endpoint.gateway), "dynamodb") && alltrue([for s in ["states", "sns", "kms", "rds", "ecs", "monitoring", "logs", "secretsmanager"] : contains(keys(aws_vpc_endpoint.interface), s)])
    error_message = "The VPC endpoints the functions need on the recovery path are missing."
  }

  assert {
    condition     = aws_security_group.endpoints.region == "us-west-2" && aws_vpc_security_group_ingress_rule.endpoints_https.referenced_security_group_id == null && aws_vpc_security_group_ingress_rule.endpoints_https.cidr_ipv4 == "10.20.0.0/16"
    error_message = "Endpoint security group rules must use the VPC CIDR, never a group reference."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_cloudwatch_log_group.flow.kms_key_id == aws_kms_key.this.arn && aws_flow_log.this.traffic_type == "ALL"
    error_message = "Platform key rotation, encrypted flow logs of all traffic."
  }
}

run "database" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    primary_region = "us-east-1"
    standby_region = "us-west-2"
    networks = {
      "us-east-1" = { vpc_id = "vpc-1", vpc_cidr = "10.10.0.0/16", subnet_ids = ["subnet-1a", "subnet-1b", "subnet-1c"] }
      "us-west-2" = { vpc_id = "vpc-2", vpc_cidr = "10.20.0.0/16", subnet_ids = ["subnet-2a", "subnet-2b", "subnet-2c"] }
    }
    database_name   = "app"
    master_username = "app_admin"
    master_password = "test-only-not-a-secret"
    rpo_seconds     = 60
    app_table_name  = "shop-data"
  }

  assert {
    condition     = aws_rds_global_cluster.this.storage_encrypted && aws_rds_global_cluster.this.engine == "aurora-postgresql" && aws_rds_global_cluster.this.region == "us-east-1"
    error_message = "The global cluster must be encrypted Aurora PostgreSQL, created from the primary region."
  }

  assert {
    condition = (
      aws_rds_cluster.primary.region == "us-east-1" && aws_rds_cluster.secondary.region == "us-west-2" &&
      aws_rds_cluster.primary.storage_encrypted && aws_rds_cluster.secondary.storage_encrypted &&
      aws_rds_cluster.primary.kms_key_id == aws_kms_key.this["us-east-1"].arn &&
      aws_rds_cluster.secondary.kms_key_id == aws_kms_key.this["us-west-2"].arn
    )
    error_message = "Both Aurora clusters must be encrypted with their region's customer-managed key."
  }

  assert {
    condition = (
      aws_rds_cluster.primary.deletion_protection && aws_rds_cluster.secondary.deletion_protection &&
      aws_rds_cluster.primary.backup_retention_period >= 7 && aws_rds_cluster.secondary.backup_retention_period >= 7 &&
      aws_rds_cluster.secondary.master_password == null
    )
    error_message = "Deletion protection, backups, and no credentials on the secondary."
  }

  assert {
    condition     = length(aws_rds_cluster_instance.primary) >= 1 && length(aws_rds_cluster_instance.secondary) >= 1 && alltrue([for i in concat(aws_rds_cluster_instance.primary, aws_rds_cluster_instance.secondary) : i.publicly_accessible == false])
    error_message = "Both clusters need private instances."
  }

  assert {
    condition     = alltrue([for pg in aws_rds_cluster_parameter_group.this : contains([for p in pg.parameter : "${p.name}=${p.value}"], "rds.global_db_rpo=60")])
    error_message = "rds.global_db_rpo must be set from the RPO in both regions."
  }

  assert {
    condition     = aws_secretsmanager_secret.master.replica[0].region == "us-west-2" && aws_secretsmanager_secret.master.replica[0].kms_key_id == aws_kms_key.this["us-west-2"].arn && aws_secretsmanager_secret.master.kms_key_id != null
    error_message = "The master secret must be encrypted and replicated to the standby region."
  }

  assert {
    condition = (
      aws_dynamodb_table.app.server_side_encryption[0].enabled && aws_dynamodb_table.app.server_side_encryption[0].kms_key_arn != null &&
      aws_dynamodb_table.app.point_in_time_recovery[0].enabled &&
      aws_dynamodb_table.app.replica[0].region_name == "us-west-2" && aws_dynamodb_table.app.replica[0].kms_key_arn != null &&
      aws_dynamodb_table.app.replica[0].point_in_time_recovery
    )
    error_message = "The global table must be KMS-encrypted with PITR in both regions."
  }

  assert {
    condition     = toset([for t in aws_appautoscaling_target.app : "${t.region}/${t.scalable_dimension}"]) == toset(["us-east-1/dynamodb:table:ReadCapacityUnits", "us-east-1/dynamodb:table:WriteCapacityUnits", "us-west-2/dynamodb:table:ReadCapacityUnits", "us-west-2/dynamodb:table:WriteCapacityUnits"])
    error_message = "Read and write autoscaling in both regions."
  }

  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.enable_key_rotation])
    error_message = "KMS key rotation must be on."
  }

  assert {
    condition     = alltrue([for r, rule in aws_vpc_security_group_ingress_rule.this : rule.referenced_security_group_id == null && rule.region == aws_security_group.this[r].region && rule.cidr_ipv4 == var.networks[r].vpc_cidr])
    error_message = "Aurora security group rules must stay in their region and use CIDRs, never a group of another region."
  }
}

run "compute" {
  command = plan

  module {
    source = "./modules/compute"
  }

  variables {
    region              = "us-west-2"
    peer_region         = "us-east-1"
    replicate_ecr       = true
    vpc_id              = "vpc-2"
    vpc_cidr            = "10.20.0.0/16"
    public_subnet_ids   = ["subnet-p1", "subnet-p2", "subnet-p3"]
    private_subnet_ids  = ["subnet-q1", "subnet-q2", "subnet-q3"]
    certificate_arn     = "arn:aws:acm:us-west-2:123456789012:certificate/test"
    repository_name     = "shop"
    image_tag           = "1.2.3"
    desired_count       = 1
    kms_key_arn         = "arn:aws:kms:us-west-2:123456789012:key/platform"
    secrets_kms_key_arn = "arn:aws:kms:us-west-2:123456789012:key/data"
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 1 && aws_ecs_service.this.deployment_controller[0].type == "CODE_DEPLOY" && aws_ecs_service.this.region == "us-west-2"
    error_message = "The service starts at the given count and deploys blue/green through CodeDeploy."
  }

  assert {
    condition     = strcontains(aws_ecs_task_definition.this.container_definitions, "${aws_ecr_repository.this.repository_url}:1.2.3")
    error_message = "The task must run the image tag from the variable, from this region's repository."
  }

  assert {
    condition = (
      aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push &&
      aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.this.encryption_configuration[0].encryption_type == "KMS" &&
      aws_ecr_replication_configuration.this[0].replication_configuration[0].rule[0].destination[0].region == "us-east-1"
    )
    error_message = "ECR: scan on push, immutable tags, KMS, replicated to the peer."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.logs.block_public_acls && aws_s3_bucket_public_access_block.logs.block_public_policy &&
      aws_s3_bucket_public_access_block.logs.ignore_public_acls && aws_s3_bucket_public_access_block.logs.restrict_public_buckets &&
      aws_s3_bucket_versioning.logs.versioning_configuration[0].status == "Enabled" &&
      aws_s3_bucket_server_side_encryption_configuration.logs.rule[0].apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    )
    error_message = "The access-log bucket must block public access, be versioned and encrypted (SSE-S3: the only option ALB log delivery supports)."
  }

  assert {
    condition = alltrue(concat(
      [for r in aws_vpc_security_group_ingress_rule.alb : r.region == "us-west-2"],
      [for r in [aws_vpc_security_group_ingress_rule.tasks, aws_vpc_security_group_egress_rule.alb, aws_vpc_security_group_egress_rule.tasks, aws_vpc_security_group_egress_rule.tasks_db] : r.region == "us-west-2"],
      [for r in [aws_vpc_security_group_ingress_rule.tasks, aws_vpc_security_group_egress_rule.alb] : contains([aws_security_group.alb.id, aws_security_group.tasks.id], r.referenced_security_group_id)],
      [aws_security_group.alb.region == "us-west-2", aws_security_group.tasks.region == "us-west-2"],
    ))
    error_message = "Security group rules may only reference groups of this module, in this region."
  }

  assert {
    condition     = aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.test.protocol == "HTTPS" && aws_lb_listener.test.port == 8443 && startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13")
    error_message = "HTTPS production listener and HTTPS test listener with a TLS 1.3 policy."
  }

  assert {
    condition = (
      aws_lb.this.drop_invalid_header_fields && aws_lb.this.access_logs[0].enabled &&
      strcontains(aws_wafv2_web_acl.this.rule_json, "AWSManagedRulesKnownBadInputsRuleSet") &&
      strcontains(aws_wafv2_web_acl.this.rule_json, "AWSManagedRulesCommonRuleSet")
    )
    error_message = "The ALB logs, drops invalid headers and sits behind the managed WAF rules (incl. Log4j)."
  }
}

run "traffic" {
  command = plan

  module {
    source = "./modules/traffic"
  }

  variables {
    hosted_zone_id = "Z0123456789ABCDEFGHIJ"
    record_name    = "app.shop.example.com"
    endpoints = {
      "us-east-1" = { alb_dns_name = "a.us-east-1.elb.amazonaws.com", peer_region = "us-west-2", weight = 100 }
      "us-west-2" = { alb_dns_name = "b.us-west-2.elb.amazonaws.com", peer_region = "us-east-1", weight = 0 }
    }
  }

  assert {
    condition     = alltrue([for r, rec in aws_route53_record.this : rec.set_identifier == r && rec.type == "CNAME" && rec.health_check_id == aws_route53_health_check.this[r].id])
    error_message = "One weighted record per region, identified by the region, with its health check."
  }

  assert {
    condition     = aws_route53_record.this["us-east-1"].weighted_routing_policy[0].weight == 100 && aws_route53_record.this["us-west-2"].weighted_routing_policy[0].weight == 0
    error_message = "Initial weights: primary 100, standby 0."
  }

  assert {
    condition = alltrue([
      for r, hc in aws_route53_health_check.this :
      hc.type == "CALCULATED" && hc.child_health_threshold == 2 &&
      toset(hc.child_healthchecks) == toset([aws_route53_health_check.alb[r].id, aws_route53_health_check.gate[r].id])
    ])
    error_message = "Each record's health check must require both the ALB check and the gate."
  }

  assert {
    condition     = alltrue([for r, hc in aws_route53_health_check.alb : hc.type == "HTTPS" && hc.port == 443 && hc.resource_path == "/healthz"])
    error_message = "The ALB health checks request /healthz over HTTPS."
  }

  assert {
    condition = alltrue([
      for r, hc in aws_route53_health_check.gate :
      hc.type == "CLOUDWATCH_METRIC" && hc.insufficient_data_health_status == "LastKnownStatus" &&
      hc.cloudwatch_alarm_region == var.endpoints[r].peer_region && hc.cloudwatch_alarm_name == "drover-shop-gate-${r}"
    ])
    error_message = "The gate health check reads the gate alarm in the peer region and keeps its last status on missing data."
  }

  assert {
    condition = alltrue([
      for r, a in aws_cloudwatch_metric_alarm.gate :
      a.region == var.endpoints[r].peer_region && a.namespace == "Drover/Gate" && a.metric_name == "RecordGate" &&
      a.dimensions == tomap({ Application = "shop", Record = r }) && a.comparison_operator == "LessThanThreshold" && a.threshold == 1
    ])
    error_message = "The gate alarm of region R: Drover/Gate RecordGate {Application, Record=R} < 1, in the peer region."
  }
}

run "orchestrator" {
  command = plan

  module {
    source = "./modules/orchestrator"
  }

  variables {
    region                          = "us-west-2"
    peer_region                     = "us-east-1"
    topology_json                   = jsonencode(jsondecode(file("../docs/topology.example.json")))
    lambda_artifacts_dir            = "../target/lambda-not-built"
    kms_key_arn                     = "arn:aws:kms:us-west-2:123456789012:key/platform"
    subnet_ids                      = ["subnet-q1", "subnet-q2", "subnet-q3"]
    vpc_id                          = "vpc-2"
    signal_alarm_names              = ["drover-shop-probe-us-east-1", "drover-shop-alb-5xx-us-east-1"]
    forwarded_alarm_names           = ["drover-shop-alb-5xx-us-west-2"]
    sns_topic_arn                   = "arn:aws:sns:us-west-2:123456789012:drover-shop-events"
    sns_kms_key_arn                 = "arn:aws:kms:us-west-2:123456789012:key/sns"
    hosted_zone_id                  = "Z0123456789ABCDEFGHIJ"
    global_cluster_arn              = "arn:aws:rds::123456789012:global-cluster:drover-shop"
    aurora_cluster_arns             = ["arn:aws:rds:us-east-1:123456789012:cluster:drover-shop-us-east-1", "arn:aws:rds:us-west-2:123456789012:cluster:drover-shop-us-west-2"]
    ecs_service_arns                = { "us-east-1" = "arn:aws:ecs:us-east-1:123456789012:service/c1/app", "us-west-2" = "arn:aws:ecs:us-west-2:123456789012:service/c2/app" }
    ecs_task_definition_family      = "drover-shop-app"
    ecr_repository_arn              = "arn:aws:ecr:us-west-2:123456789012:repository/shop"
    db_secret_arn                   = "arn:aws:secretsmanager:us-west-2:123456789012:secret:drover-shop/aurora/master-AbCdEf"
    app_table_arn                   = "arn:aws:dynamodb:us-west-2:123456789012:table/shop-data"
    codedeploy_deployment_group_arn = "arn:aws:codedeploy:us-west-2:123456789012:deploymentgroup:drover-shop-app/app"
    codedeploy_role_name            = "drover-shop-codedeploy-us-west-2"
    functions                       = ["bluegreen-hook", "decide", "notify", "probe", "promote-db", "readiness", "scale-compute", "shift-traffic", "verify"]

    # The IAM actions agreed with drover-core (KMS on the topic key follows from sns:Publish).
    agreed_actions = {
      probe          = ["cloudwatch:PutMetricData"]
      decide         = ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "rds:DescribeGlobalClusters", "rds:DescribeDBClusters", "ecs:DescribeServices", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "sns:Publish"]
      promote-db     = ["rds:DescribeGlobalClusters", "rds:DescribeDBClusters", "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster", "rds:RemoveFromGlobalCluster", "cloudwatch:GetMetricData", "dynamodb:GetItem", "sns:Publish"]
      scale-compute  = ["ecs:DescribeServices", "ecs:UpdateService", "application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget", "dynamodb:GetItem", "sns:Publish"]
      shift-traffic  = ["cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHealthCheckStatus", "dynamodb:GetItem", "sns:Publish"]
      verify         = ["rds:DescribeGlobalClusters", "ecs:DescribeServices", "cloudwatch:GetMetricData", "dynamodb:GetItem"]
      notify         = ["sns:Publish", "sns:GetTopicAttributes", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      readiness      = ["rds:DescribeGlobalClusters", "rds:DescribeDBClusters", "cloudwatch:GetMetricData", "cloudwatch:PutMetricData", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecr:DescribeImages", "secretsmanager:DescribeSecret", "route53:ListResourceRecordSets", "dynamodb:GetItem", "dynamodb:PutItem", "states:DescribeStateMachine", "sns:Publish"]
      bluegreen-hook = ["codedeploy:PutLifecycleEventHookExecutionStatus"]
    }
  }

  assert {
    condition     = sort(keys(aws_lambda_function.this)) == sort(var.functions) && sort(keys(output.function_actions)) == sort(var.functions)
    error_message = "Exactly the nine drover functions, each with its IAM action list."
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.runtime == "provided.al2023" && f.handler == "bootstrap" && f.architectures == tolist(["arm64"]) && f.region == "us-west-2"])
    error_message = "Every function runs provided.al2023 (handler bootstrap, arm64) in the orchestrator's region."
  }

  assert {
    condition = alltrue([
      for f in aws_lambda_function.this :
      f.environment[0].variables["DROVER_TOPOLOGY"] == var.topology_json &&
      f.environment[0].variables["DROVER_REGION_SELF"] == "us-west-2" &&
      f.environment[0].variables["RUST_LOG"] == "info"
    ])
    error_message = "Every function must get DROVER_TOPOLOGY, DROVER_REGION_SELF (its own region) and RUST_LOG."
  }

  assert {
    # Lambda allows 4 KB of environment in total.
    condition     = alltrue([for f in aws_lambda_function.this : length(jsonencode(f.environment[0].variables)) < 4096])
    error_message = "A function environment exceeds Lambda's 4 KB limit."
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : f.filename == "../target/lambda-not-built/${k}/bootstrap.zip" && f.source_code_hash == null])
    error_message = "Functions deploy target/lambda/<name>/bootstrap.zip and plan without it when it was not built."
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.kms_key_arn != null && f.tracing_config[0].mode == "Active" && f.dead_letter_config[0].target_arn == aws_sqs_queue.dlq.arn && length(f.vpc_config[0].subnet_ids) == 3])
    error_message = "Functions: encrypted environment, tracing, dead-letter queue, private subnets."
  }

  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.functions : g.retention_in_days > 0 && g.kms_key_id != null])
    error_message = "Function log groups need retention and encryption."
  }

  assert {
    condition = (
      aws_dynamodb_table.lease.name == "drover-shop-lease" && aws_dynamodb_table.lease.hash_key == "lease_id" &&
      aws_dynamodb_table.lease.attribute[0].name == "lease_id" && aws_dynamodb_table.lease.attribute[0].type == "S" &&
      aws_dynamodb_table.lease.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.lease.point_in_time_recovery[0].enabled &&
      aws_dynamodb_table.lease.server_side_encryption[0].enabled && aws_dynamodb_table.lease.server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      aws_dynamodb_table.lease.region == "us-west-2"
    )
    error_message = "Lease table: drover-<app>-lease, hash key lease_id (S), on demand, PITR, KMS, in this region."
  }

  assert {
    condition = (
      contains(keys(jsondecode(aws_sfn_state_machine.this.definition).States), "Decide") &&
      !strcontains(aws_sfn_state_machine.this.definition, "$${") &&
      aws_sfn_state_machine.this.name == "drover-shop-failover" &&
      aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" &&
      aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.kms_key_arn
    )
    error_message = "The state machine renders the ASL template completely, logs and is encrypted."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.schedule["probe"].schedule_expression == "rate(1 minute)" &&
      aws_cloudwatch_event_rule.schedule["readiness"].schedule_expression == "rate(5 minutes)" &&
      tolist(jsondecode(aws_cloudwatch_event_rule.signals.event_pattern).detail.alarmName) == var.signal_alarm_names &&
      aws_cloudwatch_event_target.signals.arn == aws_sfn_state_machine.this.arn &&
      aws_cloudwatch_event_target.forward[0].arn == "arn:aws:events:us-east-1:123456789012:event-bus/default"
    )
    error_message = "Schedules for probe and readiness, signal alarms start the state machine, local signals go to the peer."
  }

  assert {
    condition     = alltrue([for f, actions in var.agreed_actions : toset(output.function_actions[f]) == toset(actions)])
    error_message = "IAM actions drifted from the agreed mapping."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.functions["decide"].statement :
      contains(s.actions, "dynamodb:GetItem") &&
      toset(s.resources) == toset(["arn:aws:dynamodb:us-west-2:123456789012:table/drover-shop-lease", "arn:aws:dynamodb:us-east-1:123456789012:table/drover-shop-lease"])
    ])
    error_message = "decide reads the last-failover item in its own and the peer's lease table (the cooldown crosses regions)."
  }

  assert {
    condition = alltrue(flatten([
      for f in ["promote-db", "scale-compute", "shift-traffic", "verify", "notify", "readiness"] : [
        for s in data.aws_iam_policy_document.functions[f].statement :
        toset(s.resources) == toset(["arn:aws:dynamodb:us-west-2:123456789012:table/drover-shop-lease"]) if contains(s.actions, "dynamodb:GetItem")
      ]
    ]))
    error_message = "Only decide reads the peer's lease table; the other functions read this region's."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.functions["decide"].statement :
      contains(s.actions, "cloudwatch:DescribeAlarms") && toset(s.resources) == toset(["*"]) && length(s.condition) == 0
    ])
    error_message = "decide's DescribeAlarms must work in both regions: resource *, no region condition."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.functions["scale-compute"].statement :
      contains(s.actions, "ecs:UpdateService") && toset(s.resources) == toset(values(var.ecs_service_arns))
    ])
    error_message = "scale-compute updates this region's service and fences the peer's (scales it to 0)."
  }

  assert {
    condition = (
      aws_lambda_function.this["readiness"].environment[0].variables["DROVER_DB_SECRET_ID"] == var.db_secret_arn &&
      alltrue([for k, f in aws_lambda_function.this : !contains(keys(f.environment[0].variables), "DROVER_DB_SECRET_ID") if k != "readiness"])
    )
    error_message = "readiness gets DROVER_DB_SECRET_ID (its database-secret check); no other function reads it."
  }

  assert {
    condition = (
      anytrue([for s in data.aws_iam_policy_document.state_machine.statement : contains(s.actions, "sns:Publish") && toset(s.resources) == toset([var.sns_topic_arn])]) &&
      anytrue([for s in data.aws_iam_policy_document.state_machine.statement : contains(s.actions, "kms:GenerateDataKey") && toset(s.resources) == toset([var.sns_kms_key_arn])]) &&
      !anytrue([for s in data.aws_iam_policy_document.functions["probe"].statement : contains(s.actions, "sns:Publish")])
    )
    error_message = "The state machine publishes the approval request (topic and its key); functions get sns:Publish only from their action list."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.functions_https.region == "us-west-2" && aws_vpc_security_group_egress_rule.functions_https.referenced_security_group_id == null
    error_message = "The functions' security group must not reference a group in another region."
  }
}

run "observability_trail_region" {
  command = plan

  module {
    source = "./modules/observability"
  }

  variables {
    region                    = "us-east-1"
    peer_region               = "us-west-2"
    create_trail              = true
    ecs_cluster_name          = "drover-shop-us-east-1"
    ecs_service_name          = "app"
    alb_arn_suffix            = "app/drover-shop/0123456789abcdef"
    target_group_arn_suffixes = { blue = "targetgroup/b/1", green = "targetgroup/g/2" }
    aurora_cluster_id         = "drover-shop-us-east-1"
    app_log_group_name        = "/ecs/drover-shop/app"
    rpo_seconds               = 60
  }

  assert {
    condition     = aws_sns_topic.this.name == "drover-shop-events" && aws_sns_topic.this.kms_master_key_id == aws_kms_key.sns.arn && aws_kms_key.sns.enable_key_rotation
    error_message = "The events topic must be encrypted with a rotated customer-managed key."
  }

  assert {
    condition = (
      aws_cloudtrail.this[0].is_multi_region_trail && aws_cloudtrail.this[0].enable_log_file_validation &&
      aws_cloudtrail.this[0].include_global_service_events &&
      aws_cloudtrail.this[0].kms_key_id == aws_kms_key.trail[0].arn && aws_kms_key.trail[0].enable_key_rotation
    )
    error_message = "CloudTrail: multi-region, validated, KMS-encrypted with a rotated key."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.trail[0].block_public_acls && aws_s3_bucket_public_access_block.trail[0].block_public_policy &&
      aws_s3_bucket_public_access_block.trail[0].ignore_public_acls && aws_s3_bucket_public_access_block.trail[0].restrict_public_buckets &&
      aws_s3_bucket_versioning.trail[0].versioning_configuration[0].status == "Enabled" &&
      aws_s3_bucket_server_side_encryption_configuration.trail[0].rule[0].apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      aws_s3_bucket_lifecycle_configuration.trail[0].rule[0].status == "Enabled"
    )
    error_message = "The trail bucket must block public access, be versioned, KMS-encrypted and have a lifecycle."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.probe.alarm_name == "drover-shop-probe-us-west-2" &&
      aws_cloudwatch_metric_alarm.probe.dimensions == tomap({ Application = "shop", Target = "us-west-2" }) &&
      aws_cloudwatch_metric_alarm.alb_5xx.alarm_name == "drover-shop-alb-5xx-us-east-1" &&
      alltrue([for a in concat([aws_cloudwatch_metric_alarm.probe, aws_cloudwatch_metric_alarm.alb_5xx], values(aws_cloudwatch_metric_alarm.aurora), values(aws_cloudwatch_metric_alarm.ecs)) : a.region == "us-east-1" && a.alarm_actions == toset([aws_sns_topic.this.arn])])
    )
    error_message = "Alarms live in their region and notify the events topic; the probe alarm here watches the peer."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.aurora["aurora_lag"].threshold == 60000 && aws_cloudwatch_metric_alarm.aurora["aurora_lag"].metric_name == "AuroraGlobalDBRPOLag"
    error_message = "The replication lag alarm must fire above the RPO."
  }
}

run "observability_standby_region" {
  command = plan

  module {
    source = "./modules/observability"
  }

  variables {
    region                    = "us-west-2"
    peer_region               = "us-east-1"
    create_trail              = false
    ecs_cluster_name          = "drover-shop-us-west-2"
    ecs_service_name          = "app"
    alb_arn_suffix            = "app/drover-shop/fedcba9876543210"
    target_group_arn_suffixes = { blue = "targetgroup/b/3", green = "targetgroup/g/4" }
    aurora_cluster_id         = "drover-shop-us-west-2"
    app_log_group_name        = "/ecs/drover-shop/app"
    rpo_seconds               = 60
  }

  assert {
    condition     = length(aws_cloudtrail.this) == 0 && length(aws_s3_bucket.trail) == 0
    error_message = "Only one region creates the (multi-region) trail."
  }
}
