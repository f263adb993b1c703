"""Generator benchmark: time and peak memory of `load_spec` + render for growing specs.

Each size runs in a fresh process pinned to one core, so peak RSS is that size's own
and the figure is single-core. Signals are custom ones (the catalogue has only a few
dozen), each with warning and critical thresholds, spread over the dashboards.

    .venv/bin/python bench/generator_bench.py [--sizes 10,100,1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ("infrastructure", "application", "database", "business")


def make_spec(size: int, path: Path) -> None:
    base = yaml.safe_load((ROOT / "slo/spec.yaml").read_text())
    base["signals"] = {
        f"custom_signal_{i}": {
            "expr": f'sum by (instance) (rate(bench_metric_{i}_total{{$sel}}[$window]))',
            "unit": "per_second",
            "exporter": "http",
            "dashboard": DASHBOARDS[i % len(DASHBOARDS)],
            "warning": f"{100 + i}/s",
            "critical": f"{200 + i}/s",
        }
        for i in range(size)
    }
    path.write_text(yaml.safe_dump(base, sort_keys=False))


def run_one(spec_path: str, repeat: int) -> dict:
    """Child process: time load+render `repeat` times; report best and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from generator.commands import render
    from generator.loader import load_spec

    timings = []
    files = {}
    for _ in range(repeat):
        start = time.perf_counter()
        files = render(load_spec(Path(spec_path)))
        timings.append(time.perf_counter() - start)
    return {
        "best_seconds": min(timings),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "files": len(files),
        "output_bytes": sum(len(t) for t in files.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.repeat)))
        return 0
    print(f"{'signals':>8} {'seconds':>9} {'s/1k signals':>13} {'peak RSS MiB':>13} "
          f"{'files':>6} {'output MiB':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            spec = Path(scratch) / f"spec-{size}.yaml"
            make_spec(size, spec)
            repeat = args.repeat if size <= 1000 else 1
            command = ["taskset", "-c", "0", sys.executable, __file__, "--child", str(spec),
                       "--repeat", str(repeat)]
            if not _has_taskset():
                command = command[3:]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True,
                                               cwd=ROOT).stdout)
            print(f"{size:>8} {result['best_seconds']:>9.3f} "
                  f"{result['best_seconds'] / size * 1000:>13.3f} "
                  f"{result['peak_rss_bytes'] / 2**20:>13.1f} {result['files']:>6} "
                  f"{result['output_bytes'] / 2**20:>11.2f}", flush=True)
    return 0


def _has_taskset() -> bool:
    return any(os.access(os.path.join(p, "taskset"), os.X_OK) for p in os.environ["PATH"].split(":"))


if __name__ == "__main__":
    sys.exit(main())
