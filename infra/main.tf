data "aws_caller_identity" "this" {}

data "aws_partition" "this" {}

locals {
  name = "drover-${var.application}"

  # The only place tags are merged; every module applies what it receives.
  tags = merge(var.tags, {
    Application = var.application
    ManagedBy   = "terraform"
    System      = "drover"
  })

  role = {
    (var.primary_region) = "primary"
    (var.standby_region) = "standby"
  }
  regions = keys(local.role)
  peer = {
    (var.primary_region) = var.standby_region
    (var.standby_region) = var.primary_region
  }

  lambda_artifacts_dir = coalesce(var.lambda_artifacts_dir, "${path.root}/../target/lambda")

  weight = { active = 100, standby = 0 }

  state_machine_arn = {
    for r in local.regions :
    r => "arn:${data.aws_partition.this.partition}:states:${r}:${data.aws_caller_identity.this.account_id}:stateMachine:${local.name}-failover"
  }

  signals = flatten([for r in local.regions : module.observability[r].signals])

  # drover's topology, same keys and nesting as docs/topology.example.json.
  topology = {
    schema_version = 1
    application    = var.application
    regions = [
      for r in [var.primary_region, var.standby_region] : {
        name = r
        aurora = [{
          global_cluster_id = module.database.global_cluster_id
          cluster_id        = module.database.clusters[r].id
          cluster_arn       = module.database.clusters[r].arn
        }]
        ecs = [{
          cluster               = module.compute[r].cluster_name
          service               = module.compute[r].service_name
          active_desired_count  = var.active_desired_count
          standby_desired_count = var.standby_desired_count
        }]
        alb = {
          arn        = module.compute[r].alb_arn
          dns_name   = module.compute[r].alb_dns_name
          health_url = "https://${module.compute[r].alb_dns_name}${var.health_check_path}"
        }
        route53 = {
          hosted_zone_id  = var.hosted_zone_id
          record_name     = var.record_name
          record_type     = module.traffic.record_type
          set_identifier  = module.traffic.set_identifiers[r]
          health_check_id = module.traffic.health_check_ids[r]
          active_weight   = local.weight.active
          standby_weight  = local.weight.standby
        }
        gate = {
          namespace   = module.traffic.gate.namespace
          metric_name = module.traffic.gate.metric_name
          dimensions  = { Application = var.application, Record = r }
          alarm_name  = module.traffic.gate_alarm_names[r]
        }
        sns = {
          topic_arn  = module.observability[r].sns_topic_arn
          kms_key_id = module.observability[r].sns_kms_key_arn
        }
        lease_table       = "${local.name}-lease"
        state_machine_arn = local.state_machine_arn[r]
      }
    ]
    objectives = {
      rto_seconds = var.rto_seconds
      rpo_seconds = var.rpo_seconds
    }
    policy = {
      quorum               = var.quorum
      signals              = [for s in local.signals : { alarm_name = s.alarm_name, region = s.region, watches = s.watches, group = s.group }]
      cooldown_seconds     = var.cooldown_seconds
      lease_ttl_seconds    = var.lease_ttl_seconds
      allow_detach_promote = var.allow_detach_promote
      fence_old_primary    = var.fence_old_primary
      approval_required    = var.approval_required
    }
  }
}

module "observability" {
  source   = "./modules/observability"
  for_each = local.role

  name         = local.name
  application  = var.application
  region       = each.key
  peer_region  = local.peer[each.key]
  create_trail = each.value == "primary"

  ecs_cluster_name          = module.compute[each.key].cluster_name
  ecs_service_name          = module.compute[each.key].service_name
  alb_arn_suffix            = module.compute[each.key].alb_arn_suffix
  target_group_arn_suffixes = module.compute[each.key].target_group_arn_suffixes
  aurora_cluster_id         = module.database.clusters[each.key].id
  app_log_group_name        = module.compute[each.key].app_log_group_name
  rpo_seconds               = var.rpo_seconds
  notification_emails       = var.notification_emails

  tags = local.tags
}

module "network" {
  source   = "./modules/network"
  for_each = local.role

  name        = local.name
  region      = each.key
  cidr        = var.vpc_cidrs[each.value]
  az_suffixes = var.az_suffixes

  tags = local.tags
}

module "database" {
  source = "./modules/database"

  name           = local.name
  primary_region = var.primary_region
  standby_region = var.standby_region
  networks = {
    for r in local.regions : r => {
      vpc_id     = module.network[r].vpc_id
      vpc_cidr   = module.network[r].vpc_cidr
      subnet_ids = module.network[r].private_subnet_ids
    }
  }
  engine_version  = var.db_engine_version
  instance_class  = var.db_instance_class
  database_name   = var.db_name
  master_username = var.db_master_username
  master_password = var.db_master_password
  rpo_seconds     = var.rpo_seconds
  app_table_name  = "${var.application}-data"

  tags = local.tags
}

module "compute" {
  source   = "./modules/compute"
  for_each = local.role

  name               = local.name
  region             = each.key
  peer_region        = local.peer[each.key]
  replicate_ecr      = each.value == "primary"
  vpc_id             = module.network[each.key].vpc_id
  vpc_cidr           = module.network[each.key].vpc_cidr
  public_subnet_ids  = module.network[each.key].public_subnet_ids
  private_subnet_ids = module.network[each.key].private_subnet_ids
  certificate_arn    = var.certificate_arns[each.key]
  repository_name    = var.application
  image_tag          = var.image_tag
  cpu_architecture   = var.image_architecture
  container_port     = var.container_port
  health_check_path  = var.health_check_path
  desired_count      = each.value == "primary" ? var.active_desired_count : var.standby_desired_count
  max_count          = max(var.active_desired_count * 3, 10)
  environment = {
    APP_DB_HOST = module.database.clusters[each.key].endpoint
    APP_DB_NAME = var.db_name
  }
  secrets = {
    APP_DB_PASSWORD = "${module.database.master_secret_arns[each.key]}:password::"
  }
  secret_arns         = [module.database.master_secret_arns[each.key]]
  kms_key_arn         = module.network[each.key].kms_key_arn
  secrets_kms_key_arn = module.database.kms_key_arns[each.key]

  tags = local.tags
}

module "traffic" {
  source = "./modules/traffic"

  name              = local.name
  application       = var.application
  hosted_zone_id    = var.hosted_zone_id
  record_name       = var.record_name
  health_check_path = var.health_check_path
  endpoints = {
    for r, role in local.role : r => {
      alb_dns_name = module.compute[r].alb_dns_name
      peer_region  = local.peer[r]
      weight       = role == "primary" ? local.weight.active : local.weight.standby
    }
  }
  alarm_actions = { for r in local.regions : r => [module.observability[r].sns_topic_arn] }

  tags = local.tags
}

module "orchestrator" {
  source   = "./modules/orchestrator"
  for_each = local.role

  name                 = local.name
  region               = each.key
  peer_region          = local.peer[each.key]
  topology_json        = jsonencode(local.topology)
  lambda_artifacts_dir = local.lambda_artifacts_dir
  architecture         = var.lambda_architecture
  kms_key_arn          = module.network[each.key].kms_key_arn
  vpc_id               = module.network[each.key].vpc_id
  subnet_ids           = module.network[each.key].private_subnet_ids

  # Activate this region when the peer is failing: signals watching the peer, wherever they live
  # (those located in the peer are forwarded here by the peer's orchestrator).
  signal_alarm_names    = [for s in local.signals : s.alarm_name if s.watches == local.peer[each.key]]
  forwarded_alarm_names = [for s in local.signals : s.alarm_name if s.region == each.key && s.watches == each.key]

  sns_topic_arn                   = module.observability[each.key].sns_topic_arn
  sns_kms_key_arn                 = module.observability[each.key].sns_kms_key_arn
  hosted_zone_id                  = var.hosted_zone_id
  global_cluster_arn              = module.database.global_cluster_arn
  aurora_cluster_arns             = [for r in local.regions : module.database.clusters[r].arn]
  ecs_service_arns                = { for r in local.regions : r => module.compute[r].service_arn }
  ecs_task_definition_family      = module.compute[each.key].task_definition_family
  ecr_repository_arn              = module.compute[each.key].repository_arn
  db_secret_arn                   = module.database.master_secret_arns[each.key]
  app_table_arn                   = module.database.app_table_arns[each.key]
  codedeploy_deployment_group_arn = module.compute[each.key].codedeploy_deployment_group_arn
  codedeploy_role_name            = module.compute[each.key].codedeploy_role_name

  # bluegreen-hook reaches the green tasks through the test listener: TLS to the
  # application's name (the certificate's), connection to this region's ALB.
  test_listener_port = module.compute[each.key].test_listener_port
  bluegreen_hook_environment = merge({
    DROVER_HOOK_TEST_URL    = "https://${var.record_name}:${module.compute[each.key].test_listener_port}"
    DROVER_HOOK_CONNECT_TO  = module.compute[each.key].alb_dns_name
    DROVER_HOOK_HEALTH_PATH = var.health_check_path
  }, var.bluegreen_hook_settings)

  tags = local.tags
}
