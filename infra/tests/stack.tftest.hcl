# The whole two-region stack, planned against a mocked AWS provider (offline: the provider
# binary is tools/tf-standin, which serves the real schema). Run from infra/: terraform test.

mock_provider "aws" {
  # Mocked computed values (ids, ARNs, see mocks/) are known at plan time, so the
  # assertions can read them.
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  application        = "shop"
  primary_region     = "us-east-1"
  standby_region     = "us-west-2"
  hosted_zone_id     = "Z0123456789ABCDEFGHIJ"
  record_name        = "app.shop.example.com"
  image_tag          = "1.2.3"
  db_master_password = "test-only-not-a-secret"
  certificate_arns = {
    "us-east-1" = "arn:aws:acm:us-east-1:123456789012:certificate/test-use1"
    "us-west-2" = "arn:aws:acm:us-west-2:123456789012:certificate/test-usw2"
  }
}

# One plan of the whole stack (a plan takes seconds; every assertion reads the same one).
run "stack" {
  command = plan

  assert {
    condition     = output.regions == { "us-east-1" = "primary", "us-west-2" = "standby" }
    error_message = "Both regions must be deployed, one primary and one standby."
  }

  assert {
    condition     = keys(output.state_machine_arns) == ["us-east-1", "us-west-2"] && keys(output.function_arns) == ["us-east-1", "us-west-2"]
    error_message = "Each region must run its own orchestrator (state machine and functions)."
  }

  assert {
    condition     = alltrue([for r, fns in output.function_arns : length(fns) == 9])
    error_message = "Each region must run the nine drover functions."
  }

  assert {
    condition     = keys(output.lease_tables) == ["us-east-1", "us-west-2"] && alltrue([for t in values(output.lease_tables) : t == "drover-shop-lease"])
    error_message = "One lease table per region, named drover-<app>-lease."
  }

  assert {
    condition     = keys(output.health_check_ids) == ["us-east-1", "us-west-2"]
    error_message = "Each region's record must carry its own health check."
  }

  assert {
    condition     = output.gate_alarm_names == { "us-east-1" = "drover-shop-gate-us-east-1", "us-west-2" = "drover-shop-gate-us-west-2" }
    error_message = "Gate alarm names must follow drover-<app>-gate-<record region>."
  }

  assert {
    condition     = output.cloudtrail_arn != null
    error_message = "The multi-region trail must exist (in the primary region)."
  }

  # DROVER_TOPOLOGY must have exactly the keys and nesting of docs/topology.example.json.
  variables {
    example = jsondecode(file("../docs/topology.example.json"))
  }

  assert {
    condition     = keys(jsondecode(output.topology)) == keys(var.example)
    error_message = "Top-level keys of the topology differ from docs/topology.example.json."
  }

  assert {
    condition = alltrue([
      for r in jsondecode(output.topology).regions : (
        keys(r) == keys(var.example.regions[0]) &&
        keys(r.aurora[0]) == keys(var.example.regions[0].aurora[0]) &&
        keys(r.ecs[0]) == keys(var.example.regions[0].ecs[0]) &&
        keys(r.alb) == keys(var.example.regions[0].alb) &&
        keys(r.route53) == keys(var.example.regions[0].route53) &&
        keys(r.gate) == keys(var.example.regions[0].gate) &&
        keys(r.gate.dimensions) == keys(var.example.regions[0].gate.dimensions) &&
        keys(r.sns) == keys(var.example.regions[0].sns)
      )
    ])
    error_message = "Region entries of the topology differ in keys or nesting from docs/topology.example.json."
  }

  assert {
    condition = (
      keys(jsondecode(output.topology).objectives) == keys(var.example.objectives) &&
      keys(jsondecode(output.topology).policy) == keys(var.example.policy) &&
      alltrue([for s in jsondecode(output.topology).policy.signals : keys(s) == keys(var.example.policy.signals[0])])
    )
    error_message = "objectives or policy of the topology differ from docs/topology.example.json."
  }

  assert {
    condition     = [for r in jsondecode(output.topology).regions : r.name] == ["us-east-1", "us-west-2"]
    error_message = "The topology must list both regions, primary first."
  }

  assert {
    condition = alltrue([
      for r in jsondecode(output.topology).regions : (
        r.route53.set_identifier == r.name &&
        r.gate.dimensions.Record == r.name &&
        r.gate.dimensions.Application == "shop" &&
        r.gate.namespace == "Drover/Gate" && r.gate.metric_name == "RecordGate" &&
        r.lease_table == "drover-shop-lease" &&
        r.state_machine_arn == "arn:aws:states:${r.name}:123456789012:stateMachine:drover-shop-failover"
      )
    ])
    error_message = "Record set identifiers, gate dimensions, lease table or state machine ARNs are off."
  }

  assert {
    condition = toset([for s in jsondecode(output.topology).policy.signals : "${s.group}:${s.alarm_name}@${s.region}>${s.watches}"]) == toset([
      "probe:drover-shop-probe-us-west-2@us-east-1>us-west-2",
      "alb:drover-shop-alb-5xx-us-east-1@us-east-1>us-east-1",
      "probe:drover-shop-probe-us-east-1@us-west-2>us-east-1",
      "alb:drover-shop-alb-5xx-us-west-2@us-west-2>us-west-2",
    ])
    error_message = "Signals must be, per region, the probe alarm watching the peer and the ALB 5xx alarm watching itself."
  }

  assert {
    # drover-core refuses a topology where fewer independent groups than the quorum watch a region.
    condition = alltrue([
      for r in ["us-east-1", "us-west-2"] :
      length(distinct([for s in jsondecode(output.topology).policy.signals : s.group if s.watches == r])) >= jsondecode(output.topology).policy.quorum
    ])
    error_message = "Each region must be watched by at least quorum independent signal groups."
  }

  assert {
    # Lambda environments are limited to 4 KB in total.
    condition     = length(output.topology) < 3500
    error_message = "The topology JSON is too large for a Lambda environment variable."
  }
}
