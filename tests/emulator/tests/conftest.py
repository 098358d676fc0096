"""Starts `python -m drover_emulator serve` once per session on a free port and
resets it before every test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

EMULATOR_DIR = Path(__file__).resolve().parents[1]
if str(EMULATOR_DIR) not in sys.path:
    sys.path.insert(0, str(EMULATOR_DIR))  # so tests can import drover_emulator

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)


class Emulator:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.endpoint}/_drover/{path.lstrip('/')}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def client(self, service: str, region: str = "us-east-1", retries: int = 1,
               **kw: Any) -> Any:
        cfg = Config(retries={"total_max_attempts": retries, "mode": "standard"},
                     connect_timeout=5, read_timeout=10)
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=cfg, **kw)


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[Emulator]:
    env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
    proc = subprocess.Popen(
        [sys.executable, "-m", "drover_emulator", "serve", "--port", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(EMULATOR_DIR),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready = json.loads(line)
    assert ready["pid"] == proc.pid
    try:
        yield Emulator(ready["endpoint"])
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # EOF on stdin stops the emulator
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def emu(emulator_process: Emulator) -> Emulator:
    emulator_process.control("POST", "reset")
    return emulator_process
