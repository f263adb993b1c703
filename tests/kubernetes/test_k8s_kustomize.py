"""deploy/kubernetes/exporters/: the kustomize example that runs Vigil's exporters.

No cluster here: the example is checked by what can run without one. Its resources
(and the ConfigMap its configMapGenerator makes) against the Kubernetes core schemas
(kubernetes-validate, strict), its references to each other (config keys, Secret
keys, ports, labels), its exporter configs with the exporters' own loaders, its
Services against the ServiceMonitors the example spec generates, and, where kubectl
is installed, `kubectl kustomize` building it.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporters.common.config import load_config
from tests.kubernetes.conftest import ROOT, core_errors

EXAMPLE_DIR = ROOT / "deploy/kubernetes/exporters"
EXPORTERS = ("host", "http", "postgres", "sql")
WORKLOADS = ("Deployment", "DaemonSet")


def _kustomization() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLE_DIR / "kustomization.yaml").read_text(encoding="utf-8"))


def _built() -> list[dict[str, Any]]:
    """What `kubectl apply -k` would send, less kustomize's name hashes: the listed
    resources, the generated ConfigMap, the namespace applied to all."""
    kustomization = _kustomization()
    documents = []
    for name in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((EXAMPLE_DIR / name).read_text(encoding="utf-8")) if d]
    for generator in kustomization.get("configMapGenerator", []):
        data = {Path(f).name: (EXAMPLE_DIR / f).read_text(encoding="utf-8") for f in generator["files"]}
        documents.append({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": generator["name"]}, "data": data})
    for document in documents:
        document["metadata"]["namespace"] = kustomization["namespace"]
    return documents


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _built() if d["kind"] == kind}


def _workloads() -> dict[str, dict[str, Any]]:
    return {name: d for kind in WORKLOADS for name, d in _by_kind(kind).items()}


def test_every_resource_is_a_valid_core_resource():
    documents = _built()
    assert sorted((d["kind"], d["metadata"]["name"]) for d in documents) == sorted(
        [("ConfigMap", "vigil-exporter-config"), ("DaemonSet", "vigil-host")]
        + [("Deployment", f"vigil-{e}") for e in EXPORTERS if e != "host"]
        + [("Service", f"vigil-{e}") for e in EXPORTERS])
    for document in documents:
        assert core_errors(document) == [], document["metadata"]["name"]


def test_the_core_check_can_fail():
    deployment = _by_kind("Deployment")["vigil-postgres"]
    deployment["spec"]["template"]["spec"]["containers"][0]["port"] = 9733  # not a field
    assert core_errors(deployment)


def test_each_exporter_reads_its_config_and_its_secret_from_what_is_mounted():
    configs = set(_by_kind("ConfigMap")["vigil-exporter-config"]["data"])
    for name, workload in _workloads().items():
        pod = workload["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        config_path = container["args"][container["args"].index("--config") + 1]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        directory, file_name = config_path.rsplit("/", 1)
        config_volume = volumes[mounts[directory]]["configMap"]
        assert config_volume["name"] == "vigil-exporter-config"
        assert [i["path"] for i in config_volume["items"]] == [file_name]
        assert config_volume["items"][0]["key"] in configs
        for variable in container.get("env", []):
            assert variable["name"].endswith("_FILE"), name  # secrets come as files only
            directory, key = variable["value"].rsplit("/", 1)
            secret = volumes[mounts[directory]]["secret"]
            assert secret["secretName"] == "vigil-exporters"
            assert {"key": key, "path": key} in secret["items"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_each_service_selects_its_pods_on_the_metrics_port():
    services = _by_kind("Service")
    for name, workload in _workloads().items():
        service = services[name]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        (port,) = service["spec"]["ports"]
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        assert port["name"] == "metrics" and port["targetPort"] == "metrics"
        assert {"name": "metrics", "containerPort": port["port"]} in container["ports"]
        assert container["args"][-1] == f"0.0.0.0:{port['port']}"


def test_the_generated_service_monitors_find_these_services(example_spec, example_resources):
    services = _by_kind("Service")
    monitors = [r for r in example_resources.values() if r["kind"] == "ServiceMonitor"]
    found = 0
    for monitor in monitors:
        wanted = monitor["spec"]["selector"]["matchLabels"]
        matching = [s for s in services.values() if wanted.items() <= s["metadata"]["labels"].items()]
        if monitor["metadata"]["name"] == example_spec.jobs["incidents"]:
            continue  # the incident recorder is not part of this example
        (service,) = matching
        assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
        assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
        found += 1
    assert found == len(EXPORTERS)
    # the example spec's static targets are these Services' addresses
    for exporter in EXPORTERS:
        service = services[f"vigil-{exporter}"]
        assert example_spec.targets[exporter] == (
            f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}",)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_each_config_is_accepted_by_its_exporter(exporter, tmp_path, monkeypatch):
    for variable in ("VIGIL_PG_PASSWORD", "VIGIL_SQL_PASSWORD", "PAYMENTS_PROBE_TOKEN"):
        monkeypatch.setenv(variable, "unused")
    path = EXAMPLE_DIR / "config" / f"{exporter}.yml"
    if exporter == "host":  # /host is the node's root only inside the pod
        text = path.read_text(encoding="utf-8").replace("rootfs: /host", "rootfs: /")
        path = tmp_path / "host.yml"
        path.write_text(text, encoding="utf-8")
    importlib.import_module(f"exporters.{exporter}").build(load_config(path))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (its "
                    "built-in kustomize builds the example; the other tests check it without)")
def test_kubectl_kustomize_builds_the_same_resources():
    result = subprocess.run(["kubectl", "kustomize", str(EXAMPLE_DIR)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    names = sorted((d["kind"], d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] == "ConfigMap"
                    else d["metadata"]["name"]) for d in built)
    assert names == sorted((d["kind"], d["metadata"]["name"]) for d in _built())
    for document in built:
        assert core_errors(document) == [], document["metadata"]["name"]
