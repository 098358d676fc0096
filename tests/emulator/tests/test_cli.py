from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

EMULATOR_DIR = Path(__file__).resolve().parents[1]


def _start(*extra: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "drover_emulator", "serve", "--port", "0", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(EMULATOR_DIR))
    line = proc.stdout.readline().decode()
    ready = json.loads(line)
    assert set(ready) == {"endpoint", "pid"}
    assert ready["endpoint"].startswith("http://127.0.0.1:") and ready["pid"] == proc.pid
    return proc, ready


def test_ready_line_speed_and_exit_on_stdin_eof():
    proc, ready = _start("--speed", "30")
    with urllib.request.urlopen(f"{ready['endpoint']}/_drover/clock") as r:
        assert json.loads(r.read())["speed"] == 30
    t0 = time.monotonic()
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    print(f"\nexit after stdin EOF: {time.monotonic() - t0:.2f}s")


def test_sigterm_and_no_stdin_watch():
    proc, ready = _start("--no-stdin-watch")
    proc.stdin.close()
    time.sleep(0.8)
    assert proc.poll() is None  # still serving without stdin
    urllib.request.urlopen(f"{ready['endpoint']}/_drover/health").read()
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
