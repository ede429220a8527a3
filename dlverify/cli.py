"""The ``dlverify`` command line.

Heavy modules (SymPy, torch, Hypothesis) are imported inside the commands that need
them, so ``dlverify --help`` and ``dlverify list`` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _cmd_list(args: argparse.Namespace) -> int:
    from dlverify import registry

    rows = [(p.id, p.kind, p.title) for p in registry.problems().values() if not args.topic or p.topic in args.topic]
    if args.planned:
        rows += [
            (pid, kind, "(in the catalog, not derived yet)")
            for pid, (kind, topic) in registry.planned().items()
            if not args.topic or topic in args.topic
        ]
    if not rows:
        print(f"no problems for topic {', '.join(args.topic)}", file=sys.stderr)
        return EXIT_USAGE
    width = max(len(r[0]) for r in rows)
    for pid, kind, title in rows:
        print(f"{pid:<{width}}  {kind:<6}  {title}")
    if not args.planned and registry.planned():
        print(f"\n{len(registry.planned())} more catalog ids are not derived yet: dlverify list --planned")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from dlverify import registry

    problem = registry.get(args.id)
    check = None
    if args.examples > 0:
        from dlverify.crosscheck import cross_check

        check = cross_check(problem, args.examples)
    from dlverify import render

    print(render.problem_latex(problem, check) if args.latex else render.problem_text(problem, check))
    return EXIT_OK if check is None or check.passed else EXIT_FAIL


def _cmd_verify(args: argparse.Namespace) -> int:
    from dlverify import registry

    if args.all or not args.names:
        chosen = list(registry.problems().values())
    else:
        chosen = registry.select(args.names)
    from dlverify.crosscheck import cross_check

    header = ("id", "oracle", "cases", "sizes", "max rel err", "tolerance", "result")
    rows = []
    failed = 0
    for problem in chosen:
        check = cross_check(problem, args.examples)
        failed += not check.passed
        rows.append(
            (
                problem.id,
                problem.oracle_name,
                str(check.cases),
                check.sizes_text(),
                f"{check.max_error:.2e}",
                f"{check.max_tolerance:.2e}",
                "pass" if check.passed else "FAIL",
            )
        )
        if not check.passed:
            rows.append(("", f"  {check.failure}; case {check.failing_case}", "", "", "", "", ""))
    widths = [max(len(r[k]) for r in [header, *rows] if not (r[0] == "" and k == 1)) for k in range(len(header))]
    for r in [header, *rows]:
        if r[0] == "":
            print(r[1])
            continue
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())
    print(f"\n{len(chosen) - failed} passed, {failed} failed")
    return EXIT_FAIL if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlverify",
        description="Derive deep-learning homework results with SymPy and verify them against "
        "independent numeric oracles (PyTorch autograd, SciPy, brute force).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="list the catalog ids with titles and answer kinds")
    p_list.add_argument("--topic", action="append", help="only this topic (repeatable)")
    p_list.add_argument("--planned", action="store_true", help="also list catalog ids not derived yet")
    p_list.set_defaults(func=_cmd_list)

    p_show = sub.add_parser("show", help="print a problem's statement, derivation and verified result")
    p_show.add_argument("id")
    p_show.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    p_show.add_argument(
        "--examples", type=int, default=20, metavar="N", help="random cases for the cross-check (0: skip it)"
    )
    p_show.set_defaults(func=_cmd_show)

    p_verify = sub.add_parser("verify", help="cross-check derivations against their numeric oracles")
    p_verify.add_argument("names", nargs="*", metavar="ID|TOPIC")
    p_verify.add_argument("--all", action="store_true", help="every derived problem (the default)")
    p_verify.add_argument("--examples", type=int, default=100, metavar="N", help="random cases per problem")
    p_verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "examples", 1) < 0:
        print("dlverify: --examples must be at least 0", file=sys.stderr)
        return EXIT_USAGE
    from dlverify.registry import UnknownProblem

    try:
        return args.func(args)
    except UnknownProblem as exc:
        print(f"dlverify: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
