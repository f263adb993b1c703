"""Label names a spec's `selectors` may not use, read off the generated outputs.

A selector is added as a matcher to every query and as a target label to every
scraped series. A selector named like a label the generated rules match on or set
themselves (`job`, `severity`, `signal`, `le`, ...) yields `job="vigil-host",job="x"`
or rewrites the label the routing relies on, so no alert can ever fire or route. The
set is not written out by hand: it is collected from the rules generated for the
same spec without selectors (their `labels:` and every label name their PromQL
reads), the labels the exporters put on their series (as the test fixtures write
them), the labels Alertmanager groups by, and the labels Prometheus attaches itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from generator import alertmanager, prometheus_config, promql, rules
from generator.model import Spec
from generator.rules.fixtures import FIXTURES, STANDARD, Context


def reserved(spec: Spec, only: Collection[str] | None = None) -> dict[str, str]:
    """{label name: why a selector may not use it}, for this spec's signals and SLOs.

    `only` limits the answer to those names (None: all), so that a rule's PromQL is
    parsed only when one of them occurs in its text: parsing every expression of a
    spec with thousands of signals took most of this check's time.
    """
    found: dict[str, str] = {}
    wanted = None if only is None else tuple(only)

    def add(names: object, why: str) -> None:
        for name in names:  # type: ignore[attr-defined]
            found.setdefault(name, why)

    add(prometheus_config.TARGET_LABELS, "Prometheus attaches it to every scraped series")
    bare = replace(spec, selectors={})
    for group in rules.rule_groups(bare):
        for rule in group["rules"]:
            add(rule.get("labels", {}), "the generated rules set it")
            if wanted is None or any(name in rule["expr"] for name in wanted):
                add(promql.label_names(rule["expr"]), "the generated rules' queries read or write it")
    for build, extra in (*FIXTURES.values(), *STANDARD.values()):
        add(extra, "an exporter sets it on its series")
        for _, labels, _ in build(Context(1.0, 1, 0.0, 300.0)):
            add(labels, "an exporter sets it on its series")
    add(alertmanager.GROUP_BY, "Alertmanager groups alerts by it")
    return found


def selector_problems(spec: Spec) -> dict[str, str]:
    """{selector label: why it cannot be one} for every selector of `spec` that is reserved."""
    if not spec.selectors:
        return {}
    taken = reserved(spec, spec.selectors)
    result = {}
    for label in spec.selectors:
        if label.startswith("__"):
            result[label] = "label names starting with __ are reserved by Prometheus"
        elif label in taken:
            result[label] = f"{label!r} is a reserved label: {taken[label]}"
    return result
