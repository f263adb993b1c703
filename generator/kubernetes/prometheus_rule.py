"""PrometheusRule resources (monitoring.coreos.com/v1): the rule files Prometheus loads.

Each rule file becomes one PrometheusRule whose `spec` is that file's content, as
parsed from the very text written to alert_rules/, so extracting `spec` gives the
plain file back (tests/kubernetes/ checks it with promtool). A file too large for one
resource (see resources.MAX_DATA_BYTES) is split between resources at group bounds;
a single group over the limit is refused, since the operator cannot split it either.
"""

from __future__ import annotations

import posixpath
from typing import Any

from generator import inputs, output, prometheus_config
from generator.kubernetes import resources
from generator.model import Spec

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PrometheusRule"


def loaded_rule_files(files: dict[str, str]) -> list[str]:
    """The rendered files Prometheus's `rule_files` globs load, in order."""
    return sorted(path for path in files
                  if any(output.glob_match(path, glob) for glob in prometheus_config.rule_globs()))


def split_groups(groups: list[dict[str, Any]], what: str,
                 limit: int = resources.MAX_DATA_BYTES) -> list[list[dict[str, Any]]]:
    """Groups packed in order into parts whose YAML stays within `limit` bytes."""
    parts: list[list[dict[str, Any]]] = [[]]
    size = 0
    for group in groups:
        group_size = len(output.dump_yaml([group]).encode())
        resources.check_size(f"{what}: rule group {group.get('name')!r}", group_size, limit)
        if parts[-1] and size + group_size > limit:
            parts.append([])
            size = 0
        parts[-1].append(group)
        size += group_size
    return parts


def outputs(spec: Spec, files: dict[str, str]) -> dict[str, str]:
    result = {}
    for path in loaded_rule_files(files):
        groups = (inputs.load_yaml(files[path]) or {}).get("groups") or []
        stem = posixpath.basename(path).split(".", 1)[0]
        parts = split_groups(groups, path)
        for index, part in enumerate(parts):
            suffix = [str(index + 1)] if len(parts) > 1 else []
            rule_name = resources.name(stem, "rules", *suffix)
            body = resources.resource(spec, API_VERSION, KIND, rule_name, {"spec": {"groups": part}})
            result[f"{resources.OUT_DIR}/prometheusrule-{rule_name}.yaml"] = resources.render(
                spec, body, f"The rules of {path}" + (f", part {index + 1} of {len(parts)}"
                                                       if suffix else "") + ".")
    return result
