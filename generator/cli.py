"""The `vigil` command: generate, check, schema, the exporters, incidents, report, and the demo.

Sub-commands import their modules lazily so that `vigil exporter host` does
not pay for grafanalib, and `vigil generate` does not pay for psycopg.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_SPEC = Path("slo/spec.yaml")


def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    """One spec (`--spec`), or several as arguments: one deployment for all of them."""
    parser.add_argument("specs", nargs="*", type=Path, metavar="SPEC",
                        help="several specs generate one deployment (generator/deployment.py)")
    parser.add_argument("--spec", type=Path, action="append", dest="spec_options",
                        help=f"the spec (default {DEFAULT_SPEC}); may be repeated")
    parser.add_argument("--mimir-namespaces", action="store_true",
                        help="also deploy/mimir/<spec name>.yml, one namespace per spec, "
                             "for `mimirtool rules load`")


def _specs(args: argparse.Namespace) -> list[Path]:
    return [*(args.spec_options or []), *args.specs] or [DEFAULT_SPEC]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write rules, dashboards and deploy config")
    _spec_arguments(generate)
    generate.add_argument("--out", type=Path, default=Path("."), help="project root to write into")
    generate.add_argument("--skip-tool-checks", action="store_true",
                          help="do not run promtool/amtool on the output before writing it "
                               "(`vigil check` still does)")

    check = commands.add_parser("check", help="validate the spec and fail on any drift")
    _spec_arguments(check)
    check.add_argument("--out", type=Path, default=Path("."))
    check.add_argument("--schema", type=Path, default=Path("slo/spec.schema.json"),
                       help="the JSON Schema file `vigil schema` writes (checked whatever --out is)")
    check.add_argument("--skip-tool-checks", action="store_true",
                       help="drift only: do not run promtool/amtool and the generated unit tests")

    schema = commands.add_parser("schema", help="write the spec's JSON Schema")
    schema.add_argument("--out", type=Path, default=Path("slo/spec.schema.json"))

    from generator.demo.run import add_arguments as demo_arguments

    demo = commands.add_parser("demo", help="run the whole bundle on a simulated shop, live")
    demo_arguments(demo)
    from generator.demo.workload_service import add_arguments as workload_arguments

    demo_parts = demo.add_subparsers(dest="demo_part")
    workload_arguments(demo_parts.add_parser(
        "workload", help="only the shop's workload and its troubles (Compose's demo profile)"))

    from exporters.incidents.cli import add_arguments as incidents_arguments

    incidents_arguments(commands.add_parser(
        "incidents", help="the incident recorder: serve the webhook, ack, list"))

    from generator.report.cli import add_arguments as report_arguments

    report_arguments(commands.add_parser(
        "report", help="the operations report from Prometheus and the incident store"))

    commands.add_parser(
        "exporter", help="run an exporter: vigil exporter {host,http,postgres,sql} --config FILE",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["exporter"]:
        from exporters.cli import main as exporter_main

        return exporter_main(args_list[1:])

    args = _build_parser().parse_args(args_list)
    if args.command == "generate":
        from generator.commands import generate

        return generate(_specs(args), args.out, tool_checks=not args.skip_tool_checks,
                        mimir=args.mimir_namespaces)
    if args.command == "check":
        from generator.commands import check

        return check(_specs(args), args.out, tool_checks=not args.skip_tool_checks,
                     schema=args.schema, mimir=args.mimir_namespaces)
    if args.command == "schema":
        from generator.commands import write_schema

        return write_schema(args.out)
    if args.command == "report":
        from generator.report.cli import main as report_main

        return report_main(args)
    if args.command == "incidents":
        from exporters.incidents.cli import main as incidents_main

        return incidents_main(args)
    if args.command == "demo" and args.demo_part == "workload":
        from generator.demo.workload_service import main as workload_main

        return workload_main(args)
    if args.command == "demo":
        from generator.demo.run import main as demo_main

        return demo_main(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
