# Values of computed attributes the tests read at plan time (mock_provider with
# override_during = plan). Anything not listed here stays unknown during a plan.

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_availability_zones" {
  defaults = { names = ["zz-test-1a", "zz-test-1b", "zz-test-1c"] }
}

mock_data "aws_elb_service_account" {
  defaults = { arn = "arn:aws:iam::127311923021:root" }
}

mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:zz-test-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    key_id = "00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_vpc" {
  defaults = { id = "vpc-0123456789abcdef0" }
}

mock_resource "aws_subnet" {
  defaults = { id = "subnet-0123456789abcdef0" }
}

mock_resource "aws_security_group" {
  defaults = { id = "sg-0123456789abcdef0" }
}

mock_resource "aws_rds_global_cluster" {
  defaults = {
    id  = "drover-shop"
    arn = "arn:aws:rds::123456789012:global-cluster:drover-shop"
  }
}

mock_resource "aws_rds_cluster" {
  defaults = {
    arn             = "arn:aws:rds:zz-test-1:123456789012:cluster:drover-shop-zz-test-1"
    endpoint        = "drover-shop.cluster-abc.zz-test-1.rds.amazonaws.com"
    reader_endpoint = "drover-shop.cluster-ro-abc.zz-test-1.rds.amazonaws.com"
  }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:drover-shop/aurora/master-AbCdEf" }
}

mock_resource "aws_dynamodb_table" {
  defaults = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shop-data" }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:zz-test-1:123456789012:repository/shop"
    repository_url = "123456789012.dkr.ecr.zz-test-1.amazonaws.com/shop"
  }
}

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:zz-test-1:123456789012:loadbalancer/app/drover-shop/0123456789abcdef"
    arn_suffix = "app/drover-shop/0123456789abcdef"
    dns_name   = "drover-shop-123456.zz-test-1.elb.amazonaws.com"
    zone_id    = "Z35SXDOTRQ7X7K"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:zz-test-1:123456789012:targetgroup/drover-shop/0123456789abcdef"
    arn_suffix = "targetgroup/drover-shop/0123456789abcdef"
  }
}

mock_resource "aws_codedeploy_deployment_group" {
  defaults = { arn = "arn:aws:codedeploy:zz-test-1:123456789012:deploymentgroup:drover-shop-app/app" }
}

mock_resource "aws_route53_health_check" {
  defaults = { id = "11111111-2222-3333-4444-555555555555" }
}

mock_resource "aws_cloudwatch_metric_alarm" {
  defaults = { arn = "arn:aws:cloudwatch:zz-test-1:123456789012:alarm:drover-shop" }
}

mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:zz-test-1:123456789012:drover-shop-events" }
}

mock_resource "aws_cloudtrail" {
  defaults = { arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/drover-shop-trail" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:zz-test-1:123456789012:log-group:drover" }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/drover" }
}

mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:zz-test-1:123456789012:drover-shop-functions-dlq" }
}

mock_resource "aws_lambda_function" {
  defaults = { arn = "arn:aws:lambda:zz-test-1:123456789012:function:drover-shop" }
}

mock_resource "aws_sfn_state_machine" {
  defaults = { arn = "arn:aws:states:zz-test-1:123456789012:stateMachine:drover-shop-failover" }
}
