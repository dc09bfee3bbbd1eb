"""Cut PagerDuty's official OpenAPI document down to what pmdraft and its stand-in use.

Usage (refresh from a newer official document, then commit the result):

    python scripts/vendor_openapi.py path/to/openapiv3.json \\
        tests/data/pagerduty-openapi/openapiv3-subset.json

The official document is PagerDuty/api-schema, ``reference/REST/openapiv3.json``. The subset
keeps the ``info`` block, the listed paths (every method of each), and every component those
paths reference, followed transitively, so it validates exactly as the whole document does for
those paths. Everything else is dropped: the whole document is 2.7 MB, the subset a fraction.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PATHS = (
    "/incidents",
    "/incidents/{id}",
    "/incidents/{id}/log_entries",
    "/incidents/{id}/notes",
    "/incidents/{id}/alerts",
    "/log_entries",
    "/log_entries/{id}",
    "/change_events",
    "/services",
    "/users/me",
    "/abilities",
)
"""The REST paths pmdraft calls, serves in its stand-in, or may call through doctor."""


def _refs(node: Any) -> set[str]:
    """Every ``$ref`` string under ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local ``#/components/...`` reference points at."""
    if not ref.startswith("#/"):
        raise SystemExit(f"only local references are supported, got {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _component(ref: str) -> str:
    """The top-level component a reference lies in: ``#/components/schemas/X/...`` ->
    ``#/components/schemas/X``."""
    return "/".join(ref.split("/")[:4])


def subset(document: dict[str, Any], paths: tuple[str, ...] = PATHS) -> dict[str, Any]:
    """The document holding only ``paths`` and the components they reach."""
    missing = [p for p in paths if p not in document["paths"]]
    if missing:
        raise SystemExit(f"the document has no path {missing[0]!r}; update PATHS")
    kept_paths = {p: document["paths"][p] for p in paths}
    todo, seen = {_component(r) for r in _refs(kept_paths)}, set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        todo |= {_component(r) for r in _refs(_resolve(document, ref))} - seen
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(seen):
        _, _, section, name = ref.split("/", 3)
        components.setdefault(section, {})[name] = document["components"][section][name]
    if "securitySchemes" in document.get("components", {}):
        components["securitySchemes"] = document["components"]["securitySchemes"]
    out = {
        key: document[key] for key in ("openapi", "info", "servers", "security") if key in document
    }
    out["paths"] = kept_paths
    out["components"] = components
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    document = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    text = json.dumps(subset(document), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    Path(argv[2]).write_text(text, encoding="utf-8")
    print(f"{argv[2]}: {len(PATHS)} paths, {len(text):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
