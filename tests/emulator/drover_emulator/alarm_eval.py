"""CloudWatch metric alarms that evaluate, which moto's never do.

Each PutMetricData call that carries datapoints for an alarm's metric (same namespace,
name and dimensions) counts as one evaluation period: its values are reduced with the
alarm's statistic to one datapoint. The alarm goes to ALARM when at least
DatapointsToAlarm (default EvaluationPeriods) of the last EvaluationPeriods datapoints
breach the threshold, and to OK otherwise. The caller paces the periods: a probe that
publishes once per modeled minute drives a 60-second alarm at the real pace.

Every state change, whether evaluated here or set through the control API, is kept
with its modeled time (`GET /_drover/alarm-transitions`)."""

from __future__ import annotations

from collections import deque
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend

from .state import STATE

HISTORY: dict[tuple[str, str], deque[float]] = {}
TRANSITIONS: list[dict[str, Any]] = []

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def reset() -> None:
    HISTORY.clear()
    TRANSITIONS.clear()


def _reduce(statistic: str | None, values: list[float]) -> float:
    if statistic == "Sum":
        return sum(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "SampleCount":
        return float(len(values))
    return sum(values) / len(values)


def _values(member: dict[str, Any]) -> list[float]:
    if member.get("Values"):
        counts = member.get("Counts") or [1] * len(member["Values"])
        return [float(v) for v, c in zip(member["Values"], counts) for _ in range(int(float(c)))]
    if member.get("Value") is not None:
        return [float(member["Value"])]
    stats = member.get("StatisticValues")
    if stats:
        return [float(stats["Sum"]) / max(float(stats["SampleCount"]), 1.0)]
    return []


def _dims(dimensions: Any) -> frozenset[tuple[str, str]]:
    out = set()
    for d in dimensions or []:
        if isinstance(d, dict):
            out.add((str(d.get("Name")), str(d.get("Value"))))
        else:  # moto's Dimension objects
            out.add((str(d.name), str(d.value)))
    return frozenset(out)


def _evaluate(backend: CloudWatchBackend, namespace: str, member: dict[str, Any]) -> None:
    values = _values(member)
    if not values:
        return
    dims = _dims(member.get("Dimensions"))
    for alarm in list(backend.alarms.values()):
        if alarm.metric_data_queries or alarm.namespace != namespace:
            continue
        if alarm.metric_name != member.get("MetricName") or _dims(alarm.dimensions) != dims:
            continue
        compare = _COMPARE.get(alarm.comparison_operator)
        if compare is None:
            continue
        periods = max(int(alarm.evaluation_periods or 1), 1)
        history = HISTORY.setdefault((backend.region_name, alarm.name), deque(maxlen=periods))
        history.append(_reduce(alarm.statistic, values))
        needed = int(alarm.datapoints_to_alarm or periods)
        breaching = sum(1 for v in history if compare(v, alarm.threshold))
        state = "ALARM" if breaching >= needed else "OK"
        if state != alarm.state_value:
            shown = ", ".join(f"{v:g}" for v in history)
            verb = "breached" if state == "ALARM" else "did not breach"
            reason = (f"Threshold Crossed: {breaching} out of the last {len(history)} datapoints "
                      f"[{shown}] {verb} the threshold ({alarm.threshold:g}).")
            backend.set_alarm_state(alarm.name, reason, None, state)


def install() -> None:
    original_put = CloudWatchBackend.put_metric_data
    original_set = CloudWatchBackend.set_alarm_state

    def put_metric_data(self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        original_put(self, namespace, metric_data)
        with STATE.lock:
            for member in metric_data:
                _evaluate(self, namespace, member)

    def set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str | None,
                        state_value: str) -> None:
        before = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
        original_set(self, alarm_name, reason, reason_data, state_value)
        if before != state_value:
            TRANSITIONS.append({
                "region": self.region_name,
                "alarm_name": alarm_name,
                "from": before,
                "to": state_value,
                "reason": reason,
                "modeled_time": STATE.clock.now(),
            })

    CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]
