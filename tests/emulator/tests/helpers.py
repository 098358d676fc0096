from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"


def make_global(emu: Any, gid: str = "shop-global", primary: str = "us-east-1",
                standby: str = "us-west-2") -> tuple[str, str]:
    """A global cluster with a writer in `primary` and a reader in `standby`;
    returns (primary_arn, standby_arn)."""
    p = emu.client("rds", primary)
    s = emu.client("rds", standby)
    p.create_global_cluster(GlobalClusterIdentifier=gid, Engine="aurora-postgresql")
    pa = p.create_db_cluster(
        DBClusterIdentifier=f"{gid}-p", Engine="aurora-postgresql",
        MasterUsername="admin", MasterUserPassword="password123",
        GlobalClusterIdentifier=gid,
    )["DBCluster"]["DBClusterArn"]
    sa = s.create_db_cluster(
        DBClusterIdentifier=f"{gid}-s", Engine="aurora-postgresql",
        GlobalClusterIdentifier=gid,
    )["DBCluster"]["DBClusterArn"]
    return pa, sa


def members(emu: Any, gid: str = "shop-global", region: str = "us-west-2") -> dict[str, Any]:
    gc = emu.client("rds", region).describe_global_clusters(
        GlobalClusterIdentifier=gid)["GlobalClusters"][0]
    return gc
