from __future__ import annotations

import botocore.exceptions
import pytest

from helpers import make_global, members


def _err(excinfo: pytest.ExceptionInfo) -> tuple[str, int]:
    e = excinfo.value
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_failover_with_data_loss_shows_state_then_moves_writer(emu):
    pa, sa = make_global(emu)
    emu.control("POST", "durations", {"aurora_failover": 100})
    emu.control("POST", "regions/us-east-1/down")
    rds = emu.client("rds", "us-west-2")
    gc = rds.failover_global_cluster(GlobalClusterIdentifier="shop-global",
                                     TargetDbClusterIdentifier=sa,
                                     AllowDataLoss=True)["GlobalCluster"]
    assert gc["Status"] == "failing-over"
    assert gc["FailoverState"] == {"Status": "pending", "FromDbClusterArn": pa,
                                   "ToDbClusterArn": sa, "IsDataLossAllowed": True}
    emu.control("POST", "clock", {"advance": 30})
    gc = members(emu)
    assert gc["FailoverState"]["Status"] == "failing-over"
    writer = [m for m in gc["GlobalClusterMembers"] if m["IsWriter"]]
    assert writer[0]["DBClusterArn"] == pa
    cl = rds.describe_db_clusters(DBClusterIdentifier="shop-global-s")["DBClusters"][0]
    assert cl["Status"] == "failing-over"
    emu.control("POST", "clock", {"advance": 71})
    gc = members(emu)
    assert gc["Status"] == "available"
    assert "FailoverState" not in gc
    by_arn = {m["DBClusterArn"]: m for m in gc["GlobalClusterMembers"]}
    assert by_arn[sa]["IsWriter"] is True and by_arn[sa]["Readers"] == [pa]
    assert by_arn[pa]["IsWriter"] is False
    assert by_arn[pa]["SynchronizationStatus"] == "pending-resync"
    cl = rds.describe_db_clusters(DBClusterIdentifier="shop-global-s")["DBClusters"][0]
    assert cl["Status"] == "available"
    emu.control("POST", "regions/us-east-1/up")
    assert members(emu)["GlobalClusterMembers"][0]["IsWriter"] is False


def test_switchover_planned(emu):
    pa, sa = make_global(emu)
    rds = emu.client("rds", "us-west-2")
    gc = rds.switchover_global_cluster(GlobalClusterIdentifier="shop-global",
                                       TargetDbClusterIdentifier=sa)["GlobalCluster"]
    assert gc["Status"] == "switching-over"
    assert gc["FailoverState"]["IsDataLossAllowed"] is False
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.switchover_global_cluster(GlobalClusterIdentifier="shop-global",
                                      TargetDbClusterIdentifier=sa)
    assert _err(ei) == ("InvalidGlobalClusterStateFault", 400)
    emu.control("POST", "clock", {"advance": 61})
    by_arn = {m["DBClusterArn"]: m["IsWriter"] for m in members(emu)["GlobalClusterMembers"]}
    assert by_arn == {pa: False, sa: True}


def test_failover_switchover_flag_behaves_as_switchover(emu):
    pa, sa = make_global(emu)
    rds = emu.client("rds", "us-west-2")
    gc = rds.failover_global_cluster(GlobalClusterIdentifier="shop-global",
                                     TargetDbClusterIdentifier="shop-global-s",
                                     Switchover=True)["GlobalCluster"]
    assert gc["Status"] == "switching-over"
    assert gc["FailoverState"]["ToDbClusterArn"] == sa


def test_switchover_refused_while_a_region_is_down(emu):
    pa, sa = make_global(emu)
    emu.control("POST", "regions/us-east-1/down")
    rds = emu.client("rds", "us-west-2")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.switchover_global_cluster(GlobalClusterIdentifier="shop-global",
                                      TargetDbClusterIdentifier=sa)
    assert _err(ei) == ("InvalidGlobalClusterStateFault", 400)


def test_documented_faults(emu):
    pa, sa = make_global(emu)
    rds = emu.client("rds", "us-west-2")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.failover_global_cluster(GlobalClusterIdentifier="nope",
                                    TargetDbClusterIdentifier=sa, AllowDataLoss=True)
    assert _err(ei) == ("GlobalClusterNotFoundFault", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.describe_global_clusters(GlobalClusterIdentifier="nope")
    assert _err(ei) == ("GlobalClusterNotFoundFault", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.switchover_global_cluster(GlobalClusterIdentifier="shop-global",
                                      TargetDbClusterIdentifier=pa)
    assert _err(ei) == ("InvalidDBClusterStateFault", 400)
    rds.create_db_cluster(DBClusterIdentifier="loner", Engine="aurora-postgresql",
                          MasterUsername="a", MasterUserPassword="password123")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.failover_global_cluster(GlobalClusterIdentifier="shop-global",
                                    TargetDbClusterIdentifier="loner", AllowDataLoss=True)
    assert _err(ei) == ("DBClusterNotFoundFault", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.failover_global_cluster(GlobalClusterIdentifier="shop-global",
                                    TargetDbClusterIdentifier="missing", AllowDataLoss=True)
    assert _err(ei) == ("DBClusterNotFoundFault", 404)


def test_detach_in_non_us_east_1_region(emu):
    pa, sa = make_global(emu)
    emu.control("POST", "regions/us-east-1/down")
    rds = emu.client("rds", "us-west-2")
    rds.remove_from_global_cluster(GlobalClusterIdentifier="shop-global", DbClusterIdentifier=sa)
    cl = rds.describe_db_clusters(DBClusterIdentifier="shop-global-s")["DBClusters"][0]
    assert cl["Status"] == "promoting"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rds.remove_from_global_cluster(GlobalClusterIdentifier="shop-global",
                                       DbClusterIdentifier=sa)
    assert _err(ei) == ("InvalidDBClusterStateFault", 400)
    emu.control("POST", "clock", {"advance": 31})
    cl = rds.describe_db_clusters(DBClusterIdentifier="shop-global-s")["DBClusters"][0]
    assert cl["Status"] == "available"
    assert not cl.get("GlobalClusterIdentifier")
    gc = members(emu)
    assert [m["DBClusterArn"] for m in gc["GlobalClusterMembers"]] == [pa]


def test_describe_filter(emu):
    make_global(emu, "a-global")
    make_global(emu, "b-global")
    rds = emu.client("rds", "us-west-2")
    assert len(rds.describe_global_clusters()["GlobalClusters"]) == 2
    got = rds.describe_global_clusters(GlobalClusterIdentifier="b-global")["GlobalClusters"]
    assert [g["GlobalClusterIdentifier"] for g in got] == ["b-global"]
