"""`vigil generate`, `vigil check` and `vigil schema`.

Everything is rendered in memory first, checked with promtool and amtool where they
are installed, and written last as one set (generator/output.py), so a spec error, a
bug in any generator, or output the tools reject leaves every previous output
untouched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from generator import alertmanager, gc_pause, output, prometheus_config, rules, spec_schema
from generator.loader import SpecError, load_spec
from generator.model import Spec
from generator.output import OutputError, drift, write_atomically

TOOL_TIMEOUT = 1800  # seconds; promtool's tests of a large spec take minutes on a busy host
# Directories whose every file comes from the spec: `vigil check` reports strays there.
MANAGED_DIRS = ("alert_rules", "dashboards", "deploy/alertmanager", "deploy/prometheus",
                "deploy/grafana")


def _generators() -> list[Callable[[Spec], dict[str, str]]]:
    from generator import dashboards

    return [rules.outputs, alertmanager.outputs, prometheus_config.outputs, dashboards.outputs]


def render(spec: Spec) -> dict[str, str]:
    """Every generated file of the spec, as `{relative path: text}`."""
    files: dict[str, str] = {}
    with gc_pause.paused():
        for generate in _generators():
            for path, text in generate(spec).items():
                if path in files:
                    raise AssertionError(f"two generators write {path}")
                files[path] = text
    return files


def schema_text() -> str:
    return json.dumps(spec_schema.json_schema(), indent=2, sort_keys=False) + "\n"


def _load(spec_path: Path) -> Spec | None:
    try:
        return load_spec(spec_path)
    except SpecError as err:
        print(err.render(), file=sys.stderr)
        count = len(err.problems)
        print(f"{spec_path}: {count} problem{'s' if count != 1 else ''}; nothing was written",
              file=sys.stderr)
        return None


def generate(spec_path: Path, out: Path, tool_checks: bool = True) -> int:
    """Render, check with promtool/amtool's loaders (unless `tool_checks` is off), write the set."""
    spec = _load(spec_path)
    if spec is None:
        return 1
    files = render(spec)
    if tool_checks and run_tools(files, unit_tests=False):
        print(f"{spec_path}: the generated files were rejected; nothing was written",
              file=sys.stderr)
        return 1
    try:
        changed = write_atomically(out, files)
    except OutputError as err:
        print(f"vigil generate: {err}; nothing was changed", file=sys.stderr)
        return 1
    print(f"{spec_path}: {len(files)} files generated, {len(changed)} changed")
    return 0


def write_schema(out: Path) -> int:
    try:
        changed = write_atomically(out.parent, {out.name: schema_text()})
    except OutputError as err:
        print(f"vigil schema: {err}", file=sys.stderr)
        return 1
    print(f"{out}: {'written' if changed else 'unchanged'}")
    return 0


def check(spec_path: Path, out: Path, tool_checks: bool = True) -> int:
    """Spec valid, committed outputs current, and promtool/amtool happy where installed.

    ``tool_checks=False`` checks drift alone (what the tools say of the same files does
    not depend on where they were written).
    """
    spec = _load(spec_path)
    if spec is None:
        return 1
    files = render(spec)
    problems = drift(out, files, MANAGED_DIRS, prometheus_config.rule_globs())
    schema_path = out / "slo/spec.schema.json"
    if output.current_text(schema_path) != schema_text():
        problems.append("slo/spec.schema.json: differs from `vigil schema`")
    for line in problems:
        print(f"drift: {line}", file=sys.stderr)
    tool_failures = run_tools(files) if tool_checks else []
    if problems:
        print("run `vigil generate` (and `vigil schema`) and commit the result", file=sys.stderr)
    ok = not problems and not tool_failures
    print("check: ok" if ok else "check: FAILED")
    return 0 if ok else 1


def run_tools(files: dict[str, str], unit_tests: bool = True) -> list[str]:
    """promtool and amtool on freshly rendered files, in a scratch copy of the layout.

    ``unit_tests=False`` leaves out ``promtool test rules``: the loaders' own checks
    take about a second, the generated unit tests minutes of CPU on the default
    spec, which `vigil generate` must not cost on every edit (`vigil check` and the
    suite run them).
    """
    failures = []
    with tempfile.TemporaryDirectory(prefix="vigil-check-") as scratch:
        root = Path(scratch)
        try:
            write_atomically(root, files)
        except OutputError as err:
            print(f"FAILED: cannot prepare the files for promtool and amtool: {err}",
                  file=sys.stderr)
            return ["scratch copy"]
        commands = [
            ("promtool", ["check", "rules", rules.RULES_FILE]),
            ("promtool", ["check", "config", prometheus_config.CONFIG_FILE]),
            ("amtool", ["check-config", "deploy/alertmanager/alertmanager.yml"]),
        ]
        if unit_tests:
            commands.append(("promtool", ["test", "rules",
                                          *sorted(p for p in files if p.endswith(".test.yml"))]))
        for tool, args in commands:
            if shutil.which(tool) is None:
                print(f"skip: {tool} is not installed", file=sys.stderr)
                continue
            try:
                result = subprocess.run([tool, *args], cwd=root, capture_output=True, text=True,
                                        timeout=TOOL_TIMEOUT)
            except subprocess.TimeoutExpired:
                failures.append(f"{tool} {' '.join(args)}")
                print(f"FAILED: {tool} {' '.join(args)}: no answer in {TOOL_TIMEOUT} s",
                      file=sys.stderr)
                continue
            if result.returncode != 0:
                failures.append(f"{tool} {' '.join(args)}")
                print(f"FAILED: {tool} {' '.join(args)}\n{result.stdout}{result.stderr}",
                      file=sys.stderr)
            else:
                print(f"ok: {tool} {args[0]} {args[1]}")
    return failures
