"""Generator benchmark: time and peak memory of `load_spec` + render for growing specs.

Each size runs in a fresh process pinned to one core, so peak RSS is that size's own
and the figure is single-core. Signals are custom ones (the catalogue has only a few
dozen), each with warning and critical thresholds, spread over the dashboards. Besides
wall time the child reports its CPU time: on a shared machine the core it is pinned to
is also other processes', and CPU time is what the generator itself spent.

`--tree DIR` measures the generator of another checkout (e.g. an older commit in a
`git worktree`) with this script and the same specs, so that old and new figures come
from one run on the same machine: `--tree` may be given several times.

    .venv/bin/python bench/generator_bench.py [--sizes 10,100,1000,10000] [--repeat 3]
                                              [--tree DIR ...]
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


def make_spec(size: int, path: Path, root: Path = ROOT) -> None:
    base = yaml.safe_load((root / "slo/spec.yaml").read_text())
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


def run_one(spec_path: str, repeat: int, tree: Path) -> dict:
    """Child process: time load+render `repeat` times; report best and peak RSS."""
    sys.path.insert(0, str(tree))
    from generator.commands import render
    from generator.loader import load_spec

    timings = []
    files = {}
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        files = render(load_spec(Path(spec_path)))
        timings.append((time.perf_counter() - start, time.process_time() - cpu))
    return {
        "best_seconds": min(t[0] for t in timings),
        "best_cpu_seconds": min(t[1] for t in timings),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "files": len(files),
        "output_bytes": sum(len(t) for t in files.values()),
    }


def _measure(tree: Path, size: int, scratch: Path, repeat: int) -> dict | str:
    """One size in a fresh pinned process: its figures, or the reason it failed."""
    spec = scratch / f"spec-{abs(hash(str(tree)))}-{size}.yaml"
    make_spec(size, spec, tree)
    command = ["taskset", "-c", "0", sys.executable, __file__, "--child", str(spec),
               "--repeat", str(repeat), "--tree", str(tree)]
    if not _has_taskset():
        command = command[3:]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tree)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["failed"]
        return lines[-1][:100]
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", action="append", type=Path,
                        help="a checkout whose generator to measure (default: this one)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [ROOT]]
    if args.child:
        print(json.dumps(run_one(args.child, args.repeat, trees[0])))
        return 0
    print(f"{'tree':<24} {'signals':>8} {'seconds':>9} {'CPU s':>8} {'ms/signal':>10} "
          f"{'peak RSS MiB':>13} {'files':>6} {'output MiB':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            for tree in trees:  # sizes outside, trees inside: both see the same load
                repeat = args.repeat if size <= 1000 else 1
                result = _measure(tree, size, Path(scratch), repeat)
                name = tree.name[-24:]
                if isinstance(result, str):
                    print(f"{name:<24} {size:>8} failed: {result}", flush=True)
                    continue
                print(f"{name:<24} {size:>8} {result['best_seconds']:>9.3f} "
                      f"{result['best_cpu_seconds']:>8.3f} "
                      f"{result['best_seconds'] / size * 1000:>10.3f} "
                      f"{result['peak_rss_bytes'] / 2**20:>13.1f} {result['files']:>6} "
                      f"{result['output_bytes'] / 2**20:>11.2f}", flush=True)
    return 0


def _has_taskset() -> bool:
    return any(os.access(os.path.join(p, "taskset"), os.X_OK) for p in os.environ["PATH"].split(":"))


if __name__ == "__main__":
    sys.exit(main())
