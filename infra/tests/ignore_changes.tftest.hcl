# drover changes Route 53 weights and ECS desired counts at run time; the next apply must not
# undo a failover. A plan cannot show a lifecycle setting, so this applies the module (to the
# mocked provider: nothing is created) and then plans it again with the values drover would
# have set: with ignore_changes the planned values stay those of the state.

# Mocks apply at apply time only here: generated values must not change between plan and apply.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name           = "drover-shop"
  application    = "shop"
  hosted_zone_id = "Z0123456789ABCDEFGHIJ"
  record_name    = "app.shop.example.com"
  endpoints = {
    "us-east-1" = { alb_dns_name = "a.us-east-1.elb.amazonaws.com", peer_region = "us-west-2", weight = 100 }
    "us-west-2" = { alb_dns_name = "b.us-west-2.elb.amazonaws.com", peer_region = "us-east-1", weight = 0 }
  }
  region              = "us-west-2"
  peer_region         = "us-east-1"
  vpc_id              = "vpc-2"
  vpc_cidr            = "10.20.0.0/16"
  public_subnet_ids   = ["subnet-p1", "subnet-p2"]
  private_subnet_ids  = ["subnet-q1", "subnet-q2"]
  certificate_arn     = "arn:aws:acm:us-west-2:123456789012:certificate/test"
  repository_name     = "shop"
  image_tag           = "1.2.3"
  desired_count       = 1
  kms_key_arn         = "arn:aws:kms:us-west-2:123456789012:key/platform"
  secrets_kms_key_arn = "arn:aws:kms:us-west-2:123456789012:key/data"
}

run "traffic_deployed" {
  command = apply

  module {
    source = "./modules/traffic"
  }
}

run "traffic_weights_ignored" {
  command = plan

  module {
    source = "./modules/traffic"
  }

  # As if the configuration now disagreed with the weights in the state.
  variables {
    endpoints = {
      "us-east-1" = { alb_dns_name = "a.us-east-1.elb.amazonaws.com", peer_region = "us-west-2", weight = 0 }
      "us-west-2" = { alb_dns_name = "b.us-west-2.elb.amazonaws.com", peer_region = "us-east-1", weight = 100 }
    }
  }

  assert {
    condition     = aws_route53_record.this["us-east-1"].weighted_routing_policy[0].weight == 100 && aws_route53_record.this["us-west-2"].weighted_routing_policy[0].weight == 0
    error_message = "A plan must keep the weights in the state (lifecycle ignore_changes = [weighted_routing_policy])."
  }
}

run "compute_deployed" {
  command = apply

  module {
    source = "./modules/compute"
  }
}

run "compute_desired_count_ignored" {
  command = plan

  module {
    source = "./modules/compute"
  }

  variables {
    desired_count = 4
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 1
    error_message = "A plan must keep the service's desired count in the state (lifecycle ignore_changes = [desired_count])."
  }
}
