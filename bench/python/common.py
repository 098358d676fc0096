"""Shared bits of the baseline handlers: the topology from the environment, parsed once per
cold start, as the samples do with their configuration."""
import json
import os

TOPOLOGY = json.loads(os.environ["DROVER_TOPOLOGY"])
REGION = os.environ["DROVER_REGION_SELF"]


def region_config(name):
    for r in TOPOLOGY["regions"]:
        if r["name"] == name:
            return r
    raise ValueError(f"region {name} is not in the topology")


def peer_of(name):
    for r in TOPOLOGY["regions"]:
        if r["name"] != name:
            return r
    raise ValueError(f"no peer of {name}")
