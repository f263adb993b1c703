"""Rule files for Mimir's ruler: one namespace per spec (`vigil generate --mimir-namespaces`).

`mimirtool rules load FILE...` reads the namespace from each file's `namespace:` key
beside `groups:`, a key Prometheus's own loader refuses, so these are separate files
(`deploy/mimir/<spec name>.yml`) made from the very text of the spec's rule file: the
groups are the same bytes Prometheus, promtool and vmalert load. Thanos's ruler and
Cortex-style rulers that take plain Prometheus rule files use `alert_rules/` as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from generator import output

MIMIR_DIR = "deploy/mimir"
GROUPS = "groups:\n"


def mimir_namespaces(files: Mapping[str, str], rule_files: Mapping[str, str]) -> dict[str, str]:
    """`{deploy/mimir/<namespace>.yml: text}` for each `{namespace: rule file path}`."""
    result = {}
    for namespace, path in sorted(rule_files.items()):
        text = files[path]
        start = text.index(GROUPS)  # after the generated header, which is kept
        result[f"{MIMIR_DIR}/{namespace}.yml"] = (
            text[:start] + output.dump_yaml({"namespace": namespace}) + text[start:])
    return result
