"""The ``dlverify`` command line.

Heavy modules (SymPy, torch, Hypothesis) are imported inside the commands that need
them, so ``dlverify --help`` and ``dlverify list`` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dlverify.arguments import timeout_seconds

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C during a folder run: a partial summary was written
SHOW_EXAMPLES = 5  # show's live cross-check when no record is kept: a few cases, quickly


class _Progress:
    """A progress bar (tqdm) on stderr while long work runs, only when stderr is a terminal: a
    log file or a pipe gets no bar.  ``step`` takes and ignores what was just finished."""

    def __init__(self, total: int, unit: str) -> None:
        self.bar = None
        if sys.stderr.isatty() and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="", desc=unit, file=sys.stderr, leave=False, dynamic_ncols=True)

    def step(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()  # leave=False: the bar is erased, the cursor back at a line's start


def _cmd_list(args: argparse.Namespace) -> int:
    from dlverify import registry

    rows = (
        []
        if args.planned
        else [(p.id, p.kind, p.title) for p in registry.problems().values() if not args.topic or p.topic in args.topic]
    )
    if args.planned:
        rows += [
            (pid, kind, "(in the catalog, not derived yet)")
            for pid, (kind, topic) in registry.planned().items()
            if not args.topic or topic in args.topic
        ]
    if not rows and args.planned:
        print("every catalog id is derived: nothing is planned" + (" in that topic" if args.topic else ""))
        return EXIT_OK
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
    if getattr(args, "steps", False):
        return _print_steps(problem)
    check, note = None, ""
    if args.examples != 0:
        from dlverify.crosscheck import stored_check

        # this code's latest record (from verify, report or an earlier show) when there is one:
        # a live cross-check costs torch's import alone about a second
        check = None if args.fresh else stored_check(problem, args.examples or 1)
        note = "this code's latest record; --fresh reruns it" if check is not None else ""
    if args.latex:
        from reports.build import item_section

        print(item_section(problem, _run_check(problem, args) if args.examples != 0 and check is None else check))
        return EXIT_OK if check is None or check.passed else EXIT_FAIL
    from dlverify import render

    if check is None and args.examples != 0:  # the derivation now, the cases' verdict when they have run
        print(render.problem_text(problem), flush=True)
        check = _run_check(problem, args)
        print("\n" + render.verification_text(check))
    else:
        print(render.problem_text(problem, check, note))
    return EXIT_OK if check is None or check.passed else EXIT_FAIL


def _print_steps(problem) -> int:
    """The reference derivation as a ``steps`` answer, which the step checker passes."""
    from dlverify.checking.kinds import STEP_KINDS, toml_key
    from dlverify.checking.steps import reference_steps

    text = reference_steps(problem) if problem.kind in STEP_KINDS else ""
    if not text:
        print(f"{problem.id}: no step of its derivation is an equation the checker reads", file=sys.stderr)
        return EXIT_FAIL
    print(f"[{toml_key(problem.id)}]\nsteps = '''\n{text}\n'''")
    return EXIT_OK


def _run_check(problem, args: argparse.Namespace):
    from dlverify.crosscheck import cross_check, store_check

    check = cross_check(problem, args.examples or SHOW_EXAMPLES)
    store_check(check)
    return check


def _cmd_verify(args: argparse.Namespace) -> int:
    from dlverify import registry

    if args.all or not args.names:
        chosen = list(registry.problems().values())
        if args.problems and not args.all:  # a course's file: its own problems (--all adds the catalog)
            chosen = [p for p in chosen if isinstance(registry.source(p.id), registry.CourseFile)]
    else:
        chosen = registry.select(args.names)
    from dlverify.crosscheck import cross_check_many
    from dlverify.views import Outcome

    word = {Outcome.FAILED: "FAIL", Outcome.ARGUMENT_ONLY: "argument only"}  # every other outcome passes
    with _Progress(len(chosen), "problems") as bar:
        checks = cross_check_many(chosen, args.examples, bar.step, args.time_limit)
    # one row of numbers per item and, under it, what it was checked against: 100 columns, not 300
    header = ("id", "cases", "max rel err", "tolerance", "result")
    rows: list[tuple[str, ...]] = []
    notes: dict[int, list[str]] = {}
    failed = 0
    for check in checks:
        view = check.view()
        failed += not view.passed
        result = word.get(view.outcome, "pass")
        rows.append((view.item, str(view.cases), *view.error_cells, result))
        notes[len(rows) - 1] = [_cut(f"    against {view.oracle}; sizes {view.sizes}", VERIFY_WIDTH)]
        if view.outcome is Outcome.FAILED:
            notes[len(rows) - 1].append(f"    {view.failure}; case {view.failing_case}")
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    print(
        "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip() + "   (then: oracle, sizes drawn)"
    )
    for k, r in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())
        for note in notes.get(k, []):
            print(note)
    print(f"\n{len(chosen) - failed} passed, {failed} failed")
    return EXIT_FAIL if failed else EXIT_OK


VERIFY_WIDTH = 100


def _cut(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _cmd_check(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from dlverify.checking import answers as af
    from dlverify.checking.pool import CheckerPool

    paths = [Path(p) for p in args.files]
    try:
        expect = af.expected_ids(args.expect, _assignable) if args.expect else None
    except af.AnswerFileError as exc:
        print(f"dlverify: --expect: {af.one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    folders = [p for p in paths if p.is_dir()]
    if folders and len(paths) > 1:
        print("dlverify: give one folder, or answer files (not folders and files together)", file=sys.stderr)
        return EXIT_USAGE
    if folders or len(paths) > 1:
        for option in ("report", "gradescope", "prairielearn", "json"):
            if getattr(args, option):
                print(f"dlverify: --{option} is for one answer file; several get a summary", file=sys.stderr)
                return EXIT_USAGE
        if folders:
            # every format a student may hand in; a name's ending in any case (HW.TEX)
            files = sorted(f for f in folders[0].iterdir() if f.suffix.lower() in af.ANSWER_SUFFIXES)
            if not files:
                kinds = ", ".join(f"*{s}" for s in af.ANSWER_SUFFIXES)
                print(f"dlverify: no answer files ({kinds}) in {af.one_line(str(folders[0]))}", file=sys.stderr)
                return EXIT_USAGE
            return _check_many(files, folders[0], expect, args)
        return _check_many(paths, Path(os.path.commonpath([p.absolute().parent for p in paths])), expect, args)
    target = paths[0]
    from dlverify.checking import formats

    try:
        document = formats.read(target)
    except af.AnswerFileError as exc:
        print(f"dlverify: {af.one_line(str(exc))}", file=sys.stderr)
        if args.prairielearn:  # PrairieLearn is told the file is not gradable (the attempt is not spent)
            out = Path(args.prairielearn)
            results = af.prairielearn_not_gradable(af.printable(str(exc)))
            _write_output("--prairielearn", lambda: af.write_atomically(out, af.json_text(results)))
        return EXIT_USAGE
    answers = document.answers
    for note in document.notes:  # an \input not followed: the student must know answers there are not read
        print(f"dlverify: note: {af.one_line(note)}", file=sys.stderr)
    workers = max(1, min(os.cpu_count() or 1, len(answers), 4))
    with CheckerPool(workers, timeout=args.timeout, ids=answers) as pool:  # the catalog with --problems' files
        graded = af.grade(
            answers, lambda tasks: [document.relocate(v) for v in pool.map(tasks)], expect, args.hide_reference
        )
    # the verdicts first: a file that cannot be written must not hide them
    if args.json:
        record = graded.to_json() | ({"notes": document.notes} if document.notes else {})
        print(af.json_text(record).rstrip("\n"), flush=True)
    else:
        print(af.text_report(graded), flush=True)
    written = True
    if args.gradescope:
        out = Path(args.gradescope)
        written &= _write_output(
            "--gradescope",
            lambda: af.write_atomically(out, af.json_text(af.gradescope(graded, notes=document.notes))),
        )
        if written:
            print(f"Gradescope results: {af.one_line(str(out))}", file=sys.stderr)
    if args.prairielearn:
        pl_out = Path(args.prairielearn)
        wrote = _write_output(
            "--prairielearn",
            lambda: af.write_atomically(pl_out, af.json_text(af.prairielearn(graded, notes=document.notes))),
        )
        if wrote:
            print(f"PrairieLearn results: {af.one_line(str(pl_out))}", file=sys.stderr)
        written &= wrote
    if args.report:
        from reports.feedback import write_feedback

        def feedback() -> None:
            path, note = write_feedback(graded, answers, target.name, Path(args.report), args.hide_reference)
            print(f"feedback: {af.one_line(str(path))}" + (f" ({af.one_line(note)})" if note else ""), file=sys.stderr)

        written &= _write_output("--report", feedback)
    if not written:
        return EXIT_USAGE
    return EXIT_OK if graded.all_correct else EXIT_FAIL


def _assignable(pid: str) -> str | None:
    """None if ``pid`` is an item an assignment can ask for, else why it is not (--expect)."""
    from dlverify import registry
    from dlverify.checking.kinds import answer_kind

    if pid in registry.problems():
        kind = answer_kind(registry.problems()[pid].kind)
        if not kind.checkable:
            return f"{pid} is {kind.noun or 'a ' + kind.name}: it is verified (dlverify verify {pid}), not answered"
        return None
    if pid in registry.planned():
        return None  # in the catalog: an answer to it is reported as unsupported, not lost
    if pid in registry.topics():
        return f"{pid} is a topic, not an id: list the assignment's ids (dlverify list --topic {pid})"
    return registry.unknown_message(pid)


def _write_output(option: str, write) -> bool:
    """Run one output step; a failure is one line on stderr, not a traceback."""
    try:
        write()
        return True
    except (OSError, RuntimeError, ValueError) as exc:
        from dlverify.checking.answers import one_line

        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc).splitlines() or [""])[0]
        print(f"dlverify: {option}: could not write it: {one_line(reason)}", file=sys.stderr)
        return False


def _check_many(files, folder, expect, args: argparse.Namespace) -> int:
    """Several answer files (a folder's, or a shell glob's): a score per file, and the summary
    written beside them (``folder``: the folder given, or the files' common parent)."""
    import os

    from dlverify.checking import answers as af
    from dlverify.checking import formats
    from dlverify.checking.documents import Document
    from dlverify.checking.pool import CheckerPool, Interrupted

    loaded: list[tuple[str, Document | str]] = []
    inside = folder.resolve()
    for f in files:
        name = _name_in(f, folder)
        if f.is_symlink() and not f.resolve().is_relative_to(inside):
            # in a shared drop folder a student's link could claim a file of the TA's (the solutions)
            loaded.append((name, "not read: a symbolic link to a file outside the folder"))
            continue
        try:
            document = formats.read(f)
        except af.AnswerFileError as exc:
            loaded.append((name, str(exc)))
            continue
        loaded.append((name, document))
        for note in document.notes:
            print(f"dlverify: note: {af.one_line(note)}", file=sys.stderr)
    tasks = [
        (pid, value, args.hide_reference)
        for _, d in loaded
        if isinstance(d, Document)
        for pid, value in d.answers.items()
    ]
    interrupted = False
    judged: list = [None] * len(tasks)
    try:
        workers = max(1, min(os.cpu_count() or 1, len(tasks)))
        ids = {t[0] for t in tasks if isinstance(t[0], str)}
        with CheckerPool(workers, timeout=args.timeout, ids=ids) as pool:
            with _Progress(len(tasks), "answers") as bar:
                judged = pool.map(tasks, bar.step)
    except Interrupted as stop:  # Ctrl-C: keep what was judged, say what was not
        judged, interrupted = stop.verdicts, True
    except KeyboardInterrupt:  # before any answer was judged (the workers were starting)
        interrupted = True
    verdicts = iter(judged)
    rows: list[tuple[str, object]] = []
    for name, d in loaded:
        if isinstance(d, str):
            rows.append((name, d))
            continue
        mine = [next(verdicts) for _ in d.answers]
        if any(v is None for v in mine):
            rows.append((name, "not graded: the run was interrupted"))
            continue
        mine = [d.relocate(v) for v in mine]  # positions as the student's file's lines and columns
        graded = af.grade(d.answers, lambda ts, mine=mine: list(mine), expect, args.hide_reference)
        rows.append((name, graded))
    csv_text, summary = af.summary_tables(rows)
    summary["partial"] = interrupted
    out = folder / "dlverify-summary"
    ok = _write_output("summary", lambda: af.write_atomically(out.with_suffix(".csv"), csv_text))
    ok &= _write_output("summary", lambda: af.write_atomically(out.with_suffix(".json"), af.json_text(summary)))
    for name, graded in rows:
        result = graded if isinstance(graded, str) else f"{graded.score:g}/{graded.max_score:g}"
        print(f"{af.one_line(name)}  {af.one_line(str(result))}")
    if ok:
        csv_path, json_path = (af.one_line(str(out.with_suffix(s))) for s in (".csv", ".json"))
        print(f"summary: {csv_path} and {json_path}" + (" (partial)" if interrupted else ""))
    if interrupted:
        graded_count = sum(v is not None for v in judged)
        print(
            f"interrupted: {graded_count} of {len(judged)} answers judged; the summary is marked partial",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if not ok or any(isinstance(g, str) for _, g in rows):
        return EXIT_USAGE
    # as for one file: 0 only if every answer of every file is correct
    return EXIT_OK if all(g.all_correct for _, g in rows) else EXIT_FAIL


def _name_in(path, folder) -> str:
    """A file's name as the summary lists it: the path as found, relative to the summary's folder
    (two files of the same name in different folders stay apart).  Symbolic links are not
    resolved: ``bob.toml -> alice.toml`` is bob's row, not a second row for alice."""
    try:
        return str(path.absolute().relative_to(folder.absolute()))
    except ValueError:
        return str(path)


def _cmd_template(args: argparse.Namespace) -> int:
    from dlverify import registry
    from dlverify.checking.kinds import STEP_KINDS, answer_kind, comment, toml_key

    if args.format != "toml":  # the student's own document: LaTeX, Markdown or a notebook
        from dlverify.checking import formats

        for pid in args.ids:
            if pid not in registry.planned():
                registry.get(pid)  # an unknown id: the registry's message, exit 2
        print(formats.template(args.ids, args.format, getattr(args, "steps", False)), end="")
        return EXIT_OK
    blocks = []
    for pid in args.ids:
        if pid in registry.planned():
            kind = registry.planned()[pid][0]
            blocks.append(f"# {pid} [{kind}]: in the catalog, not checkable yet\n[{toml_key(pid)}]\nanswer = ''\n")
            continue
        p = registry.get(pid)
        lines = comment(f"{p.id} — {p.title} [{p.kind}]")
        lines += comment(p.statement, 88)
        lines += answer_kind(p.kind).skeleton(p)
        if getattr(args, "steps", False) and p.kind in STEP_KINDS:
            # a derivation instead of the result: one equation a line, "= …" continuing the left side
            lines[-1] = "steps = '''\n\n'''"
        blocks.append("\n".join(lines) + "\n")
    print("\n".join(blocks), end="")
    return EXIT_OK


def _cmd_latex_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dlverify.checking import formats

    folder = Path(args.dir)
    try:
        path = formats.write_package(folder)
    except OSError as exc:
        from dlverify.checking.answers import one_line

        print(
            f"dlverify: latex-package: {one_line(exc.strerror or str(exc))}: {one_line(str(folder))}", file=sys.stderr
        )
        return EXIT_USAGE
    print(path)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from dlverify import registry

    topics = None if args.all or not args.topics else args.topics
    if topics is None and args.problems and not args.all:  # a course's file: its own topics only
        course_topics = {
            p.topic for p in registry.problems().values() if isinstance(registry.source(p.id), registry.CourseFile)
        }
        topics = [t for t in registry.topics() if t in course_topics]
    for t in topics or []:
        if t not in registry.topics():
            registry.select([t])  # raises with the right message
    from reports.build import build

    start = time.perf_counter()
    chosen = registry.select(topics) if topics else registry.problems().values()
    count = sum(not p.recorded for p in chosen)  # a recorded experiment is not cross-checked
    with _Progress(count, "cross-checks") as bar:
        built = build(topics, Path(args.out), examples=args.examples, pdf=not args.no_pdf, progress=bar.step)
    for path in built.tex + built.pdf:
        print(path)
    if built.pdf_skipped:
        print(f"note: {built.pdf_skipped}")
    print(f"built in {time.perf_counter() - start:.1f} s")
    for why in built.pdf_failed:  # where TeX stopped, and that the .tex is kept: a PDF not written
        print(f"dlverify: report: {why}", file=sys.stderr)
    if built.failures:
        print(f"verification FAILED for: {', '.join(built.failures)}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_USAGE if built.pdf_failed else EXIT_OK


def _cmd_autograder(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dlverify import registry
    from dlverify.autograder import write_autograder
    from dlverify.checking.kinds import answer_kind

    ids = [p.id for p in registry.select(args.ids) if answer_kind(p.kind).checkable]
    if not ids:
        print(
            "dlverify: none of these ids takes an answer (numeric claims are verified, not answered)", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        files = [Path(p) for p in args.problems]
        archive = write_autograder(ids, Path(args.out), not args.show_reference, args.timeout, files)
    except (OSError, RuntimeError) as exc:
        print(f"dlverify: autograder: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(ids)} ids: {', '.join(ids)}")
    print(f"wrote {Path(args.out) / 'setup.sh'} and {Path(args.out) / 'run_autograder'}")
    print(f"upload {archive} to Gradescope (Configure Autograder → Zip file upload)")
    return EXIT_OK


def _cmd_cache(args: argparse.Namespace) -> int:
    from dlverify import cache

    root = cache.folder()
    if root is None:
        print("the derivation cache is off (DLVERIFY_CACHE=off)")
        return EXIT_OK
    refused = cache.refusal()
    if refused:  # another user's folder, or one others can write: neither read nor cleared
        print(f"the cache folder {root} is not used: {refused}")
        return EXIT_OK
    if args.clear:  # only the tool's own entries go; the count is of files actually removed
        print(f"removed {cache.clear()} cached entries from {root}")
        return EXIT_OK
    if args.warm:
        from dlverify.autograder import warm

        warm(args.warm)
    entries = cache.entries()
    print(f"{root}: {len(entries)} entries ({sum(size for _, size in entries) / 1e6:.1f} MB)")
    return EXIT_OK


def _time_limit(text: str) -> float:
    """verify's --time-limit: a positive number of seconds (no upper bound: a course's derivation may be slow)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlverify",
        description="Derive deep-learning homework results with SymPy and verify them against "
        "independent numeric oracles (PyTorch autograd, SciPy, brute force).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument(
        "--problems",
        action="append",
        default=[],
        metavar="FILE",
        help="also a course's problem file (TOML: symbols, forward statements, asked derivatives)",
    )

    p_list = sub.add_parser("list", parents=[course], help="list the catalog ids with titles and answer kinds")
    p_list.add_argument("--topic", action="append", help="only this topic (repeatable)")
    p_list.add_argument("--planned", action="store_true", help="list only the catalog ids not derived yet")
    p_list.set_defaults(func=_cmd_list)

    p_show = sub.add_parser(
        "show", parents=[course], help="print a problem's statement, derivation and verified result"
    )
    p_show.add_argument("id")
    p_show.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    p_show.add_argument(
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help=f"at least N cross-checked cases (default: the latest record, or {SHOW_EXAMPLES} run now; 0: none)",
    )
    p_show.add_argument("--fresh", action="store_true", help="run the cross-check now, ignoring records")
    p_show.add_argument(
        "--steps", action="store_true", help="print the derivation as a steps answer (the format the checker reads)"
    )
    p_show.set_defaults(func=_cmd_show)

    p_verify = sub.add_parser("verify", parents=[course], help="cross-check derivations against their numeric oracles")
    p_verify.add_argument("names", nargs="*", metavar="ID|TOPIC")
    p_verify.add_argument("--all", action="store_true", help="every derived problem (the default)")
    p_verify.add_argument("--examples", type=int, default=100, metavar="N", help="random cases per problem")
    p_verify.add_argument(
        "--time-limit",
        type=_time_limit,
        default=600.0,  # crosscheck.TIME_LIMIT (not imported here: --help stays fast)
        metavar="S",
        help="seconds per problem before it is reported as a failure (default 600)",
    )
    p_verify.set_defaults(func=_cmd_verify)

    p_check = sub.add_parser(
        "check",
        parents=[course],
        help="check an answer file (TOML, or the student's .tex, .md or .ipynb); several files, or every one "
        "in a folder, get a score each and a summary",
    )
    p_check.add_argument("files", nargs="+", metavar="FILE|DIR")
    p_check.add_argument("--json", action="store_true", help="print one JSON object")
    p_check.add_argument("--gradescope", metavar="OUT", help="also write Gradescope's results.json to OUT")
    p_check.add_argument(
        "--prairielearn", metavar="OUT", help="also write PrairieLearn's external-grader results.json to OUT"
    )
    p_check.add_argument("--expect", metavar="FILE|IDS", help="the assignment's ids: unanswered ones are missing")
    p_check.add_argument("--hide-reference", action="store_true", help="never print the reference answers")
    p_check.add_argument(
        "--timeout", type=timeout_seconds, default=2.0, metavar="S", help="hard time limit per answer (0 < S ≤ 600)"
    )
    p_check.add_argument(
        "--report", metavar="OUT", help="write a feedback document (.tex, or .pdf if TeX is installed)"
    )
    p_check.set_defaults(func=_cmd_check)

    p_report = sub.add_parser(
        "report", parents=[course], help="build the LaTeX solution manual (and PDFs where TeX is installed)"
    )
    p_report.add_argument("topics", nargs="*", metavar="TOPIC")
    p_report.add_argument("--all", action="store_true", help="every topic (the default)")
    p_report.add_argument("--out", default="reports-out", metavar="DIR", help="output folder (default reports-out)")
    p_report.add_argument("--examples", type=int, default=100, metavar="N", help="cross-check cases per item")
    p_report.add_argument("--no-pdf", action="store_true", help="write .tex only")
    p_report.set_defaults(func=_cmd_report)

    p_auto = sub.add_parser(
        "autograder", parents=[course], help="write a Gradescope autograder (setup.sh, run_autograder, zip)"
    )
    p_auto.add_argument("ids", nargs="+", metavar="ID|TOPIC", help="the assignment's problems")
    p_auto.add_argument("--out", required=True, metavar="DIR", help="where to write it")
    p_auto.add_argument(
        "--show-reference", action="store_true", help="let feedback show the reference answers (hidden by default)"
    )
    p_auto.add_argument("--timeout", type=timeout_seconds, default=2.0, metavar="S", help="time limit per answer")
    p_auto.set_defaults(func=_cmd_autograder)

    p_cache = sub.add_parser("cache", help="the disk cache of derivations and verification records")
    p_cache.add_argument("--clear", action="store_true", help="remove every entry")
    p_cache.add_argument("--warm", nargs="+", metavar="ID|TOPIC", help="derive these now (a course's ids)")
    p_cache.set_defaults(func=_cmd_cache)

    p_template = sub.add_parser("template", parents=[course], help="print an answer-file skeleton for the given ids")
    p_template.add_argument("ids", nargs="+", metavar="ID")
    p_template.add_argument("--steps", action="store_true", help="a derivation skeleton (steps) instead of answer")
    p_template.add_argument(
        "--format",
        choices=("toml", "tex", "md", "ipynb"),
        default="toml",
        help="the skeleton's format: an answers file (toml, the default), or the student's LaTeX, Markdown or "
        "Jupyter document",
    )
    p_template.set_defaults(func=_cmd_template)

    p_sty = sub.add_parser(
        "latex-package", help="write dlverify.sty (the answer and steps environments) into DIR, for a .tex to use"
    )
    p_sty.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to write it (default: here)")
    p_sty.set_defaults(func=_cmd_latex_package)

    from dlverify.serve.cli import add_arguments as serve_arguments  # argparse only: the extra loads when it runs

    p_serve = sub.add_parser("serve", parents=[course], help="serve a live answer page and its JSON API")
    serve_arguments(p_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (getattr(args, "examples", 1) or 0) < 0:
        print("dlverify: --examples must be at least 0", file=sys.stderr)
        return EXIT_USAGE
    import contextlib

    from dlverify import registry
    from dlverify.registry import UnknownProblem

    scope = contextlib.nullcontext()
    if getattr(args, "problems", []):  # the catalog with a course's files, for this command only
        from dlverify.course import ProblemFileError

        try:
            scope = registry.using(registry.current().adding_files(args.problems))
        except ProblemFileError as exc:
            print(f"dlverify: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        with scope:
            return args.func(args)
    except UnknownProblem as exc:
        print(f"dlverify: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head`, say
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
