data "aws_caller_identity" "this" {}

data "aws_partition" "this" {}

locals {
  regions = toset([var.primary_region, var.standby_region])
  port    = 5432
  account = data.aws_caller_identity.this.account_id

  cluster_id = { for r in local.regions : r => "${var.name}-${r}" }

  # Autoscaling targets of the global table: read and write, in both regions.
  scaling = {
    for pair in setproduct(local.regions, ["read", "write"]) : "${pair[0]}-${pair[1]}" => {
      region    = pair[0]
      dimension = pair[1] == "read" ? "dynamodb:table:ReadCapacityUnits" : "dynamodb:table:WriteCapacityUnits"
      metric    = pair[1] == "read" ? "DynamoDBReadCapacityUtilization" : "DynamoDBWriteCapacityUtilization"
      min       = pair[1] == "read" ? var.app_table_capacity.read_min : var.app_table_capacity.write_min
      max       = pair[1] == "read" ? var.app_table_capacity.read_max : var.app_table_capacity.write_max
    }
  }
}

################################################################################
# Keys: one customer-managed key per region (Aurora storage, secret, DynamoDB)
################################################################################

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:KMS key policy: "*" is this key only, and the root statement delegates access to IAM policies
  # checkov:skip=CKV_AWS_111:KMS key policy: "*" is this key only; service principals are limited by conditions
  # checkov:skip=CKV_AWS_356:KMS key policy: a key policy cannot name the key it is attached to, "*" means this key
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.this.partition}:iam::${local.account}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = local.regions

  region                  = each.key
  description             = "${var.name} data at rest (Aurora, Secrets Manager, DynamoDB) in ${each.key}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  for_each = local.regions

  region        = each.key
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.this[each.key].key_id
}

################################################################################
# Master password: Secrets Manager, replicated to the standby region
################################################################################

resource "aws_secretsmanager_secret" "master" {
  # checkov:skip=CKV2_AWS_57:Aurora global databases cannot use RDS-managed master passwords, and rotating this secret means changing the global cluster's password in lockstep; no rotation Lambda yet (documented in infra/README.md)
  region      = var.primary_region
  name        = "${var.name}/aurora/master"
  description = "Master credentials of the ${var.name} Aurora global database"
  kms_key_id  = aws_kms_key.this[var.primary_region].arn

  # Available in the standby region so the promoted cluster can be reached without the old one.
  replica {
    region     = var.standby_region
    kms_key_id = aws_kms_key.this[var.standby_region].arn
  }

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "master" {
  region    = var.primary_region
  secret_id = aws_secretsmanager_secret.master.id
  secret_string = jsonencode({
    engine   = "postgres"
    username = var.master_username
    password = var.master_password
    dbname   = var.database_name
    port     = local.port
  })
}

################################################################################
# Network placement
################################################################################

resource "aws_db_subnet_group" "this" {
  for_each = local.regions

  region      = each.key
  name        = local.cluster_id[each.key]
  description = "Private subnets of ${var.name} Aurora in ${each.key}"
  subnet_ids  = var.networks[each.key].subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  for_each = local.regions

  region      = each.key
  name        = "${var.name}-aurora"
  description = "Aurora PostgreSQL of ${var.name}: reachable from its own VPC only"
  vpc_id      = var.networks[each.key].vpc_id

  tags = merge(var.tags, { Name = "${var.name}-aurora" })
}

# CIDR, not a group reference: a rule may never point at a group in another region.
resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.regions

  region            = each.key
  security_group_id = aws_security_group.this[each.key].id
  description       = "PostgreSQL from the VPC"
  ip_protocol       = "tcp"
  from_port         = local.port
  to_port           = local.port
  cidr_ipv4         = var.networks[each.key].vpc_cidr
}

resource "aws_rds_cluster_parameter_group" "this" {
  for_each = local.regions

  region      = each.key
  name        = "${var.name}-global"
  family      = var.parameter_group_family
  description = "${var.name} Aurora global database: RPO and logging"

  # Aurora holds commits rather than let the secondary fall further behind than the RPO.
  parameter {
    name  = "rds.global_db_rpo"
    value = tostring(var.rpo_seconds)
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = var.tags
}

################################################################################
# Aurora global database: global cluster -> primary -> secondary
################################################################################

resource "aws_rds_global_cluster" "this" {
  region                    = var.primary_region
  global_cluster_identifier = var.name
  engine                    = "aurora-postgresql"
  engine_version            = var.engine_version
  storage_encrypted         = true
  deletion_protection       = var.deletion_protection
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.this.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster" "primary" {
  # checkov:skip=CKV2_AWS_8:Aurora automated backups (backup_retention_period) and the cross-region global secondary cover recovery; an AWS Backup plan would duplicate them
  region                              = var.primary_region
  cluster_identifier                  = local.cluster_id[var.primary_region]
  global_cluster_identifier           = aws_rds_global_cluster.this.id
  engine                              = "aurora-postgresql"
  engine_version                      = aws_rds_global_cluster.this.engine_version
  database_name                       = var.database_name
  master_username                     = var.master_username
  master_password                     = var.master_password
  port                                = local.port
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this[var.primary_region].arn
  db_subnet_group_name                = aws_db_subnet_group.this[var.primary_region].name
  vpc_security_group_ids              = [aws_security_group.this[var.primary_region].id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this[var.primary_region].name
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "02:00-03:00"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  final_snapshot_identifier           = "${local.cluster_id[var.primary_region]}-final"

  tags = var.tags

  lifecycle {
    # drover promotes and demotes clusters at run time; the next apply must not undo that.
    ignore_changes = [global_cluster_identifier, replication_source_identifier]
  }
}

resource "aws_rds_cluster_instance" "primary" {
  count = var.primary_instance_count

  region                                = var.primary_region
  identifier                            = "${local.cluster_id[var.primary_region]}-${count.index}"
  cluster_identifier                    = aws_rds_cluster.primary.id
  engine                                = aws_rds_cluster.primary.engine
  engine_version                        = aws_rds_cluster.primary.engine_version
  instance_class                        = var.instance_class
  db_subnet_group_name                  = aws_db_subnet_group.this[var.primary_region].name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this[var.primary_region].arn
  performance_insights_retention_period = 7
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags
}

resource "aws_rds_cluster" "secondary" {
  # checkov:skip=CKV2_AWS_8:Aurora automated backups (backup_retention_period) and the cross-region global secondary cover recovery; an AWS Backup plan would duplicate them
  region                              = var.standby_region
  cluster_identifier                  = local.cluster_id[var.standby_region]
  global_cluster_identifier           = aws_rds_global_cluster.this.id
  engine                              = "aurora-postgresql"
  engine_version                      = aws_rds_global_cluster.this.engine_version
  port                                = local.port
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this[var.standby_region].arn
  db_subnet_group_name                = aws_db_subnet_group.this[var.standby_region].name
  vpc_security_group_ids              = [aws_security_group.this[var.standby_region].id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this[var.standby_region].name
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "02:00-03:00"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  final_snapshot_identifier           = "${local.cluster_id[var.standby_region]}-final"

  tags = var.tags

  lifecycle {
    ignore_changes = [global_cluster_identifier, replication_source_identifier]
  }

  # A secondary can only join once the primary has a writer instance.
  depends_on = [aws_rds_cluster_instance.primary]
}

resource "aws_rds_cluster_instance" "secondary" {
  count = var.standby_instance_count

  region                                = var.standby_region
  identifier                            = "${local.cluster_id[var.standby_region]}-${count.index}"
  cluster_identifier                    = aws_rds_cluster.secondary.id
  engine                                = aws_rds_cluster.secondary.engine
  engine_version                        = aws_rds_cluster.secondary.engine_version
  instance_class                        = var.instance_class
  db_subnet_group_name                  = aws_db_subnet_group.this[var.standby_region].name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this[var.standby_region].arn
  performance_insights_retention_period = 7
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags
}

################################################################################
# DynamoDB global table with read/write autoscaling in both regions
################################################################################

resource "aws_dynamodb_table" "app" {
  region                      = var.primary_region
  name                        = var.app_table_name
  billing_mode                = "PROVISIONED"
  read_capacity               = var.app_table_capacity.read_min
  write_capacity              = var.app_table_capacity.write_min
  hash_key                    = var.app_table_hash_key
  range_key                   = var.app_table_range_key
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = var.app_table_hash_key
    type = "S"
  }

  attribute {
    name = var.app_table_range_key
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this[var.primary_region].arn
  }

  replica {
    region_name            = var.standby_region
    kms_key_arn            = aws_kms_key.this[var.standby_region].arn
    point_in_time_recovery = true
    propagate_tags         = true
  }

  tags = var.tags

  lifecycle {
    # Application Auto Scaling owns the provisioned capacity.
    ignore_changes = [read_capacity, write_capacity]
  }
}

resource "aws_appautoscaling_target" "app" {
  for_each = local.scaling

  region             = each.value.region
  service_namespace  = "dynamodb"
  resource_id        = "table/${aws_dynamodb_table.app.name}"
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.min
  max_capacity       = each.value.max

  tags = var.tags
}

resource "aws_appautoscaling_policy" "app" {
  for_each = local.scaling

  region             = each.value.region
  name               = "${var.app_table_name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.app[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.app[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.app_table_capacity.target_value

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}
