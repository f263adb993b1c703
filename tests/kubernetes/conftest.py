"""What the Kubernetes tests share: the example spec's resources, rendered once, and
the validators (the prometheus-operator's CRD schemas from ../shared/schemas, read
there and never copied; kubernetes-validate's bundled schemas for the core kinds).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from generator.commands import render
from generator.kubernetes import OUT_DIR
from generator.loader import load_spec
from generator.model import Spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "slo/examples/kubernetes/spec.yaml"
CRD_DIR = ROOT.parent / "shared" / "schemas" / "prometheus-operator"
# The Kubernetes release whose core schemas the resources are checked against.
KUBERNETES_VERSION = "1.32.0"


class _CrdLoader(yaml.CSafeLoader):
    """The CRDs hold a bare `=` (a matchType enum value) that YAML 1.1 tags as
    `tag:yaml.org,2002:value`; it is just the string here."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def documents(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The generated Kubernetes resources by path."""
    return {path: yaml.safe_load(text) for path, text in files.items()
            if path.startswith(f"{OUT_DIR}/") and not path.endswith("/kustomization.yaml")}


@pytest.fixture(scope="session")
def example_spec() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture(scope="session")
def example_files(example_spec: Spec) -> dict[str, str]:
    return render(example_spec)


@pytest.fixture(scope="session")
def example_resources(example_files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return documents(example_files)


def _go_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    """`pattern` with Go's regexp syntax: the CRDs write `(?i)` inside a group (case-blind
    from there on), which Python refuses; dropped, the check only gets stricter (the
    generated values are lower case)."""
    if not isinstance(instance, str):
        return
    try:
        compiled = re.compile(pattern)
    except re.error:
        compiled = re.compile(pattern.replace("(?i)", ""))
    if not compiled.search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_VALIDATOR = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _go_pattern})


class CrdValidator:
    """Validates a resource against its CRD's openAPIV3Schema, as the API server would.

    jsonschema checks types, enums, patterns and required fields. The CRD schemas do
    not forbid unknown fields: the API server prunes them silently, so a misspelt key
    would vanish on `kubectl apply`. `pruned` lists such fields, to be kept empty.
    """

    def __init__(self) -> None:
        self.schemas: dict[tuple[str, str], dict[str, Any]] = {}
        for path in sorted(CRD_DIR.glob("*.yaml")):
            crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_CrdLoader)
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                self.schemas[(f"{group}/{version['name']}", kind)] = \
                    version["schema"]["openAPIV3Schema"]

    def errors(self, resource: dict[str, Any]) -> list[str]:
        schema = self.schemas.get((resource["apiVersion"], resource["kind"]))
        if schema is None:
            return [f"no CRD schema for {resource['apiVersion']} {resource['kind']}"]
        found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                 for e in _VALIDATOR(schema).iter_errors(resource)]
        return found + [f"{path}: unknown field (the API server would drop it)"
                        for path in pruned(schema, resource, "")]


def pruned(schema: dict[str, Any], data: Any, path: str) -> list[str]:
    """Fields of `data` a structural schema does not declare (metadata is the API's own)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(data, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        result = []
        for key, value in data.items():
            where = f"{path}/{key}"
            if key == "metadata" and not path:
                continue
            if properties is not None and key in properties:
                result += pruned(properties[key], value, where)
            elif isinstance(extra, dict):
                result += pruned(extra, value, where)
            elif properties is not None:
                result.append(where)
        return result
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [p for i, item in enumerate(data) for p in pruned(schema["items"], item, f"{path}/{i}")]
    return []


@pytest.fixture(scope="session")
def crd_validator() -> CrdValidator:
    if not CRD_DIR.is_dir():
        pytest.skip(f"prometheus-operator CRD schemas not found at {CRD_DIR} (they live in "
                    "../shared/schemas beside the repository); the core kinds are still checked")
    return CrdValidator()


def core_errors(resource: dict[str, Any]) -> list[str]:
    """kubernetes-validate (bundled schemas, offline), strict: unknown fields are errors."""
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{'/'.join(map(str, err.path))}: {err.message[:200]}"]
    return []
