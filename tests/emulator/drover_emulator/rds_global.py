"""Aurora global database operations, modeled on the RDS API reference, layered on
moto's clusters: FailoverGlobalCluster, SwitchoverGlobalCluster,
RemoveFromGlobalCluster for a member in any region, and DescribeGlobalClusters that
honours the identifier and shows FailoverState while an operation runs.

moto keeps every global cluster in its us-east-1 backend and each member DBCluster
in its own region's backend with an `is_writer` flag. Operations in flight live
here and are applied lazily against the modeled clock (`tick`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBCluster, GlobalCluster, rds_backends
from moto.rds.responses import RDSResponse

from .state import STATE

GLOBAL_HOME = "us-east-1"  # where moto stores global clusters


@dataclass
class GlobalOp:
    kind: str  # failover | switchover
    global_id: str
    from_arn: str
    to_arn: str
    data_loss: bool
    start: float
    duration: float

    def phase(self, now: float) -> str:
        # AWS first verifies both clusters ("pending"), then does the work.
        verify = min(5.0, self.duration * 0.1)
        if now < self.start + verify:
            return "pending"
        return "failing-over" if self.kind == "failover" else "switching-over"


@dataclass
class DetachOp:
    global_id: str
    cluster_arn: str
    start: float
    duration: float


GLOBAL_OPS: dict[str, GlobalOp] = {}  # lower-case global id -> op
DETACH_OPS: dict[str, DetachOp] = {}  # cluster arn -> op


def reset() -> None:
    GLOBAL_OPS.clear()
    DETACH_OPS.clear()


def _err(code: str, message: str) -> RDSClientError:
    return RDSClientError(code, message)


def _backend(region: str) -> Any:
    return rds_backends[DEFAULT_ACCOUNT_ID][region]


def _global_clusters() -> Any:
    return _backend(GLOBAL_HOME).global_clusters


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


def _find_global(identifier: str | None) -> GlobalCluster:
    if not identifier:
        raise _err("InvalidParameterValue", "GlobalClusterIdentifier is required.")
    ident = identifier.split(":global-cluster:")[-1]
    gc = _global_clusters().get(ident)
    if gc is None:
        raise _err("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")
    return gc


def _find_cluster(identifier: str | None, call_region: str) -> DBCluster:
    if not identifier:
        raise _err("InvalidParameterValue", "The DB cluster identifier is required.")
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        region, cid = parts[3], parts[-1]
    else:
        region, cid = call_region, identifier
    try:
        cluster = _backend(region).clusters.get(cid)
    except KeyError:
        cluster = None
    if cluster is None:
        raise _err("DBClusterNotFoundFault", f"DBCluster {identifier} not found.")
    return cluster


def _writer(gc: GlobalCluster) -> DBCluster | None:
    return next((m for m in gc.members if m.is_writer), None)


def _bool(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    return str(v).lower() == "true"


def tick() -> None:
    """Complete every operation whose modeled duration has elapsed."""
    now = STATE.clock.now()
    with STATE.lock:
        for key, op in list(GLOBAL_OPS.items()):
            if now < op.start + op.duration:
                continue
            del GLOBAL_OPS[key]
            gc = _global_clusters().get(op.global_id)
            if gc is None:
                continue
            for m in gc.members:
                if m.db_cluster_arn == op.to_arn:
                    m.is_writer = True
                    m.status = "available"
                elif m.db_cluster_arn == op.from_arn:
                    # After an unplanned failover the old primary rejoins as a reader
                    # once its region is back; a switchover demotes it in place.
                    m.is_writer = False
                    m.status = "available"
            gc.status = "available"
        for arn, dop in list(DETACH_OPS.items()):
            if now < dop.start + dop.duration:
                continue
            del DETACH_OPS[arn]
            gc = _global_clusters().get(dop.global_id)
            cluster = None
            if gc is not None:
                cluster = next((m for m in gc.members if m.db_cluster_arn == arn), None)
                if cluster is not None:
                    gc.members.remove(cluster)
            if cluster is None:
                try:
                    cluster = _backend(_region_of(arn)).clusters.get(arn.split(":")[-1])
                except KeyError:
                    cluster = None
            if cluster is not None:
                cluster.global_cluster_identifier = None
                cluster.is_writer = True
                cluster.status = "available"


def global_cluster_view(gc: GlobalCluster) -> dict[str, Any]:
    now = STATE.clock.now()
    readers = [m.db_cluster_arn for m in gc.members if not m.is_writer]
    members = []
    for m in gc.members:
        item: dict[str, Any] = {
            "DBClusterArn": m.db_cluster_arn,
            "Readers": readers if m.is_writer else [],
            "IsWriter": bool(m.is_writer),
        }
        if not m.is_writer:
            item["GlobalWriteForwardingStatus"] = "disabled"
            region_down = _region_of(m.db_cluster_arn) in STATE.regions_down
            item["SynchronizationStatus"] = "pending-resync" if region_down else "connected"
        members.append(item)
    view: dict[str, Any] = {
        "GlobalClusterIdentifier": gc.global_cluster_identifier,
        "GlobalClusterResourceId": gc.global_cluster_resource_id,
        "GlobalClusterArn": gc.global_cluster_arn,
        "Status": gc.status,
        "Engine": gc.engine,
        "EngineVersion": gc.engine_version,
        "StorageEncrypted": bool(gc.storage_encrypted),
        "DeletionProtection": bool(gc.deletion_protection),
        "GlobalClusterMembers": members,
        "Endpoint": gc.endpoint,
    }
    op = GLOBAL_OPS.get(gc.global_cluster_identifier.lower())
    if op is not None:
        view["FailoverState"] = {
            "Status": op.phase(now),
            "FromDbClusterArn": op.from_arn,
            "ToDbClusterArn": op.to_arn,
            "IsDataLossAllowed": op.data_loss,
        }
    return view


def _start_op(self: RDSResponse, kind: str, data_loss: bool) -> ActionResult:
    params = self.params
    gc = _find_global(params.get("GlobalClusterIdentifier"))
    target = _find_cluster(params.get("TargetDbClusterIdentifier"), self.region)
    with STATE.lock:
        tick()
        if target not in gc.members:
            raise _err(
                "DBClusterNotFoundFault",
                f"DBCluster {target.db_cluster_arn} is not a member of global cluster "
                f"{gc.global_cluster_identifier}.",
            )
        key = gc.global_cluster_identifier.lower()
        if key in GLOBAL_OPS or gc.status != "available":
            raise _err(
                "InvalidGlobalClusterStateFault",
                f"Global cluster {gc.global_cluster_identifier} is in {gc.status} state; "
                "another operation is in progress.",
            )
        if target.db_cluster_arn in DETACH_OPS:
            raise _err(
                "InvalidDBClusterStateFault",
                f"DB cluster {target.db_cluster_arn} is being removed from the global cluster.",
            )
        if target.is_writer:
            raise _err(
                "InvalidDBClusterStateFault",
                f"DB cluster {target.db_cluster_arn} is already the primary cluster of "
                f"global cluster {gc.global_cluster_identifier}.",
            )
        writer = _writer(gc)
        if writer is None:
            raise _err(
                "InvalidGlobalClusterStateFault",
                f"Global cluster {gc.global_cluster_identifier} has no primary cluster.",
            )
        target_region = _region_of(target.db_cluster_arn)
        if target_region in STATE.regions_down:
            raise _err("InvalidDBClusterStateFault",
                       f"DB cluster {target.db_cluster_arn} is not available.")
        if kind == "switchover":
            down = [
                _region_of(m.db_cluster_arn)
                for m in gc.members
                if _region_of(m.db_cluster_arn) in STATE.regions_down
            ]
            if down:
                raise _err(
                    "InvalidGlobalClusterStateFault",
                    f"Global cluster {gc.global_cluster_identifier} can't be switched over: "
                    f"member clusters in {', '.join(sorted(set(down)))} are unavailable. "
                    "Use FailoverGlobalCluster with AllowDataLoss to fail over.",
                )
        duration = STATE.duration("aurora_failover" if kind == "failover" else "aurora_switchover")
        GLOBAL_OPS[key] = GlobalOp(
            kind=kind,
            global_id=gc.global_cluster_identifier,
            from_arn=writer.db_cluster_arn,
            to_arn=target.db_cluster_arn,
            data_loss=data_loss,
            start=STATE.clock.now(),
            duration=duration,
        )
        gc.status = "failing-over" if kind == "failover" else "switching-over"
        busy = "failing-over" if kind == "failover" else "modifying"
        target.status = busy
        if _region_of(writer.db_cluster_arn) not in STATE.regions_down:
            writer.status = busy
        return ActionResult({"GlobalCluster": global_cluster_view(gc)})


def failover_global_cluster(self: RDSResponse) -> ActionResult:
    allow = _bool(self.params.get("AllowDataLoss"))
    switch = _bool(self.params.get("Switchover"))
    if allow and switch:
        raise _err(
            "InvalidParameterCombination",
            "Specify either AllowDataLoss or Switchover, not both.",
        )
    if allow:
        return _start_op(self, "failover", True)
    # Switchover=true, or neither (the older "managed planned failover"): no data loss.
    return _start_op(self, "switchover", False)


def switchover_global_cluster(self: RDSResponse) -> ActionResult:
    return _start_op(self, "switchover", False)


def remove_from_global_cluster(self: RDSResponse) -> ActionResult:
    params = self.params
    gc = _find_global(params.get("GlobalClusterIdentifier"))
    cluster = _find_cluster(params.get("DbClusterIdentifier"), self.region)
    with STATE.lock:
        tick()
        if cluster not in gc.members:
            raise _err(
                "DBClusterNotFoundFault",
                f"DBCluster {cluster.db_cluster_arn} is not a member of global cluster "
                f"{gc.global_cluster_identifier}.",
            )
        if cluster.db_cluster_arn in DETACH_OPS:
            raise _err("InvalidDBClusterStateFault",
                       f"DB cluster {cluster.db_cluster_arn} is already being removed.")
        op = GLOBAL_OPS.get(gc.global_cluster_identifier.lower())
        if op is not None and cluster.db_cluster_arn in (op.from_arn, op.to_arn):
            raise _err(
                "InvalidGlobalClusterStateFault",
                f"Global cluster {gc.global_cluster_identifier} is {gc.status}.",
            )
        others = [m for m in gc.members if m is not cluster and m.db_cluster_arn not in DETACH_OPS]
        if cluster.is_writer and others:
            raise _err(
                "InvalidGlobalClusterStateFault",
                "The primary cluster can't be removed while the global cluster has "
                "secondary clusters; remove the secondary clusters first.",
            )
        DETACH_OPS[cluster.db_cluster_arn] = DetachOp(
            global_id=gc.global_cluster_identifier,
            cluster_arn=cluster.db_cluster_arn,
            start=STATE.clock.now(),
            duration=STATE.duration("aurora_detach"),
        )
        cluster.status = "promoting"
        return ActionResult({"GlobalCluster": global_cluster_view(gc)})


def describe_global_clusters(self: RDSResponse) -> ActionResult:
    ident = self.params.get("GlobalClusterIdentifier")
    with STATE.lock:
        tick()
        if ident:
            clusters = [_find_global(ident)]
        else:
            clusters = list(_global_clusters().values())
        return ActionResult({"GlobalClusters": [global_cluster_view(g) for g in clusters]})


def describe_operations() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for op in GLOBAL_OPS.values():
        out.append({"type": f"aurora_{op.kind}", "global_cluster": op.global_id,
                    "from": op.from_arn, "to": op.to_arn, "start": op.start,
                    "done_at": op.start + op.duration})
    for dop in DETACH_OPS.values():
        out.append({"type": "aurora_detach", "global_cluster": dop.global_id,
                    "cluster": dop.cluster_arn, "start": dop.start,
                    "done_at": dop.start + dop.duration})
    return out


def install() -> None:
    RDSResponse.failover_global_cluster = failover_global_cluster  # type: ignore[attr-defined]
    RDSResponse.switchover_global_cluster = switchover_global_cluster  # type: ignore[attr-defined]
    RDSResponse.remove_from_global_cluster = remove_from_global_cluster  # type: ignore[assignment]
    RDSResponse.describe_global_clusters = describe_global_clusters  # type: ignore[assignment]
