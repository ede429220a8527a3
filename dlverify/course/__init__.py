"""A course's own problems, from a short TOML problem file (``--problems FILE``).

    [problem."hw5.q2"]
    title = "Gradients of a one-hidden-layer tanh regressor"
    symbols = { x = "vector n", W = "matrix m×n", b = "vector m", v = "vector m", y = "real" }
    forward = '''
    h = tanh(W x + b)
    yhat = v^T h
    L = (yhat - y)^2
    '''
    ask = ["dL/dW", "dL/db", "dL/dx", "dh/dx"]

Each asked derivative becomes a catalog-like ``Problem`` (id ``hw5.q2.dL_dW``) of topic ``hw5``:
derived by the matrix chain rule of ``derivations.course`` from the statements read by the
answer grammar, verified against ``numerics.course`` — the same statements run as a torch
program and differentiated by autograd — and checked like any catalog item.  The two meet
only here: the oracle is built from the parsed text, never from the derived result.

A file is read whole before anything is registered: an error (an undefined symbol, a shape
mismatch, a derivative of something not computed) is one message with its line and column.

A problem file may come from anyone, so what it may ask for is bounded before any of it is
built: a loop's steps (its sequences become inputs x_1 … x_T), the number of problems, asks,
inputs and statements, a statement's nesting, and the size and depth of each quantity written
out in the inputs, which is what the checker evaluates (a statement using the previous quantity
twice doubles it).  Beyond a bound the file is refused with its line and column, never loaded
slowly or half-way.

The package, in the order a file is read: ``reading`` (the TOML tables and their symbols, one
``Model`` per problem), ``loops`` (``for t in 1..T:`` written out), ``statements`` (each line read
by the answer grammar, resolved to SymPy and measured), ``program`` (the oracle's tree, from the
parsed text), ``problems`` (each asked derivative as a ``Problem``, derived at load); ``limits``
holds the bounds and ``errors`` the ``file:line:column`` messages.
"""

from __future__ import annotations

from pathlib import Path

from dlverify.course.errors import ProblemFileError, Where
from dlverify.course.limits import (
    MAX_ASKS,
    MAX_EXPANDED_DEPTH,
    MAX_EXPANDED_SIZE,
    MAX_FILE_ASKS,
    MAX_FILE_STATEMENTS,
    MAX_INPUTS,
    MAX_NAME,
    MAX_NESTING,
    MAX_PROBLEMS,
    MAX_REFERENCE_SIZE,
    MAX_STATEMENTS,
    MAX_STEPS,
)
from dlverify.course.loops import loop_bound
from dlverify.course.problems import asks, check_reference, problem
from dlverify.course.reading import Model, model, read_tables
from dlverify.problem import Problem, Topic

__all__ = [
    "MAX_ASKS",
    "MAX_EXPANDED_DEPTH",
    "MAX_EXPANDED_SIZE",
    "MAX_FILE_ASKS",
    "MAX_FILE_STATEMENTS",
    "MAX_INPUTS",
    "MAX_NAME",
    "MAX_NESTING",
    "MAX_PROBLEMS",
    "MAX_REFERENCE_SIZE",
    "MAX_STATEMENTS",
    "MAX_STEPS",
    "Model",
    "ProblemFileError",
    "load",
    "loop_bound",
]


def load(path: Path) -> tuple[list[Topic], list[Problem]]:
    """The topics and problems of a problem file; ProblemFileError (nothing registered) if it is wrong."""
    lines, tables = read_tables(path)
    topics: dict[str, Topic] = {}
    problems: list[Problem] = []
    budget = [MAX_FILE_STATEMENTS]  # statements left for the file's remaining problems
    for pid, table in tables.items():
        where = Where(path, lines, pid)
        read = model(pid, table, where, budget)
        topic = pid.split(".")[0]
        topics.setdefault(topic, Topic(topic, f"Course problems ({topic}, from {path.name})", order=5000))
        for ask in asks(table, read, where):
            if len(problems) == MAX_FILE_ASKS:
                raise where.error("ask", f"more than {MAX_FILE_ASKS} asked derivatives in one file")
            item = problem(read, topic, ask)
            check_reference(item, read, ask, where)
            problems.append(item)
    return list(topics.values()), problems
