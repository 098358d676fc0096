#!/usr/bin/env python3
"""Extract the hashicorp/aws provider schema from the cdktn-provider-aws wheel.

The wheel (PyPI `cdktn-provider-aws`) is generated from the real provider schema. Its
`_jsii/*.jsii.tgz` holds one generated `lib/<resource>/index.js` per resource and data
source. Each file describes, per object (the resource itself and every nested block):

* `synthesizeHclAttributes()` / `<struct>ToHclTerraform()`: the configurable attributes
  and blocks with their Terraform names, collection kind and element type;
* the matching class (`<Struct>OutputReference` or the resource class): a `reset<X>()`
  method marks an optional argument, a getter without a setter marks a computed-only
  attribute, whose type follows from the getter (`getStringAttribute`, a nested list
  class, ...).

The output is a compact JSON that tools/tf-standin serves over the plugin protocol:

  {"provider_version": "...", "provider": BLOCK, "resources": {type: BLOCK},
   "data_sources": {type: BLOCK}}
  BLOCK = {"attributes": {name: {"type": CTY, "mode": MODE}},
           "blocks": {name: {"nesting": NESTING, "block": BLOCK}}}
  MODE = required | optional | optional_computed | computed
  NESTING = list | optional   (optional = list with at most one item; set-typed blocks
            are served as lists, which Terraform needs for dynamic set members)
  CTY = Terraform's JSON type encoding ("string", ["list", "string"], ...)

Known approximations (the stand-in does no provider-side validation anyway):
* optional and optional+computed cannot be told apart in the generated code; `id`, `name`,
  `arn` and `tags_all` are served as optional+computed, every other optional as optional.
* required blocks are served with min_items 0 (tf-provider has no "list of exactly one").

Usage: extract_schema.py WHEEL_OR_DIR OUTPUT.json
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

OPTIONAL_COMPUTED = {"id", "name", "arn", "tags_all"}

RE_FUNC = re.compile(r"^function (\w+)\(struct\) \{\n(.*?)^\}", re.M | re.S)
RE_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{\n(.*?)^\}", re.M | re.S)
RE_ATTR = re.compile(
    r"(\w+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*"
    r'type: "(\w+)",\s*storageClassType: "(\w+)",\s*\}',
    re.S,
)
RE_GETTER = re.compile(r"^    get (\w+)\(\) \{\n(.*?)^    \}", re.M | re.S)
RE_FIELD_NEW = re.compile(
    r"^    _(\w+) = new ([\w.]+)\(this, \"(\w+)\"(?:, (true|false))?\);", re.M
)
RE_TFTYPE = re.compile(r'static tfResourceType = "(\w+)";')

PRIMITIVE = {"string": "string", "number": "number", "boolean": "bool", "any": "dynamic"}
GETTER_TYPES = {
    "getStringAttribute": "string",
    "getNumberAttribute": "number",
    "getBooleanAttribute": "bool",
    "getListAttribute": ["list", "string"],
    "getNumberListAttribute": ["list", "number"],
    "getStringMapAttribute": ["map", "string"],
    "getNumberMapAttribute": ["map", "number"],
    "getBooleanMapAttribute": ["map", "bool"],
    "interpolationForAttribute": "dynamic",
}
CDKTN_MAPS = {
    "cdktn.StringMap": ["map", "string"],
    "cdktn.NumberMap": ["map", "number"],
    "cdktn.BooleanMap": ["map", "bool"],
    "cdktn.AnyMap": ["map", "dynamic"],
}


def lcfirst(s: str) -> str:
    return s[:1].lower() + s[1:]


def ucfirst(s: str) -> str:
    return s[:1].upper() + s[1:]


def storage_type(kind: str, storage: str):
    """Type of a configurable (non-block) attribute."""
    if kind == "simple":
        return PRIMITIVE.get(storage, "dynamic")
    m = re.fullmatch(r"(string|number|boolean|any)(List|Map)?(List|Map)?", storage)
    if not m:
        return "dynamic"
    elem = PRIMITIVE[m.group(1)]
    if m.group(3):  # e.g. stringListList / stringMapList: inner collection
        elem = ["list" if m.group(2) == "List" else "map", elem]
    if kind in ("list", "set", "map"):
        return [kind, elem]
    return "dynamic"


class Module:
    """One generated index.js."""

    def __init__(self, text: str):
        self.funcs = {m.group(1): m.group(2) for m in RE_FUNC.finditer(text)}
        self.classes = {m.group(1): m.group(3) for m in RE_CLASS.finditer(text)}
        self.bases = {m.group(1): m.group(2) for m in RE_CLASS.finditer(text)}

    def getters(self, cls_body: str):
        """camel name -> (snake name or None, getter body)."""
        out = {}
        for m in RE_GETTER.finditer(cls_body):
            out[m.group(1)] = m.group(2)
        return out

    def computed_type(self, cls: str, depth: int = 0):
        """Object type made of every attribute a (computed) nested class exposes."""
        body = self.classes.get(cls)
        if body is None or depth > 8:
            return "dynamic"
        fields = {m.group(1): m for m in RE_FIELD_NEW.finditer(body)}
        attrs = {}
        for camel, gbody in self.getters(body).items():
            if camel in ("internalValue", "fqn") or camel.endswith("Input"):
                continue
            t = self.getter_type(body, camel, gbody, fields, depth)
            if t is not None:
                attrs[t[0]] = t[1]
        return ["object", attrs] if attrs else "dynamic"

    def getter_type(self, body, camel, gbody, fields, depth):
        m = re.search(r"this\.(\w+)\('(\w+)'\)", gbody)
        if m and m.group(1) in GETTER_TYPES:
            t = GETTER_TYPES[m.group(1)]
            if m.group(1) == "getListAttribute" and "Fn.tolist" in gbody:
                t = ["set", "string"]
            return m.group(2), t
        m = re.search(r"return this\._(\w+);", gbody)
        if m and m.group(1) in fields:
            f = fields[m.group(1)]
            cls, snake, wraps_set = f.group(2), f.group(3), f.group(4)
            if cls in CDKTN_MAPS:
                return snake, CDKTN_MAPS[cls]
            if cls.endswith("List"):
                item = cls[: -len("List")] + "OutputReference"
                kind = "set" if wraps_set == "true" else "list"
                return snake, [kind, self.computed_type(item, depth + 1)]
            if cls.endswith("OutputReference"):
                return snake, ["list", self.computed_type(cls, depth + 1)]
            if cls.endswith("Map"):
                item = cls[: -len("Map")] + "OutputReference"
                return snake, ["map", self.computed_type(item, depth + 1)]
        return None

    def block(self, hcl_body: str, cls: str | None, depth: int = 0) -> dict:
        body = self.classes.get(cls or "", "")
        getters = self.getters(body)
        fields = {m.group(1): m for m in RE_FIELD_NEW.finditer(body)}
        # snake name -> camel getter name, to find reset/set methods
        snake_to_camel = {}
        for camel, gbody in getters.items():
            m = re.search(r"this\.\w+\('(\w+)'\)", gbody)
            if m:
                snake_to_camel.setdefault(m.group(1), camel)
                continue
            m = re.search(r"return this\._(\w+);", gbody)
            if m and m.group(1) in fields:
                snake_to_camel.setdefault(fields[m.group(1)].group(3), camel)

        def optional(snake: str) -> bool:
            camel = snake_to_camel.get(snake)
            if camel is None or not body:
                return True
            return f"    reset{ucfirst(camel)}() {{" in body

        attrs, blocks = {}, {}
        for m in RE_ATTR.finditer(hcl_body):
            name, value, is_block, kind, storage = m.groups()
            if is_block == "false":
                opt = optional(name)
                mode = "required"
                if opt:
                    mode = "optional_computed" if name in OPTIONAL_COMPUTED else "optional"
                attrs[name] = {"type": storage_type(kind, storage), "mode": mode}
                continue
            struct = re.match(r"(?:cdktn\.listMapperHcl\()?(\w+)ToHclTerraform", value)
            if not struct or depth > 12:
                continue
            sname = ucfirst(struct.group(1))
            inner = self.funcs.get(lcfirst(sname) + "ToHclTerraform", "")
            sub = self.block(inner, sname + "OutputReference", depth + 1)
            multi = value.startswith("cdktn.listMapperHcl(")
            if kind == "map":
                nesting = "map"
            elif multi:
                nesting = "list"  # set-typed blocks are served as lists (dynamic members)
            else:
                # SDKv2 models a one-item block as a list of at most one (so `x[0].y`
                # works); tf-provider cannot say "list of exactly one", so a required
                # one is served as optional too and the JSON keeps "required" for reference.
                nesting = "optional"
            blocks[name] = {"nesting": nesting, "block": sub}
            if not optional(name):
                blocks[name]["required"] = True

        # computed-only attributes: getters without a setter
        for camel, gbody in getters.items():
            if camel in ("internalValue", "fqn") or camel.endswith("Input"):
                continue
            if f"    set {camel}(value) {{" in body:
                continue
            t = self.getter_type(body, camel, gbody, fields, depth)
            if t is None:
                continue
            snake, ty = t
            if snake in attrs or snake in blocks:
                continue
            attrs[snake] = {"type": ty, "mode": "computed"}
        return {"attributes": attrs, "blocks": blocks}

    def top(self):
        for cls, body in self.classes.items():
            m = RE_TFTYPE.search(body)
            if not m:
                continue
            syn = re.search(
                r"synthesizeHclAttributes\(\) \{\n(.*?)^    \}", body, re.M | re.S
            )
            block = self.block(syn.group(1) if syn else "", cls)
            return m.group(1), self.bases[cls], block
        return None


def open_package(src: Path) -> tarfile.TarFile:
    if src.suffix == ".whl":
        zf = zipfile.ZipFile(src)
        name = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        return tarfile.open(fileobj=io.BytesIO(zf.read(name)), mode="r:gz")
    return tarfile.open(next(src.rglob("*.jsii.tgz")), mode="r:gz")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    resources, data_sources, provider, version = {}, {}, None, None
    with open_package(src) as tf:
        for member in tf:
            if not (member.isfile() and member.name.endswith("/index.js")):
                continue
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "lib":
                continue
            text = tf.extractfile(member).read().decode("utf-8")
            if "static tfResourceType" not in text:
                continue
            found = Module(text).top()
            if not found:
                continue
            tf_type, base, block = found
            if base.endswith("TerraformProvider"):
                provider = block
                m = re.search(r"providerVersion: '([\d.]+)'", text)
                version = m.group(1) if m else None
            elif base.endswith("TerraformDataSource"):
                data_sources[tf_type] = block
            else:
                resources[tf_type] = block
    if provider is None or not resources:
        print("extract_schema: provider or resources not found", file=sys.stderr)
        return 1
    doc = {
        "provider_version": version,
        "provider": provider,
        "resources": dict(sorted(resources.items())),
        "data_sources": dict(sorted(data_sources.items())),
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")))
    tmp.replace(out)
    print(
        f"extract_schema: provider {version}: {len(resources)} resources, "
        f"{len(data_sources)} data sources -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
