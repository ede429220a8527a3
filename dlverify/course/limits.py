"""Bounds on what a problem file may ask for (README "A course's own problems").

A problem file may come from anyone, so what it may ask for is bounded before any of it is
built; beyond a bound the file is refused with its line and column, never loaded slowly or
half-way.
"""

from __future__ import annotations

MAX_PROBLEMS = 50  # [problem."id"] tables in one file
MAX_ASKS = 20  # asked derivatives of one problem
MAX_NAME = 40  # characters of a symbol or size name, and of a title (times 5)
MAX_INPUTS = 200  # symbols of one problem, a sequence counting T times
MAX_STATEMENTS = 200  # statements of one problem, loops unrolled
MAX_FILE_STATEMENTS = 1000  # statements of all the problems of a file
MAX_NESTING = 60  # levels of one parsed statement (brackets, signs, operators)
# The checker writes a reference out in the inputs (as a tree: a quantity used twice is there
# twice), walks it recursively, and for a wrong answer does so again for each likely mistake:
# the size and depth of that tree decide whether an answer is judged well within its CPU limit
# (dlverify.checking.pool.DEFAULT_TIMEOUT), and whether the walk stays within Python's recursion limit.
MAX_EXPANDED_DEPTH = 200  # levels of a quantity, or of an asked derivative, written out in the inputs
MAX_EXPANDED_SIZE = 5000  # nodes of a quantity written out in the inputs
MAX_REFERENCE_SIZE = 6000  # nodes of an asked derivative written out in the inputs (derived at load)
MAX_FILE_ASKS = 100  # asked derivatives of all the problems of a file (each is derived at load)
# A loop's last step, not only its length: a sequence x becomes the inputs x_1 … x_T, T the last step.
MAX_STEPS = 64
