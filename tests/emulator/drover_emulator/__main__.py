"""python -m drover_emulator serve|seed"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading


def _serve(args: argparse.Namespace) -> int:
    # Static test credentials for anything in-process that signs (moto itself).
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from .server import EmulatorServer

    server = EmulatorServer(args.host, args.port, args.speed).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if not args.no_stdin_watch:
        # When the parent (a test harness) dies, our stdin pipe reaches EOF: exit
        # with it so no emulator is left orphaned.
        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    sys.stdout.write(json.dumps({"endpoint": server.endpoint, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


def _seed(args: argparse.Namespace) -> int:
    from .seed import seed_full

    topology, extras = seed_full(args.endpoint, primary=args.primary, standby=args.standby,
                                 app=args.app)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(topology, f, indent=2)
        f.write("\n")
    sys.stdout.write(json.dumps({"out": args.out, "ids": extras}) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m drover_emulator")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the emulator until SIGTERM/SIGINT/stdin EOF")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0 = a free port")
    s.add_argument("--speed", type=float, default=1.0, help="modeled seconds per real second")
    s.add_argument("--no-stdin-watch", action="store_true",
                   help="keep running when stdin reaches EOF")
    s.set_defaults(fn=_serve)
    d = sub.add_parser("seed", help="create the two-region topology and write its config")
    d.add_argument("--endpoint", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--primary", default="us-east-1")
    d.add_argument("--standby", default="us-west-2")
    d.add_argument("--app", default="shop")
    d.set_defaults(fn=_seed)
    args = p.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
