"""Benchmark: time to write every report's .tex, and to compile every PDF.

Run:  python benchmarks/reports.py [--examples 100]

Both are measured in this one run, into a temporary folder.  Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args()

    from reports.build import Built, build, compile_all, latexmk_available

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        built = build(None, Path(tmp), examples=args.examples, pdf=False)
        tex_time = time.perf_counter() - start
        print(f"all .tex ({len(built.tex)} files, {args.examples} cases per item): {tex_time:.1f} s")
        if not latexmk_available():
            print("all PDFs: skipped (no TeX toolchain installed)")
            return
        start = time.perf_counter()
        compiled = Built(tex=built.tex)
        compile_all(compiled)
        pdf_time = time.perf_counter() - start
        print(f"all PDFs ({len(compiled.pdf)} files): {pdf_time:.1f} s; ratio PDF/tex {pdf_time / tex_time:.1f}")


if __name__ == "__main__":
    main()
