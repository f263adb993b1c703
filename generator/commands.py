"""`vigil generate`, `vigil check` and `vigil schema`.

Everything is rendered in memory first, checked with promtool and amtool where they
are installed, and written last as one set (generator/output.py), so a spec error, a
bug in any generator, or output the tools reject leaves every previous output
untouched. Given several specs, both commands work on the combined deployment of
generator/deployment.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from generator import (
    alertmanager,
    blackbox,
    deployment,
    example_values,
    gc_pause,
    output,
    prometheus_config,
    ruler,
    rules,
    spec_schema,
)
from generator.loader import SpecError, load_spec
from generator.model import Spec
from generator.output import OutputError, drift, write_atomically

SCHEMA_FILE = Path("slo/spec.schema.json")  # `vigil schema`'s default, beside the spec

TOOL_TIMEOUT = 1800  # seconds; promtool's tests of a large spec take minutes on a busy host
# Directories whose every file comes from the spec: `vigil check` reports strays there.
MANAGED_DIRS = ("alert_rules", "dashboards", "deploy/alertmanager", "deploy/prometheus",
                "deploy/grafana", ruler.MIMIR_DIR, "deploy/blackbox",
                "deploy/kubernetes/operator")


def _generators() -> list[Callable[[Spec], dict[str, str]]]:
    from generator import dashboards

    return [rules.outputs, alertmanager.outputs, prometheus_config.outputs, blackbox.outputs,
            dashboards.outputs]


def render(spec: Spec) -> dict[str, str]:
    """Every generated file of the spec, as `{relative path: text}`."""
    files: dict[str, str] = {}
    with gc_pause.paused():
        for generate in _generators():
            for path, text in generate(spec).items():
                if path in files:
                    raise AssertionError(f"two generators write {path}")
                files[path] = text
        if spec.kubernetes is not None:  # wraps the plain files: rendered last
            from generator import kubernetes

            files.update(kubernetes.outputs(spec, files))
    return files


def schema_text() -> str:
    return json.dumps(spec_schema.json_schema(), indent=2, sort_keys=False) + "\n"


def _report(err: SpecError) -> None:
    print(err.render(), file=sys.stderr)
    count = len(err.problems)
    print(f"{err.source}: {count} problem{'s' if count != 1 else ''}; nothing was written",
          file=sys.stderr)


def _paths(spec_paths: Path | Sequence[Path]) -> list[Path]:
    return [spec_paths] if isinstance(spec_paths, Path) else list(spec_paths)


def _render_all(spec_paths: Path | Sequence[Path], mimir: bool = False,
                notes: list[str] | None = None) -> dict[str, str] | None:
    """The files of one spec, or of several specs' combined deployment, plus Mimir's
    namespace files if asked; None after printing every problem (each spec is loaded,
    so one run names all bad files). `notes` gets what the Kubernetes resources cannot
    express, for `vigil generate` to say."""
    specs = _load_all(spec_paths)
    if specs is None:
        return None
    files = _render_specs(specs, notes)
    if files is not None and mimir:
        files.update(ruler.mimir_namespaces(files, {
            s.name: (rules.RULES_FILE if len(specs) == 1 else
                     f"{deployment.spec_dir(s)}/{rules.RULES_FILE.rsplit('/', 1)[1]}")
            for s in specs}))
    return files


def _load_all(spec_paths: Path | Sequence[Path]) -> list[Spec] | None:
    """Every spec, or None after printing their problems; warnings go to stderr either way."""
    specs: list[Spec] = []
    failed = False
    for path in _paths(spec_paths):
        try:
            spec = load_spec(path)
        except SpecError as err:
            _report(err)
            failed = True
            continue
        specs.append(spec)
        for warning in example_values.warnings(path, spec):
            print(warning, file=sys.stderr)
    return None if failed else specs


def _render_specs(specs: list[Spec], notes: list[str] | None = None) -> dict[str, str] | None:
    from generator import kubernetes

    if len(specs) == 1:
        try:
            files = render(specs[0])
        except kubernetes.KubernetesError as err:
            print(f"{specs[0].source}: {err}; nothing was written", file=sys.stderr)
            return None
        if notes is not None:
            notes.extend(kubernetes.notes(specs[0], files))
        return files
    with_kubernetes = [str(s.source) for s in specs if s.kubernetes is not None]
    if with_kubernetes:
        print(f"{with_kubernetes[0]}: a `kubernetes` section is for one spec at a time (generate "
              "each into its own --out); nothing was written", file=sys.stderr)
        return None
    try:
        return deployment.render(specs)
    except SpecError as err:
        _report(err)
    except (prometheus_config.ConfigConflict, alertmanager.ConfigConflict) as err:
        print(f"{err}; nothing was written", file=sys.stderr)
    return None


def _label(spec_paths: Path | Sequence[Path]) -> str:
    return ", ".join(str(p) for p in _paths(spec_paths))


def generate(spec_paths: Path | Sequence[Path], out: Path, tool_checks: bool = True,
             mimir: bool = False) -> int:
    """Render, check with promtool/amtool's loaders (unless `tool_checks` is off), write the set."""
    notes: list[str] = []
    files = _render_all(spec_paths, mimir, notes)
    if files is None:
        return 1
    if tool_checks and run_tools(files, unit_tests=False):
        print(f"{_label(spec_paths)}: the generated files were rejected; nothing was written",
              file=sys.stderr)
        return 1
    try:
        changed = write_atomically(out, files)
    except OutputError as err:
        print(f"vigil generate: {err}; nothing was changed", file=sys.stderr)
        return 1
    print(f"{_label(spec_paths)}: {len(files)} files generated, {len(changed)} changed")
    for note in notes:
        print(f"note: {note}")
    return 0


def write_schema(out: Path) -> int:
    try:
        changed = write_atomically(out.parent, {out.name: schema_text()})
    except OutputError as err:
        print(f"vigil schema: {err}", file=sys.stderr)
        return 1
    print(f"{out}: {'written' if changed else 'unchanged'}")
    return 0


def check(spec_paths: Path | Sequence[Path], out: Path, tool_checks: bool = True,
          schema: Path = SCHEMA_FILE, mimir: bool = False) -> int:
    """Spec valid, committed outputs current, and promtool/amtool happy where installed.

    The outputs are compared under `out`; the JSON Schema is a file of the project,
    not an output of the spec, so it is compared at `schema` (relative to the working
    directory, where `vigil schema` writes it) whatever `--out` is.
    ``tool_checks=False`` checks drift alone (what the tools say of the same files does
    not depend on where they were written).
    """
    files = _render_all(spec_paths, mimir)
    if files is None:
        return 1
    problems = drift(out, files, MANAGED_DIRS, _rule_globs(files))
    if output.current_text(schema) != schema_text():
        problems.append(f"{schema}: differs from `vigil schema`")
    for line in problems:
        print(f"drift: {line}", file=sys.stderr)
    tool_failures = run_tools(files) if tool_checks else []
    if problems:
        print("run `vigil generate` (and `vigil schema`) and commit the result", file=sys.stderr)
    ok = not problems and not tool_failures
    print("check: ok" if ok else "check: FAILED")
    return 0 if ok else 1


def _rule_globs(files: dict[str, str]) -> tuple[str, ...]:
    """What the rendered Prometheus configuration loads: one spec's rules, or each
    spec's directory of a combined deployment (alert_rules/<name>/)."""
    if rules.RULES_FILE in files:
        return prometheus_config.rule_globs()
    name = rules.RULES_FILE.rsplit("/", 1)[1]
    return prometheus_config.rule_globs(sorted(
        p.split("/")[1] for p in files
        if p.startswith(f"{deployment.RULES_DIR}/") and p.count("/") == 2 and p.endswith(name)))


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
        globs = _rule_globs(files)
        loaded = [p for p in sorted(files) if any(output.glob_match(p, g) for g in globs)]
        commands = [
            ("promtool", ["check", "rules", *loaded]),
            ("promtool", ["check", "config", prometheus_config.CONFIG_FILE]),
            ("amtool", ["check-config", alertmanager.CONFIG_FILE]),
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
