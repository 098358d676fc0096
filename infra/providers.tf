# One provider for both regions: every regional resource sets `region` (provider v6), so
# each module can be instantiated once per region with for_each. Global services (IAM,
# Route 53) use the provider's region.
provider "aws" {
  region              = var.primary_region
  allowed_account_ids = var.allowed_account_ids
}
