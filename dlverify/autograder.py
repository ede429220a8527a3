"""A Gradescope autograder for an assignment's ids: ``dlverify autograder IDS… --out DIR``.

Gradescope builds an image once from the autograder zip by running ``setup.sh`` (here: install
this package from the copy in the zip into a virtual environment, ``/autograder/venv``, and derive
the assignment's problems into the disk cache, so that no submission pays for SymPy's
derivations; the image needs Python 3.11 or newer, e.g. Gradescope's Ubuntu 24.04 base image),
then runs ``run_autograder`` in a fresh container per submission.  That script checks the one answers
file in ``/autograder/submission`` (``*.toml``, or the student's own ``*.tex``, ``*.md`` or ``*.ipynb``,
read as data: no TeX and no notebook cell is run) and writes ``/autograder/results/results.json``.  Containers run in
parallel, which is how a course of thousands is graded: each one's cold start is the fast
path (a cached derivation and one forked worker).

``AUTOGRADER_ROOT`` replaces ``/autograder``, and ``DLVERIFY_PYTHON`` the environment's interpreter
(the tests run the script against a fake tree, with their own Python).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
from pathlib import Path

PACKAGES = ("dlverify", "derivations", "numerics", "reports")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.
# The image must have bash and Python 3.11 or newer as python3: Gradescope's Ubuntu 24.04 base image
# (python3 is 3.12) has it; Ubuntu 22.04's python3 is 3.10, too old, unless DLVERIFY_BASE_PYTHON names
# a 3.11+ interpreter installed there (say python3.11).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
cd -- "$ROOT/source"
BASE="${{DLVERIFY_BASE_PYTHON:-python3}}"
if ! command -v "$BASE" >/dev/null; then
  apt-get update && apt-get install -y python3 python3-venv
fi
if ! "$BASE" -I -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: dlverify needs Python 3.11 or newer, and $BASE is $("$BASE" -V 2>&1 || true)." >&2
  echo "setup.sh: choose Gradescope's Ubuntu 24.04 base image, or set DLVERIFY_BASE_PYTHON to a python3.11+." >&2
  exit 1
fi
# an environment of its own: Ubuntu's python3 refuses a plain pip install (PEP 668), and the
# checker's packages stay apart from the system's
if ! "$BASE" -I -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update && apt-get install -y python3-venv
fi
"$BASE" -I -m venv --clear "$ROOT/venv"
PY="$ROOT/venv/bin/python3"
# PyTorch's CPU build first: the default index would bring several GB of CUDA libraries
"$PY" -I -m pip install {torch} --index-url https://download.pytorch.org/whl/cpu
"$PY" -I -m pip install ./dlverify-src
# derive the assignment's problems (warm.txt) now, into the image: each submission starts with them
DLVERIFY_CACHE="$ROOT/dlverify-cache" "$PY" -I -m dlverify.autograder warm{warm}
"""

# The submission's files are the student's (any name: spaces, quotes, $(...), a leading -, newlines),
# so they are only ever data: every word this script is generated with is quoted, the submission's
# path comes after -- (and is absolute), and Python runs isolated (-I) from here, not from the
# submission's folder, so that neither folder is on sys.path: a submitted lark.py is never imported.
RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission, in a fresh container.
set -u
ROOT="$(cd -- "${{AUTOGRADER_ROOT:-/autograder}}" && pwd -P)" || exit 1
cd -- "$ROOT" || exit 1
PY="${{DLVERIFY_PYTHON:-$ROOT/venv/bin/python3}}"
export DLVERIFY_CACHE="${{DLVERIFY_CACHE:-$ROOT/dlverify-cache}}"
RESULTS="$ROOT/results/results.json"
LOG="$ROOT/results/dlverify.log"
mkdir -p -- "$ROOT/results"
# a reused tree's results.json is the previous submission's: it must never stand for this one
rm -f -- "$RESULTS"
shopt -s nullglob nocaseglob
files=("$ROOT"/submission/*.{{toml,tex,md,markdown,ipynb}})
if [ "${{#files[@]}}" -ne 1 ] || [ -L "${{files[0]}}" ] || [ ! -f "${{files[0]}}" ]; then
  exec "$PY" -I -m dlverify.autograder refuse "$RESULTS" ${{files[@]+"${{files[@]}}"}}
fi
"$PY" -I -m dlverify check --expect "$ROOT/source/ids.txt" --gradescope "$RESULTS" \\
  --timeout {timeout}{hide}{problems} -- "${{files[0]}}" > "$LOG" 2>&1
status=$?
if [ ! -s "$RESULTS" ]; then
  exec "$PY" -I -m dlverify.autograder failed "$RESULTS" "$status" "$LOG"
fi
"""


def write_autograder(
    ids: list[str], out: Path, hide_reference: bool = True, timeout: float = 2.0, problem_files: list[Path] = ()
) -> Path:
    """Write ``setup.sh``, ``run_autograder``, ``ids.txt`` and a copy of this package into ``out``,
    and ``out/autograder.zip`` with all of them, the file Gradescope takes; the zip's path.
    ``problem_files``: a course's problem files (dlverify/course/), copied into the zip and
    passed to every check."""
    source = _source_root()
    _claim(out)
    src = out / "dlverify-src"
    if src.is_symlink() or src.is_file():
        src.unlink()
    elif src.exists():
        shutil.rmtree(src)  # ours: the folder carries the marker (_claim), so this copy is an earlier run's
    for package in PACKAGES:
        shutil.copytree(source / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(source / name, src / name)
    (out / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    from dlverify import registry

    catalog_ids = [i for i in ids if registry.source_module(i)]  # a course file's are derived when checked
    (out / "warm.txt").write_text("\n".join(catalog_ids) + "\n", encoding="utf-8")
    (out / "problems").mkdir(exist_ok=True)
    names = []
    for k, path in enumerate(problem_files):
        # a safe name in the zip and the script (the file's own name may hold any character), still readable
        name = f"{k}-" + re.sub(r"[^A-Za-z0-9._-]", "_", Path(path).name)
        shutil.copyfile(path, out / "problems" / name)
        names.append(name)
    problems = "".join(f' --problems "$ROOT"/source/problems/{shlex.quote(name)}' for name in names)
    setup = SETUP.format(
        torch=shlex.quote(_torch_requirement()), warm="".join(" " + shlex.quote(i) for i in catalog_ids)
    )
    (out / "setup.sh").write_text(setup, encoding="utf-8")
    hide = " --hide-reference" if hide_reference else ""
    run = RUN.format(timeout=shlex.quote(f"{timeout:g}"), hide=hide, problems=problems)
    (out / "run_autograder").write_text(run, encoding="utf-8")
    for script in ("setup.sh", "run_autograder"):
        (out / script).chmod(0o755)
    archive = out / "autograder.zip"
    archive.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        for name in ("setup.sh", "run_autograder", "ids.txt", "warm.txt"):
            shutil.copy2(out / name, staging / name)
        shutil.copytree(src, staging / "dlverify-src")
        (staging / "problems").mkdir()
        for name in names:  # these only: an earlier run's files in out/problems are not this assignment's
            shutil.copyfile(out / "problems" / name, staging / "problems" / name)
        shutil.make_archive(str(archive.with_suffix("")), "zip", staging)
    return archive


MARKER = ".dlverify-autograder"


def _claim(out: Path) -> None:
    """Make ``out`` the autograder's folder: a new or empty folder, or one an earlier run wrote (it
    holds MARKER).  A folder of the user's own files is refused, since writing the autograder
    replaces setup.sh, ids.txt, problems/ and dlverify-src/ in it."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RuntimeError(f"{out} is not a folder")
    if out.is_dir():
        # a folder another user owns or can write could hold links planted where the scripts are
        # written (setup.sh -> a victim's file), or swap the zip before it is uploaded
        st = out.stat()
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise RuntimeError(f"{out} is not yours alone (another user owns it or may write in it)")
        if not (out / MARKER).is_file() and any(out.iterdir()):
            raise RuntimeError(f"{out} holds files that dlverify did not write; give a new or empty folder for --out")
    out.mkdir(parents=True, exist_ok=True, mode=0o755)  # not group-writable whatever the umask
    (out / MARKER).write_text("written by dlverify autograder; its files here are replaced on every run\n")


def _source_root() -> Path:
    """The folder holding this package's sources and pyproject.toml (an editable or source install)."""
    import dlverify

    root = Path(dlverify.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file() or not all((root / p).is_dir() for p in PACKAGES):
        raise RuntimeError(f"the autograder copies this package's source tree, which is not at {root}")
    return root


def _torch_requirement() -> str:
    try:
        import importlib.metadata

        version = importlib.metadata.version("torch").split("+")[0]
        return f"torch=={version}"
    except Exception:  # no torch here: the range the package itself requires
        return "torch>=2.1,<3"


def _write(results: Path, payload: dict) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


KINDS = ".toml, .tex, .md or .ipynb"  # the formats run_autograder takes


def refuse(results: Path, files: list[str]) -> None:
    """No answers file, several, or one that is not a plain file: say so (the submission's problem, scored 0)."""
    if not files:
        text = (
            f"No answers file was found: submit one {KINDS} file "
            "(dlverify template IDS --format tex|md|ipynb prints a skeleton)."
        )
    elif len(files) == 1:  # a link or a folder: only a plain file is read
        text = f"{Path(files[0]).name} is not a plain file: submit one {KINDS} answers file."
    else:
        names = ", ".join(Path(f).name for f in files)
        kinds = {Path(f).suffix.lower() for f in files}
        what = f"Several {kinds.pop()} files" if len(kinds) == 1 else "Several answers files"
        text = (
            f"{what} were submitted ({names}): submit exactly one answers file ({KINDS}); "
            "an \\input file is not read, so put every answer in the one file."
        )
    _write(results, {"score": 0, "output": text})


def failed(results: Path, status: str, log: Path) -> None:
    """The check wrote no results: an unreadable answers file (exit 2, the message says why) or a
    failure of the checker itself, which is never the student's mistake and is said so."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    said = [line for line in lines if line.startswith("dlverify:")]
    if status == "2" and said:
        text = "Your answers file could not be read: " + said[-1].removeprefix("dlverify:").strip()
    else:
        text = (
            "The checker failed on this submission; this is not a mistake in your answers. "
            "Please tell your instructor (the autograder's log has the details)."
        )
    _write(results, {"score": 0, "output": text})


def warm(ids: list[str]) -> None:
    """Derive each problem (into the disk cache), and everything the checker prepares for it."""
    from dlverify import registry
    from dlverify.checking.worker import warm as prepare

    chosen = [p.id for p in registry.select(ids)] if ids else []
    prepare(chosen)
    print(f"prepared {len(chosen)} problems")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python3 -m dlverify.autograder warm IDS… | refuse RESULTS [FILES…] | failed RESULTS STATUS LOG")
        return 2
    command, rest = argv[0], argv[1:]
    if command == "warm":
        warm(rest)
    elif command == "refuse":
        refuse(Path(rest[0]), rest[1:])
    elif command == "failed":
        failed(Path(rest[0]), rest[1], Path(rest[2]))
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
