"""Zip sizes of the Python baseline, the way `zip -r function.zip .` would package it.

`python package.py OUTDIR MODULE...` prints JSON: each handler zipped alone (boto3 comes
with Lambda's python3.11 runtime) and the extra size of vendoring boto3 and its
dependencies from this interpreter's site-packages (what a function that pins its SDK ships).
"""
import importlib.util
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
VENDORED = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"]


def zip_paths(out, paths):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for base, path in paths:
            if os.path.isfile(path):
                z.write(path, os.path.relpath(path, base))
                continue
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for f in files:
                    full = os.path.join(root, f)
                    z.write(full, os.path.relpath(full, base))
    return os.path.getsize(out)


def main():
    out_dir, modules = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    handler = {m: zip_paths(os.path.join(out_dir, f"{m}.zip"), [(HERE, os.path.join(HERE, f"{m}.py")),
                                                              (HERE, os.path.join(HERE, "common.py"))])
               for m in modules}
    paths = []
    for name in VENDORED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        base = os.path.dirname(spec.origin)
        if os.path.basename(spec.origin) == "__init__.py":
            paths.append((os.path.dirname(base), base))
        else:
            paths.append((base, spec.origin))
    vendored = zip_paths(os.path.join(out_dir, "boto3-vendored.zip"), paths)
    import boto3
    print(json.dumps({"handler_zip_bytes": handler, "boto3_vendored_zip_bytes": vendored,
                      "boto3_version": boto3.__version__, "vendored_packages": VENDORED,
                      "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
