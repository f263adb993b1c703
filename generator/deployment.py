"""Several specs (services, environments) generated into one deployment.

`vigil generate a.yaml b.yaml --out build/all` writes what one Prometheus, one
Alertmanager and one Grafana need for all of them:

- `alert_rules/<spec name>/`: each spec's rules, promtool tests and runbooks, as a
  single spec would have them at `alert_rules/` (its own namespace: the layout that
  Mimir's and Thanos's rulers load per tenant or namespace);
- `deploy/prometheus/prometheus.yml`: every spec's scrape jobs, a shared job name
  merged into one job with a target group per spec (generator/prometheus_config.py),
  and `rule_files: ../../alert_rules/*/*.rules.yml`;
- `deploy/alertmanager/alertmanager.yml`: each spec's routing tree under a route
  matching its selector labels (generator/alertmanager.py);
- `dashboards/<set>/`: one set of dashboards for every group of specs whose
  dashboards differ only in their selector values (the dashboards take those as
  variables), named after the group's first spec; the other specs' alerts link to
  that set with their own values (`var-service=payments`).

Specs must be told apart by their selector labels, since that is all that keeps one
spec's rules from reading another's series: for every two specs some label must be
in both selectors with different values (`service: checkout` / `service: payments`).
`{environment: production}` and `{environment: production, service: b}` overlap (the
first one's rules would read the second's series) and are refused, as are two specs
of one `name` (rule groups and dashboard uids are prefixed with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from generator import alertmanager, prometheus_config, rules
from generator.loader import SpecError
from generator.model import Spec
from generator.schema_dsl import Problem

RULES_DIR = "alert_rules"


def spec_dir(spec: Spec) -> str:
    """Where one spec's rule files go in a combined deployment."""
    return f"{RULES_DIR}/{spec.name}"


def check_separable(specs: Sequence[Spec]) -> None:
    """Raise SpecError (on the later spec's file) for two specs that cannot be told apart."""
    for index, spec in enumerate(specs):
        for earlier in specs[:index]:
            if spec.name == earlier.name:
                raise SpecError(spec.source, [Problem("name", (
                    f"{spec.name!r} is also the name of {earlier.source}; each spec of a "
                    "deployment needs its own (rule groups and dashboards are named after it)"))])
            if not any(label in earlier.selectors and earlier.selectors[label] != value
                       for label, value in spec.selectors.items()):
                raise SpecError(spec.source, [Problem("selectors", (
                    f"{dict(spec.selectors)} cannot be told apart from {earlier.source}'s "
                    f"{dict(earlier.selectors)}: give both specs a selector label with a value "
                    "of its own (e.g. `service: <name>`), or one spec's rules read the "
                    "other's series"))])


def _neutral(spec: Spec, leader: Spec) -> Spec:
    """`spec` under the leader's name and selector values: what shared dashboards draw."""
    return replace(spec, name=leader.name, source=leader.source,
                   selectors={k: leader.selectors.get(k, v) for k, v in spec.selectors.items()})


def dashboard_sets(specs: Sequence[Spec]) -> dict[str, list[Spec]]:
    """Specs grouped by the dashboards they can share, keyed by the first one's name."""
    from generator import dashboards

    sets: dict[str, tuple[dict[str, Any], list[Spec]]] = {}
    for spec in specs:
        for drawn, members in sets.values():
            leader = members[0]
            if (set(spec.selectors) == set(leader.selectors)
                    and dashboards.dashboards(_neutral(spec, leader)) == drawn):
                members.append(spec)
                break
        else:
            sets[spec.name] = (dashboards.dashboards(spec), [spec])
    return {name: members for name, (_, members) in sets.items()}


def _dashboard_outputs(name: str, leader: Spec) -> dict[str, str]:
    from generator import dashboards
    from generator.dashboards import provisioning

    return {f"dashboards/{name}/{path.removeprefix('dashboards/')}": text
            for path, text in dashboards.outputs(leader).items()
            if path.startswith("dashboards/")} | {
        f"{provisioning.DASHBOARDS_FILE.removesuffix('.yml')}-{name}.yml":
            provisioning.dashboards(leader, subdirectory=name)}


def render(specs: Sequence[Spec]) -> dict[str, str]:
    """Every file of the combined deployment, as `{relative path: text}`."""
    from generator.dashboards import provisioning

    check_separable(specs)
    files: dict[str, str] = {}
    sets = dashboard_sets(specs)
    owner = {spec.name: leader for leader, members in sets.items() for spec in members}
    for spec in specs:
        linked = spec if owner[spec.name] == spec.name else replace(
            spec, dashboards_of=owner[spec.name])
        for path, text in rules.outputs(linked).items():
            files[f"{spec_dir(spec)}/{path.removeprefix(RULES_DIR + '/')}"] = text
    for name, members in sets.items():
        files.update(_dashboard_outputs(name, members[0]))
    files[provisioning.DATASOURCES_FILE] = provisioning.datasources(specs[0])
    files.update(prometheus_config.combined_outputs(specs))
    files.update(alertmanager.combined_outputs(specs))
    return dict(sorted(files.items()))
