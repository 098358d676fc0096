"""Process-wide drover state layered on moto: modeled clock, durations, faults,
regions that are down, health-check overrides and the call log.

Everything here is guarded by one re-entrant lock because werkzeug serves each
request on its own thread.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DURATIONS: dict[str, float] = {
    # AWS documents a typical managed failover / switchover of an Aurora global
    # database at about a minute; detaching a secondary takes less.
    "aurora_failover": 60.0,
    "aurora_switchover": 60.0,
    "aurora_detach": 30.0,
    # Fargate task from PROVISIONING to RUNNING.
    "ecs_task_start": 60.0,
    # Route 53 change from PENDING to INSYNC on all authoritative servers.
    "route53_propagation": 60.0,
}

FAULT_KINDS = ("throttle", "error5xx", "latency", "drop")


class Clock:
    """Modeled time = anchor + real elapsed * speed, continuous across speed changes."""

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self.reset(speed)

    def reset(self, speed: float | None = None) -> None:
        with self._lock:
            if speed is not None:
                self._speed = float(speed)
            self._anchor_real = time.monotonic()
            self._anchor_modeled = time.time()
            self._history: list[tuple[float, float, float]] = []
            self._record()

    def _record(self) -> None:
        """Keeps (wall-clock epoch, modeled, speed) at every anchor change (lock held), so a
        wall-clock timestamp taken by another process can be placed on the modeled clock."""
        wall = time.time() - (time.monotonic() - self._anchor_real)
        self._history.append((wall, self._anchor_modeled, self._speed))

    def modeled_at(self, wall_epoch: float) -> float:
        """Modeled time at a wall-clock epoch (seconds), using the anchors in force then."""
        with self._lock:
            anchor = self._history[0]
            for h in self._history:
                if h[0] <= wall_epoch:
                    anchor = h
                else:
                    break
            return anchor[1] + (wall_epoch - anchor[0]) * anchor[2]

    def now(self) -> float:
        with self._lock:
            return self._anchor_modeled + (time.monotonic() - self._anchor_real) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        with self._lock:
            real = time.monotonic()
            self._anchor_modeled += (real - self._anchor_real) * self._speed
            self._anchor_real = real
            self._speed = float(speed)
            self._record()

    def advance_to(self, modeled: float) -> float:
        """Moves modeled time forward to `modeled` if it is behind (never back); returns now.
        Concurrent waiters (parallel branches) each ask for their own target: the clock ends
        at the latest, as if they had waited side by side."""
        with self._lock:
            real = time.monotonic()
            now = self._anchor_modeled + (real - self._anchor_real) * self._speed
            if modeled > now:
                self._anchor_modeled = modeled
                self._anchor_real = real
                self._record()
                now = modeled
            return now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("advance must be >= 0 (modeled time never goes back)")
        with self._lock:
            real = time.monotonic()
            self._anchor_modeled += (real - self._anchor_real) * self._speed + float(seconds)
            self._anchor_real = real
            self._record()


@dataclass
class Fault:
    id: str
    service: str
    region: str
    action: str
    kind: str
    latency_ms: int = 0
    count: int | None = None
    status: int | None = None
    code: str | None = None
    hits: int = 0

    def matches(self, service: str, region: str, action: str) -> bool:
        return (
            (self.service == "*" or self.service == service)
            and (self.region == "*" or self.region == region)
            and (self.action == "*" or self.action == action)
            and (self.count is None or self.count > 0)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "region": self.region,
            "action": self.action,
            "kind": self.kind,
            "latency_ms": self.latency_ms,
            "count": self.count,
            "status": self.status,
            "code": self.code,
            "hits": self.hits,
        }


@dataclass
class DroverState:
    clock: Clock = field(default_factory=Clock)
    durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))
    faults: list[Fault] = field(default_factory=list)
    regions_down: dict[str, str] = field(default_factory=dict)  # region -> mode
    health_checks: dict[str, str] = field(default_factory=dict)  # id -> healthy|unhealthy
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    initial_speed: float = 1.0
    _seq: Any = field(default_factory=itertools.count)

    def reset(self) -> None:
        with self.lock:
            self.clock.reset(self.initial_speed)
            self.durations = dict(DEFAULT_DURATIONS)
            self.faults.clear()
            self.regions_down.clear()
            self.health_checks.clear()
            self.calls.clear()

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError("count must be a non-negative integer or null")
        status = spec.get("status")
        if status is not None and status not in (500, 502, 503, 504):
            raise ValueError("status must be 500, 502, 503 or 504")
        fault = Fault(
            id=f"fault-{uuid.uuid4().hex[:12]}",
            service=str(spec.get("service", "*")),
            region=str(spec.get("region", "*")),
            action=str(spec.get("action", "*")),
            kind=kind,
            latency_ms=int(spec.get("latency_ms") or (500 if kind == "latency" else 0)),
            count=count,
            status=status,
            code=str(spec["code"]) if spec.get("code") else None,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_faults(self, service: str, region: str, action: str) -> list[Fault]:
        """The faults that apply to this call, consuming one use of each."""
        # Every matching latency fault applies (delays add up); of the faults that
        # replace the response only the oldest matching one applies and is used up.
        taken = []
        terminal_taken = False
        with self.lock:
            for fault in self.faults:
                if not fault.matches(service, region, action):
                    continue
                if fault.kind != "latency":
                    if terminal_taken:
                        continue
                    terminal_taken = True
                if fault.count is not None:
                    fault.count -= 1
                fault.hits += 1
                taken.append(fault)
        return taken

    def duration(self, name: str) -> float:
        with self.lock:
            return float(self.durations[name])


STATE = DroverState()
