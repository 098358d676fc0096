# Blue/green deployments of the compute module, planned against the mocked provider:
# CodeDeploy group, traffic shifting, rollback alarms, termination wait, the ECS service
# under CodeDeploy's control. Run from infra/: terraform test.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  name                = "drover-shop"
  tags                = { Application = "shop", ManagedBy = "terraform", System = "drover" }
  region              = "us-east-1"
  peer_region         = "us-west-2"
  replicate_ecr       = true
  vpc_id              = "vpc-1"
  vpc_cidr            = "10.10.0.0/16"
  public_subnet_ids   = ["subnet-p1", "subnet-p2", "subnet-p3"]
  private_subnet_ids  = ["subnet-q1", "subnet-q2", "subnet-q3"]
  certificate_arn     = "arn:aws:acm:us-east-1:123456789012:certificate/test"
  repository_name     = "shop"
  image_tag           = "1.2.3"
  desired_count       = 2
  kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/platform"
  secrets_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/data"
}

run "bluegreen" {
  command = plan

  module {
    source = "./modules/compute"
  }

  # Listener ARNs are known only after apply; give them values so the wiring can be compared.
  override_resource {
    target          = aws_lb_listener.https
    override_during = plan
    values          = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/drover-shop/1/https" }
  }

  override_resource {
    target          = aws_lb_listener.test
    override_during = plan
    values          = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/drover-shop/1/test" }
  }

  assert {
    condition = (
      aws_codedeploy_app.this.compute_platform == "ECS" && aws_codedeploy_app.this.region == "us-east-1" &&
      aws_codedeploy_deployment_group.this.region == "us-east-1" &&
      aws_codedeploy_deployment_group.this.deployment_style[0].deployment_type == "BLUE_GREEN" &&
      aws_codedeploy_deployment_group.this.deployment_style[0].deployment_option == "WITH_TRAFFIC_CONTROL"
    )
    error_message = "A CodeDeploy ECS application and a blue/green group with traffic control, in the module's region."
  }

  assert {
    condition     = aws_codedeploy_deployment_group.this.deployment_config_name == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    error_message = "Traffic shifts by a canary (10 % for 5 minutes) unless told otherwise."
  }

  assert {
    condition = (
      aws_codedeploy_deployment_group.this.auto_rollback_configuration[0].enabled &&
      contains(aws_codedeploy_deployment_group.this.auto_rollback_configuration[0].events, "DEPLOYMENT_FAILURE") &&
      contains(aws_codedeploy_deployment_group.this.auto_rollback_configuration[0].events, "DEPLOYMENT_STOP_ON_ALARM")
    )
    error_message = "A failed deployment (a failed hook included) and an alarm both roll back."
  }

  assert {
    condition = (
      aws_codedeploy_deployment_group.this.alarm_configuration[0].enabled &&
      length(aws_codedeploy_deployment_group.this.alarm_configuration[0].alarms) == 3 &&
      alltrue([for a in aws_cloudwatch_metric_alarm.deployment : contains(aws_codedeploy_deployment_group.this.alarm_configuration[0].alarms, a.alarm_name) && a.region == "us-east-1" && a.namespace == "AWS/ApplicationELB"])
    )
    error_message = "The group's alarm configuration names the module's rollback alarms (target 5xx, unhealthy targets in either group)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.deployment["unhealthy-blue"].dimensions["TargetGroup"] == aws_lb_target_group.this["blue"].arn_suffix &&
      aws_cloudwatch_metric_alarm.deployment["unhealthy-green"].dimensions["TargetGroup"] == aws_lb_target_group.this["green"].arn_suffix &&
      aws_cloudwatch_metric_alarm.deployment["target-5xx"].metric_name == "HTTPCode_Target_5XX_Count" &&
      aws_cloudwatch_metric_alarm.deployment["target-5xx"].treat_missing_data == "notBreaching"
    )
    error_message = "The unhealthy-target alarms watch both target groups (they swap roles on every deployment); no data is not an alarm."
  }

  assert {
    condition = (
      aws_codedeploy_deployment_group.this.blue_green_deployment_config[0].terminate_blue_instances_on_deployment_success[0].action == "TERMINATE" &&
      aws_codedeploy_deployment_group.this.blue_green_deployment_config[0].terminate_blue_instances_on_deployment_success[0].termination_wait_time_in_minutes == 15
    )
    error_message = "The old tasks wait 15 minutes before they are terminated, so a late alarm rolls back at once."
  }

  assert {
    condition = (
      length(aws_codedeploy_deployment_group.this.load_balancer_info[0].target_group_pair_info[0].target_group) == 2 &&
      one(aws_codedeploy_deployment_group.this.load_balancer_info[0].target_group_pair_info[0].prod_traffic_route[0].listener_arns) == aws_lb_listener.https.arn &&
      one(aws_codedeploy_deployment_group.this.load_balancer_info[0].target_group_pair_info[0].test_traffic_route[0].listener_arns) == aws_lb_listener.test.arn &&
      aws_codedeploy_deployment_group.this.ecs_service[0].service_name == aws_ecs_service.this.name
    )
    error_message = "Two target groups, the HTTPS production listener and the test listener, this module's service."
  }

  assert {
    condition = (
      aws_ecs_service.this.deployment_controller[0].type == "CODE_DEPLOY" &&
      aws_ecs_service.this.load_balancer[0].target_group_arn == aws_lb_target_group.this["blue"].arn &&
      aws_lb_listener.test.default_action[0].target_group_arn == aws_lb_target_group.this["green"].arn
    )
    error_message = "The service deploys through CodeDeploy, starting on blue; the test listener starts on green."
  }

  assert {
    condition     = output.test_listener_port == 8443 && length(output.deployment_alarm_names) == 3
    error_message = "The hook's test-listener port and the rollback alarms are outputs."
  }
}

run "linear_and_shorter_wait" {
  command = plan

  module {
    source = "./modules/compute"
  }

  variables {
    deployment_config_name   = "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    termination_wait_minutes = 5
  }

  assert {
    condition = (
      aws_codedeploy_deployment_group.this.deployment_config_name == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" &&
      aws_codedeploy_deployment_group.this.blue_green_deployment_config[0].terminate_blue_instances_on_deployment_success[0].termination_wait_time_in_minutes == 5
    )
    error_message = "Traffic shifting and the termination wait follow the variables."
  }
}

run "rejects_a_non_ecs_config" {
  command = plan

  module {
    source = "./modules/compute"
  }

  variables {
    deployment_config_name = "CodeDeployDefault.OneAtATime"
  }

  expect_failures = [var.deployment_config_name]
}

# bluegreen-hook's side: its settings reach its environment (and only its), and it may
# reach the test listener.
run "hook_environment" {
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
    signal_alarm_names              = ["drover-shop-probe-us-east-1"]
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
    test_listener_port              = 8443
    bluegreen_hook_environment = {
      DROVER_HOOK_TEST_URL   = "https://app.shop.example.com:8443"
      DROVER_HOOK_CONNECT_TO = "drover-shop-123456.us-west-2.elb.amazonaws.com"
      DROVER_HOOK_SMOKE_PATH = "/api/ping"
    }
  }

  assert {
    condition = (
      aws_lambda_function.this["bluegreen-hook"].environment[0].variables["DROVER_HOOK_TEST_URL"] == "https://app.shop.example.com:8443" &&
      aws_lambda_function.this["bluegreen-hook"].environment[0].variables["DROVER_HOOK_CONNECT_TO"] == "drover-shop-123456.us-west-2.elb.amazonaws.com" &&
      aws_lambda_function.this["bluegreen-hook"].environment[0].variables["DROVER_HOOK_SMOKE_PATH"] == "/api/ping" &&
      aws_lambda_function.this["bluegreen-hook"].environment[0].variables["DROVER_REGION_SELF"] == "us-west-2"
    )
    error_message = "bluegreen-hook gets its test-listener URL, the ALB to connect to and the smoke request."
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : k == "bluegreen-hook" || !contains(keys(f.environment[0].variables), "DROVER_HOOK_TEST_URL")])
    error_message = "Only bluegreen-hook has the hook's settings."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.functions_test_listener[0].from_port == 8443 && aws_vpc_security_group_egress_rule.functions_test_listener[0].to_port == 8443
    error_message = "The functions may reach the test listener's port (and only that one besides HTTPS)."
  }

  assert {
    condition     = aws_lambda_function.this["bluegreen-hook"].timeout >= 40
    error_message = "bluegreen-hook's timeout exceeds its worst case with the default settings (5 rounds x 2 requests x 3 s + a round: 36 s)."
  }
}

run "hook_settings_are_hook_variables_only" {
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
    subnet_ids                      = ["subnet-q1"]
    vpc_id                          = "vpc-2"
    signal_alarm_names              = []
    forwarded_alarm_names           = []
    sns_topic_arn                   = "arn:aws:sns:us-west-2:123456789012:drover-shop-events"
    sns_kms_key_arn                 = "arn:aws:kms:us-west-2:123456789012:key/sns"
    hosted_zone_id                  = "Z0123456789ABCDEFGHIJ"
    global_cluster_arn              = "arn:aws:rds::123456789012:global-cluster:drover-shop"
    aurora_cluster_arns             = []
    ecs_service_arns                = { "us-west-2" = "arn:aws:ecs:us-west-2:123456789012:service/c2/app" }
    ecs_task_definition_family      = "drover-shop-app"
    ecr_repository_arn              = "arn:aws:ecr:us-west-2:123456789012:repository/shop"
    db_secret_arn                   = "arn:aws:secretsmanager:us-west-2:123456789012:secret:x"
    app_table_arn                   = "arn:aws:dynamodb:us-west-2:123456789012:table/shop-data"
    codedeploy_deployment_group_arn = "arn:aws:codedeploy:us-west-2:123456789012:deploymentgroup:drover-shop-app/app"
    codedeploy_role_name            = "drover-shop-codedeploy-us-west-2"
    bluegreen_hook_environment      = { RUST_LOG = "debug" }
  }

  expect_failures = [var.bluegreen_hook_environment]
}
