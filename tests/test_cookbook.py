"""The Matrix Cookbook's identities and PyTorch's backward formulas, restated as course problems in
their own notation (examples/course/cookbook.toml, cookbook_yaml.toml; issue 29).

Each row is checked three ways, none of them against the checker's own output:
- the textbook formula is true: torch autograd on the identity written here by hand in torch (not
  parsed) equals the formula written here by hand in torch, and the wrong variant does not
  (``TestTheFormulasThemselves``);
- the problem file's derivation agrees with the oracle, the parsed statements run in torch
  (``cross_check``), and its printed reference (Unicode and LaTeX) reads back as right;
- the textbook formula, as the source writes it, is accepted, and the wrong variant is rejected.

Equation numbers are those of The Matrix Cookbook, version of 15 November 2012; a yaml entry names
the function of tools/autograd/derivatives.yaml and its backward formula.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlverify import notation, registry
from dlverify.checking.judge import judge
from dlverify.crosscheck import cross_check

COURSE = Path(__file__).resolve().parents[1] / "examples" / "course"
FILES = ("cookbook.toml", "cookbook_yaml.toml")

# (id, source, the textbook formula as the source writes it, a wrong variant)
ROWS = [
    ("cookbook.c69.dL_dx", "Cookbook (69)", "a", "a^T a"),
    ("cookbook.c70.dL_dX", "Cookbook (70)", "a b^T", "b a^T"),
    ("cookbook.c71.dL_dX", "Cookbook (71)", "b a^T", "a b^T"),
    ("cookbook.c72.dL_dX", "Cookbook (72)", "a a^T", "2 a a^T"),
    ("cookbook.c77.dL_dX", "Cookbook (77)", "X (b c^T + c b^T)", "2 X b c^T"),
    ("cookbook.c78.dL_dx", "Cookbook (78)", "B^T C (D x + d) + D^T C^T (B x + b)", "B^T C (D x + d) + D^T C (B x + b)"),
    ("cookbook.c81.dL_dx", "Cookbook (81)", "(B + B^T) x", "2 B x"),
    ("cookbook.c82.dL_dX", "Cookbook (82)", "D^T X b c^T + D X c b^T", "D X b c^T + D X c b^T"),
    ("cookbook.c83.dL_dX", "Cookbook (83)", "(D + D^T) (X b + c) b^T", "2 D (X b + c) b^T"),
    ("cookbook.wls.dL_ds", "Cookbook (84), (87), (88)", "-2 A^T W (x - A s)", "2 A^T W (x - A s)"),
    ("cookbook.wls.dL_dx", "Cookbook (84), (87), (88)", "2 W (x - A s)", "W (x - A s)"),
    ("cookbook.wls.dL_dA", "Cookbook (84), (87), (88)", "-2 W (x - A s) s^T", "-2 W (x - A s) s"),
    ("cookbook.wdist.dL_dx", "Cookbook (85), (86)", "2 W (x - s)", "W (x - s)"),
    ("cookbook.wdist.dL_ds", "Cookbook (85), (86)", "-2 W (x - s)", "2 W (x - s)"),
    ("cookbook.c89.dL_dX", "Cookbook (89)", "a b^T (X^2)^T + X^T a b^T X^T + (X^2)^T a b^T", "3 (X^2)^T a b^T"),
    ("cookbook.c49.dL_dX", "Cookbook (49)", "\\det(X) X^{-T}", "\\det(X) X^{-1}"),
    ("cookbook.c51.dL_dX", "Cookbook (51)", "\\det(A X B) X^{-T}", "\\det(A X B) (A X B)^{-T}"),
    ("cookbook.c59.dL_dX", "Cookbook (59)", "X^{-T}", "X^{-1}"),
    ("cookbook.c60.dL_dX", "Cookbook (60)", "3 \\det(X^3) X^{-T}", "\\det(X^3) X^{-T}"),
    ("cookbook.c63.dL_dX", "Cookbook (63)", "-X^{-T} a b^T X^{-T}", "-X^{-1} a b^T X^{-1}"),
    ("cookbook.c64.dL_dX", "Cookbook (64)", "-\\det(X^{-1}) X^{-T}", "\\det(X^{-1}) X^{-T}"),
    ("cookbook.c65.dL_dX", "Cookbook (65), (124)", "-(X^{-1} B A X^{-1})^T", "-(X^{-1} A B X^{-1})^T"),
    ("cookbook.c99.dL_dX", "Cookbook (99)", "I", "X^T"),
    ("cookbook.c100.dL_dX", "Cookbook (100)", "A^T", "A"),
    ("cookbook.c101.dL_dX", "Cookbook (101)", "A^T B^T", "2 A^T B^T"),
    ("cookbook.c102.dL_dX", "Cookbook (102)", "B A", "A^T B^T"),
    ("cookbook.c103.dL_dX", "Cookbook (103)", "A", "2 A"),
    ("cookbook.c104.dL_dX", "Cookbook (104)", "A", "-A"),
    ("cookbook.c106.dL_dX", "Cookbook (106)", "2 X^T", "2 X"),
    ("cookbook.c107.dL_dX", "Cookbook (107)", "(X B + B X)^T", "X B + B X"),
    ("cookbook.c108.dL_dX", "Cookbook (108)", "B X + B^T X", "2 B X"),
    ("cookbook.c109.dL_dX", "Cookbook (109)", "B X + B^T X", "2 B^T X"),
    ("cookbook.c111.dL_dX", "Cookbook (111)", "X B^T + X B", "2 X B"),
    ("cookbook.c114.dL_dX", "Cookbook (114)", "A^T X^T B^T + B^T X^T A^T", "2 A^T X^T B^T"),
    ("cookbook.c115.dL_dX", "Cookbook (115)", "2 X", "X"),
    ("cookbook.c116.dL_dX", "Cookbook (116)", "C^T X B B^T + C X B B^T", "2 C X B B^T"),
    ("cookbook.c117.dL_dX", "Cookbook (117)", "B X C + B^T X C^T", "B X C + B X C^T"),
    ("cookbook.c118.dL_dX", "Cookbook (118)", "A^T C^T X B^T + C A X B", "A^T C^T X B + C A X B"),
    ("cookbook.c119.dL_dX", "Cookbook (119)", "2 A^T (A X B + C) B^T", "A^T (A X B + C) B^T"),
    ("cookbook.c121.dL_dX", "Cookbook (121)", "3 (X^2)^T", "3 X^2"),
    ("cookbook.c129.dL_dx", "Cookbook (129)", "\\frac{x - a}{\\|x - a\\|_2}", "\\frac{x - a}{\\|x - a\\|_2^2}"),
    ("cookbook.c131.dL_dx", "Cookbook (131)", "2 x", "x"),
    ("cookbook.c132.dL_dX", "Cookbook (132)", "2 X", "X"),
    ("cookbook.mm.dL_dA", "derivatives.yaml mm", "G B^T", "B^T G"),
    ("cookbook.mm.dL_dB", "derivatives.yaml mm", "A^T G", "G A^T"),
    ("cookbook.mv.dL_dA", "derivatives.yaml mv", "g v^T", "v g^T"),
    ("cookbook.mv.dL_dv", "derivatives.yaml mv", "A^T g", "A g"),
    ("cookbook.dot.dL_da", "derivatives.yaml dot", "g b", "g a"),
    ("cookbook.exp.dL_dx", "derivatives.yaml exp", "g \\odot y", "g"),
    ("cookbook.log.dL_dx", "derivatives.yaml log", "g \\oslash x", "g \\odot x"),
    ("cookbook.sqrt.dL_dx", "derivatives.yaml sqrt", "\\frac{g}{2 y}", "\\frac{g}{y}"),
    ("cookbook.tanh.dL_dx", "derivatives.yaml tanh", "g \\odot (1 - y \\odot y)", "g \\odot (1 - y)"),
    ("cookbook.sigmoid.dL_dx", "derivatives.yaml sigmoid", "g \\odot y \\odot (1 - y)", "g \\odot y"),
    ("cookbook.div.dL_da", "derivatives.yaml div.Tensor", "g \\oslash b", "g \\odot b"),
    (
        "cookbook.div.dL_db",
        "derivatives.yaml div.Tensor",
        "-g \\odot a \\oslash (b \\odot b)",
        "-g \\odot a \\oslash b",
    ),
    ("cookbook.reciprocal.dL_dx", "derivatives.yaml reciprocal", "-g \\odot y \\odot y", "g \\odot y \\odot y"),
    ("cookbook.logsumexp.dL_dz", "derivatives.yaml logsumexp", "g \\exp(z - \\mathbf{1} s)", "g \\exp(z)"),
    ("cookbook.softmax.dL_dz", "derivatives.yaml _softmax", "p \\odot (g - \\mathbf{1} (g^T p))", "p \\odot g"),
    ("cookbook.det.dL_dX", "derivatives.yaml linalg_det", "g \\det(X) X^{-T}", "g \\det(X) X^{-1}"),
    ("cookbook.inverse.dL_dX", "derivatives.yaml linalg_inv_ex", "-X^{-T} G X^{-T}", "-X^{-1} G X^{-1}"),
    ("cookbook.trace.dL_dX", "derivatives.yaml trace", "g I", "g X"),
    ("cookbook.norm.dL_dx", "derivatives.yaml norm", "g \\frac{x}{\\|x\\|}", "g x"),
    ("cookbook.mul.dL_da", "derivatives.yaml mul.Tensor", "g \\odot b", "g \\odot a"),
    (
        "cookbook.scale.dL_dx",
        "derivatives.yaml mul.Scalar",
        "\\alpha W^T (g \\odot (1 - \\tanh(W x) \\odot \\tanh(W x)))",
        "W^T (g \\odot (1 - \\tanh(W x) \\odot \\tanh(W x)))",
    ),
]


@pytest.fixture
def cookbook(catalog):
    for name in FILES:
        registry.load_problems(COURSE / name)
    return catalog


class TestTheRows:
    """The problem files restate at least 30 Cookbook identities and 10 derivatives.yaml formulas."""

    def test_enough_of_each(self) -> None:
        cookbook = {src for _, src, _, _ in ROWS if src.startswith("Cookbook")}
        numbers = {n.strip("(), ") for src in cookbook for n in src.removeprefix("Cookbook").split(",")}
        yaml = {src.split()[1] for _, src, _, _ in ROWS if src.startswith("derivatives.yaml")}
        assert len(numbers) >= 30 and len(yaml) >= 10, (sorted(numbers), sorted(yaml))

    def test_every_asked_derivative_has_a_row(self, cookbook) -> None:
        asked = {p.id for p in registry.problems().values() if p.id.startswith("cookbook.")}
        assert asked == {row[0] for row in ROWS}


@pytest.mark.parametrize(("pid", "source", "right", "wrong"), ROWS, ids=[r[0] for r in ROWS])
def test_the_identity_as_a_course_problem(pid: str, source: str, right: str, wrong: str, cookbook) -> None:
    """Derived and verified against torch (the parsed statements run by autograd); the textbook formula
    accepted, the wrong variant rejected; the printed reference, Unicode and LaTeX, read back as right.
    (One test per row: loading the two files derives every row.)"""
    check = cross_check(registry.get(pid), examples=10)
    assert check.passed, (pid, check.failure)
    verdict = judge(pid, right)
    assert verdict.verdict == "correct", (source, right, verdict.message)
    verdict = judge(pid, wrong)
    assert verdict.verdict == "incorrect", (source, wrong, verdict.message)
    result = registry.get(pid).derive().result
    for printed in (notation.unicode(result), notation.latex(result)):
        verdict = judge(pid, printed)
        assert verdict.verdict == "correct", (printed, verdict.message)


EXAMPLES = sorted(p for p in COURSE.glob("*.toml") if not p.stem.endswith("_answers"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_course_example_reference_reads_back(path: Path, catalog) -> None:
    """The printed reference of every item of every course example is read back as right."""
    for problem in registry.load_problems(path):
        result = problem.derive().result
        for printed in (notation.unicode(result), notation.latex(result)):
            verdict = judge(problem.id, printed)
            assert verdict.verdict == "correct", (problem.id, printed, verdict.message)


# The identities written by hand in torch: (inputs name → (shape, structure), the forward L, the
# variable, the textbook formula, the wrong variant), at sizes n, m, k, l, p all different (a transpose
# or a swapped factor shows).  A variable named in the inputs and computed (x = exp(u)) is drawn there.
N, M, K, LL, P = 3, 2, 4, 5, 3


def _truth() -> dict:
    import torch

    t, inv, det, tr = (lambda a: a.T), torch.linalg.inv, torch.linalg.det, torch.trace
    mp = torch.linalg.matrix_power

    def ones(n: int):
        return torch.ones(n, 1, dtype=torch.float64)

    def sq(a):
        return (a * a).sum()

    quad = {"x": (N, 1), "s": (M, 1), "A": (N, M), "W": ((N, N), "symmetric")}
    dist = {"x": (N, 1), "s": (N, 1), "W": ((N, N), "symmetric")}
    xi = {"X": ((N, N), "invertible")}
    return {
        "cookbook.c69.dL_dx": (
            {"x": (N, 1), "a": (N, 1)},
            lambda d: t(d["x"]) @ d["a"],
            "x",
            lambda d: d["a"],
            lambda d: t(d["a"]) @ d["a"],
        ),
        "cookbook.c70.dL_dX": (
            {"a": (N, 1), "b": (M, 1), "X": (N, M)},
            lambda d: t(d["a"]) @ d["X"] @ d["b"],
            "X",
            lambda d: d["a"] @ t(d["b"]),
            lambda d: d["b"] @ t(d["a"]),
        ),
        "cookbook.c71.dL_dX": (
            {"a": (N, 1), "b": (M, 1), "X": (M, N)},
            lambda d: t(d["a"]) @ t(d["X"]) @ d["b"],
            "X",
            lambda d: d["b"] @ t(d["a"]),
            lambda d: d["a"] @ t(d["b"]),
        ),
        "cookbook.c72.dL_dX": (
            {"a": (N, 1), "X": (N, N)},
            lambda d: t(d["a"]) @ d["X"] @ d["a"],
            "X",
            lambda d: d["a"] @ t(d["a"]),
            lambda d: 2 * d["a"] @ t(d["a"]),
        ),
        "cookbook.c77.dL_dX": (
            {"b": (N, 1), "c": (N, 1), "X": (M, N)},
            lambda d: t(d["b"]) @ t(d["X"]) @ d["X"] @ d["c"],
            "X",
            lambda d: d["X"] @ (d["b"] @ t(d["c"]) + d["c"] @ t(d["b"])),
            lambda d: 2 * d["X"] @ d["b"] @ t(d["c"]),
        ),
        "cookbook.c78.dL_dx": (
            {"x": (N, 1), "B": (K, N), "b": (K, 1), "C": (K, LL), "D": (LL, N), "d": (LL, 1)},
            lambda d: t(d["B"] @ d["x"] + d["b"]) @ d["C"] @ (d["D"] @ d["x"] + d["d"]),
            "x",
            lambda d: (
                t(d["B"]) @ d["C"] @ (d["D"] @ d["x"] + d["d"]) + t(d["D"]) @ t(d["C"]) @ (d["B"] @ d["x"] + d["b"])
            ),
            lambda d: t(d["B"]) @ d["C"] @ (d["D"] @ d["x"] + d["d"]) + t(d["D"]) @ d["C"] @ (d["B"] @ d["x"] + d["b"]),
        ),
        "cookbook.c81.dL_dx": (
            {"x": (N, 1), "B": (N, N)},
            lambda d: t(d["x"]) @ d["B"] @ d["x"],
            "x",
            lambda d: (d["B"] + t(d["B"])) @ d["x"],
            lambda d: 2 * d["B"] @ d["x"],
        ),
        "cookbook.c82.dL_dX": (
            {"b": (M, 1), "c": (M, 1), "X": (N, M), "D": (N, N)},
            lambda d: t(d["b"]) @ t(d["X"]) @ d["D"] @ d["X"] @ d["c"],
            "X",
            lambda d: t(d["D"]) @ d["X"] @ d["b"] @ t(d["c"]) + d["D"] @ d["X"] @ d["c"] @ t(d["b"]),
            lambda d: d["D"] @ d["X"] @ d["b"] @ t(d["c"]) + d["D"] @ d["X"] @ d["c"] @ t(d["b"]),
        ),
        "cookbook.c83.dL_dX": (
            {"b": (M, 1), "c": (N, 1), "X": (N, M), "D": (N, N)},
            lambda d: t(d["X"] @ d["b"] + d["c"]) @ d["D"] @ (d["X"] @ d["b"] + d["c"]),
            "X",
            lambda d: (d["D"] + t(d["D"])) @ (d["X"] @ d["b"] + d["c"]) @ t(d["b"]),
            lambda d: 2 * d["D"] @ (d["X"] @ d["b"] + d["c"]) @ t(d["b"]),
        ),
        "cookbook.wls.dL_ds": (
            quad,
            lambda d: t(d["x"] - d["A"] @ d["s"]) @ d["W"] @ (d["x"] - d["A"] @ d["s"]),
            "s",
            lambda d: -2 * t(d["A"]) @ d["W"] @ (d["x"] - d["A"] @ d["s"]),
            lambda d: 2 * t(d["A"]) @ d["W"] @ (d["x"] - d["A"] @ d["s"]),
        ),
        "cookbook.wls.dL_dx": (
            quad,
            lambda d: t(d["x"] - d["A"] @ d["s"]) @ d["W"] @ (d["x"] - d["A"] @ d["s"]),
            "x",
            lambda d: 2 * d["W"] @ (d["x"] - d["A"] @ d["s"]),
            lambda d: d["W"] @ (d["x"] - d["A"] @ d["s"]),
        ),
        "cookbook.wls.dL_dA": (
            quad,
            lambda d: t(d["x"] - d["A"] @ d["s"]) @ d["W"] @ (d["x"] - d["A"] @ d["s"]),
            "A",
            lambda d: -2 * d["W"] @ (d["x"] - d["A"] @ d["s"]) @ t(d["s"]),
            lambda d: 2 * d["W"] @ (d["x"] - d["A"] @ d["s"]) @ t(d["s"]),
        ),
        "cookbook.wdist.dL_dx": (
            dist,
            lambda d: t(d["x"] - d["s"]) @ d["W"] @ (d["x"] - d["s"]),
            "x",
            lambda d: 2 * d["W"] @ (d["x"] - d["s"]),
            lambda d: d["W"] @ (d["x"] - d["s"]),
        ),
        "cookbook.wdist.dL_ds": (
            dist,
            lambda d: t(d["x"] - d["s"]) @ d["W"] @ (d["x"] - d["s"]),
            "s",
            lambda d: -2 * d["W"] @ (d["x"] - d["s"]),
            lambda d: 2 * d["W"] @ (d["x"] - d["s"]),
        ),
        "cookbook.c89.dL_dX": (
            {"a": (N, 1), "b": (N, 1), "X": (N, N)},
            lambda d: t(d["a"]) @ mp(d["X"], 3) @ d["b"],
            "X",
            lambda d: sum(t(mp(d["X"], r)) @ d["a"] @ t(d["b"]) @ t(mp(d["X"], 2 - r)) for r in range(3)),
            lambda d: 3 * t(mp(d["X"], 2)) @ d["a"] @ t(d["b"]),
        ),
        "cookbook.c49.dL_dX": (
            xi,
            lambda d: det(d["X"]),
            "X",
            lambda d: det(d["X"]) * t(inv(d["X"])),
            lambda d: det(d["X"]) * inv(d["X"]),
        ),
        "cookbook.c51.dL_dX": (
            {"A": ((N, N), "invertible"), "B": ((N, N), "invertible"), "X": ((N, N), "invertible")},
            lambda d: det(d["A"] @ d["X"] @ d["B"]),
            "X",
            lambda d: det(d["A"] @ d["X"] @ d["B"]) * t(inv(d["X"])),
            lambda d: det(d["A"] @ d["X"] @ d["B"]) * t(inv(d["A"] @ d["X"] @ d["B"])),
        ),
        "cookbook.c59.dL_dX": (
            xi,
            lambda d: torch.log(det(d["X"])),
            "X",
            lambda d: t(inv(d["X"])),
            lambda d: inv(d["X"]),
        ),
        "cookbook.c60.dL_dX": (
            xi,
            lambda d: det(mp(d["X"], 3)),
            "X",
            lambda d: 3 * det(mp(d["X"], 3)) * t(inv(d["X"])),
            lambda d: det(mp(d["X"], 3)) * t(inv(d["X"])),
        ),
        "cookbook.c63.dL_dX": (
            {"a": (N, 1), "b": (N, 1), "X": ((N, N), "invertible")},
            lambda d: t(d["a"]) @ inv(d["X"]) @ d["b"],
            "X",
            lambda d: -t(inv(d["X"])) @ d["a"] @ t(d["b"]) @ t(inv(d["X"])),
            lambda d: -inv(d["X"]) @ d["a"] @ t(d["b"]) @ inv(d["X"]),
        ),
        "cookbook.c64.dL_dX": (
            xi,
            lambda d: det(inv(d["X"])),
            "X",
            lambda d: -det(inv(d["X"])) * t(inv(d["X"])),
            lambda d: det(inv(d["X"])) * t(inv(d["X"])),
        ),
        "cookbook.c65.dL_dX": (
            {"A": (N, N), "B": (N, N), "X": ((N, N), "invertible")},
            lambda d: tr(d["A"] @ inv(d["X"]) @ d["B"]),
            "X",
            lambda d: -t(inv(d["X"]) @ d["B"] @ d["A"] @ inv(d["X"])),
            lambda d: -t(inv(d["X"]) @ d["A"] @ d["B"] @ inv(d["X"])),
        ),
        "cookbook.c99.dL_dX": (
            {"X": (N, N)},
            lambda d: tr(d["X"]),
            "X",
            lambda d: torch.eye(N, dtype=torch.float64),
            lambda d: t(d["X"]),
        ),
        "cookbook.c100.dL_dX": (
            {"X": (N, M), "A": (M, N)},
            lambda d: tr(d["X"] @ d["A"]),
            "X",
            lambda d: t(d["A"]),
            lambda d: d["A"],
        ),
        "cookbook.c101.dL_dX": (
            {"A": (K, N), "X": (N, M), "B": (M, K)},
            lambda d: tr(d["A"] @ d["X"] @ d["B"]),
            "X",
            lambda d: t(d["A"]) @ t(d["B"]),
            lambda d: 2 * t(d["A"]) @ t(d["B"]),
        ),
        "cookbook.c102.dL_dX": (
            {"A": (K, M), "X": (N, M), "B": (N, K)},
            lambda d: tr(d["A"] @ t(d["X"]) @ d["B"]),
            "X",
            lambda d: d["B"] @ d["A"],
            lambda d: t(d["A"]) @ t(d["B"]),
        ),
        "cookbook.c103.dL_dX": (
            {"X": (N, M), "A": (N, M)},
            lambda d: tr(t(d["X"]) @ d["A"]),
            "X",
            lambda d: d["A"],
            lambda d: 2 * d["A"],
        ),
        "cookbook.c104.dL_dX": (
            {"X": (N, M), "A": (N, M)},
            lambda d: tr(d["A"] @ t(d["X"])),
            "X",
            lambda d: d["A"],
            lambda d: -d["A"],
        ),
        "cookbook.c106.dL_dX": (
            {"X": (N, N)},
            lambda d: tr(d["X"] @ d["X"]),
            "X",
            lambda d: 2 * t(d["X"]),
            lambda d: 2 * d["X"],
        ),
        "cookbook.c107.dL_dX": (
            {"X": (N, N), "B": (N, N)},
            lambda d: tr(d["X"] @ d["X"] @ d["B"]),
            "X",
            lambda d: t(d["X"] @ d["B"] + d["B"] @ d["X"]),
            lambda d: d["X"] @ d["B"] + d["B"] @ d["X"],
        ),
        "cookbook.c108.dL_dX": (
            {"X": (N, M), "B": (N, N)},
            lambda d: tr(t(d["X"]) @ d["B"] @ d["X"]),
            "X",
            lambda d: d["B"] @ d["X"] + t(d["B"]) @ d["X"],
            lambda d: 2 * d["B"] @ d["X"],
        ),
        "cookbook.c109.dL_dX": (
            {"X": (N, M), "B": (N, N)},
            lambda d: tr(d["B"] @ d["X"] @ t(d["X"])),
            "X",
            lambda d: d["B"] @ d["X"] + t(d["B"]) @ d["X"],
            lambda d: 2 * t(d["B"]) @ d["X"],
        ),
        "cookbook.c111.dL_dX": (
            {"X": (N, M), "B": (M, M)},
            lambda d: tr(d["X"] @ d["B"] @ t(d["X"])),
            "X",
            lambda d: d["X"] @ t(d["B"]) + d["X"] @ d["B"],
            lambda d: 2 * d["X"] @ d["B"],
        ),
        "cookbook.c114.dL_dX": (
            {"A": (N, N), "B": (N, N), "X": (N, N)},
            lambda d: tr(d["A"] @ d["X"] @ d["B"] @ d["X"]),
            "X",
            lambda d: t(d["A"]) @ t(d["X"]) @ t(d["B"]) + t(d["B"]) @ t(d["X"]) @ t(d["A"]),
            lambda d: 2 * t(d["A"]) @ t(d["X"]) @ t(d["B"]),
        ),
        "cookbook.c115.dL_dX": (
            {"X": (N, M)},
            lambda d: tr(t(d["X"]) @ d["X"]),
            "X",
            lambda d: 2 * d["X"],
            lambda d: d["X"],
        ),
        "cookbook.c116.dL_dX": (
            {"B": (M, K), "X": (N, M), "C": (N, N)},
            lambda d: tr(t(d["B"]) @ t(d["X"]) @ d["C"] @ d["X"] @ d["B"]),
            "X",
            lambda d: t(d["C"]) @ d["X"] @ d["B"] @ t(d["B"]) + d["C"] @ d["X"] @ d["B"] @ t(d["B"]),
            lambda d: 2 * d["C"] @ d["X"] @ d["B"] @ t(d["B"]),
        ),
        "cookbook.c117.dL_dX": (
            {"X": (N, M), "B": (N, N), "C": (M, M)},
            lambda d: tr(t(d["X"]) @ d["B"] @ d["X"] @ d["C"]),
            "X",
            lambda d: d["B"] @ d["X"] @ d["C"] + t(d["B"]) @ d["X"] @ t(d["C"]),
            lambda d: d["B"] @ d["X"] @ d["C"] + d["B"] @ d["X"] @ t(d["C"]),
        ),
        "cookbook.c118.dL_dX": (
            {"A": (K, N), "X": (N, M), "B": (M, M), "C": (N, K)},
            lambda d: tr(d["A"] @ d["X"] @ d["B"] @ t(d["X"]) @ d["C"]),
            "X",
            lambda d: t(d["A"]) @ t(d["C"]) @ d["X"] @ t(d["B"]) + d["C"] @ d["A"] @ d["X"] @ d["B"],
            lambda d: t(d["A"]) @ t(d["C"]) @ d["X"] @ d["B"] + d["C"] @ d["A"] @ d["X"] @ d["B"],
        ),
        "cookbook.c119.dL_dX": (
            {"A": (K, N), "X": (N, M), "B": (M, LL), "C": (K, LL)},
            lambda d: sq(d["A"] @ d["X"] @ d["B"] + d["C"]),
            "X",
            lambda d: 2 * t(d["A"]) @ (d["A"] @ d["X"] @ d["B"] + d["C"]) @ t(d["B"]),
            lambda d: t(d["A"]) @ (d["A"] @ d["X"] @ d["B"] + d["C"]) @ t(d["B"]),
        ),
        "cookbook.c121.dL_dX": (
            {"X": (N, N)},
            lambda d: tr(mp(d["X"], 3)),
            "X",
            lambda d: 3 * t(mp(d["X"], 2)),
            lambda d: 3 * mp(d["X"], 2),
        ),
        "cookbook.c129.dL_dx": (
            {"x": (N, 1), "a": (N, 1)},
            lambda d: torch.linalg.norm(d["x"] - d["a"]),
            "x",
            lambda d: (d["x"] - d["a"]) / torch.linalg.norm(d["x"] - d["a"]),
            lambda d: (d["x"] - d["a"]) / sq(d["x"] - d["a"]),
        ),
        "cookbook.c131.dL_dx": ({"x": (N, 1)}, lambda d: sq(d["x"]), "x", lambda d: 2 * d["x"], lambda d: d["x"]),
        "cookbook.c132.dL_dX": ({"X": (N, M)}, lambda d: sq(d["X"]), "X", lambda d: 2 * d["X"], lambda d: d["X"]),
        "cookbook.mm.dL_dA": (
            {"G": (M, P), "A": (M, N), "B": (N, P)},
            lambda d: tr(t(d["G"]) @ d["A"] @ d["B"]),
            "A",
            lambda d: d["G"] @ t(d["B"]),
            lambda d: t(d["B"]) @ d["G"],
        ),
        "cookbook.mm.dL_dB": (
            {"G": (M, P), "A": (M, N), "B": (N, P)},
            lambda d: tr(t(d["G"]) @ d["A"] @ d["B"]),
            "B",
            lambda d: t(d["A"]) @ d["G"],
            lambda d: d["G"] @ t(d["A"]),
        ),
        "cookbook.mv.dL_dA": (
            {"g": (M, 1), "A": (M, N), "v": (N, 1)},
            lambda d: t(d["g"]) @ d["A"] @ d["v"],
            "A",
            lambda d: d["g"] @ t(d["v"]),
            lambda d: d["v"] @ t(d["g"]),
        ),
        "cookbook.mv.dL_dv": (
            {"g": (M, 1), "A": (M, N), "v": (N, 1)},
            lambda d: t(d["g"]) @ d["A"] @ d["v"],
            "v",
            lambda d: t(d["A"]) @ d["g"],
            lambda d: d["A"] @ d["g"],
        ),
        "cookbook.dot.dL_da": (
            {"g": (1, 1), "a": (N, 1), "b": (N, 1)},
            lambda d: d["g"] * (t(d["a"]) @ d["b"]),
            "a",
            lambda d: d["g"] * d["b"],
            lambda d: d["g"] * d["a"],
        ),
        "cookbook.exp.dL_dx": (
            {"g": (N, 1), "x": (N, 1)},
            lambda d: t(d["g"]) @ torch.exp(d["x"]),
            "x",
            lambda d: d["g"] * torch.exp(d["x"]),
            lambda d: d["g"],
        ),
        "cookbook.log.dL_dx": (
            {"g": (N, 1), "x": ((N, 1), "positive")},
            lambda d: t(d["g"]) @ torch.log(d["x"]),
            "x",
            lambda d: d["g"] / d["x"],
            lambda d: d["g"] * d["x"],
        ),
        "cookbook.sqrt.dL_dx": (
            {"g": (N, 1), "x": ((N, 1), "positive")},
            lambda d: t(d["g"]) @ torch.sqrt(d["x"]),
            "x",
            lambda d: d["g"] / (2 * torch.sqrt(d["x"])),
            lambda d: d["g"] / torch.sqrt(d["x"]),
        ),
        "cookbook.tanh.dL_dx": (
            {"g": (N, 1), "x": (N, 1)},
            lambda d: t(d["g"]) @ torch.tanh(d["x"]),
            "x",
            lambda d: d["g"] * (1 - torch.tanh(d["x"]) ** 2),
            lambda d: d["g"] * (1 - torch.tanh(d["x"])),
        ),
        "cookbook.sigmoid.dL_dx": (
            {"g": (N, 1), "x": (N, 1)},
            lambda d: t(d["g"]) @ torch.sigmoid(d["x"]),
            "x",
            lambda d: d["g"] * torch.sigmoid(d["x"]) * (1 - torch.sigmoid(d["x"])),
            lambda d: d["g"] * torch.sigmoid(d["x"]),
        ),
        "cookbook.div.dL_da": (
            {"g": (N, 1), "a": (N, 1), "b": ((N, 1), "positive")},
            lambda d: t(d["g"]) @ (d["a"] / d["b"]),
            "a",
            lambda d: d["g"] / d["b"],
            lambda d: d["g"] * d["b"],
        ),
        "cookbook.div.dL_db": (
            {"g": (N, 1), "a": (N, 1), "b": ((N, 1), "positive")},
            lambda d: t(d["g"]) @ (d["a"] / d["b"]),
            "b",
            lambda d: -d["g"] * d["a"] / (d["b"] * d["b"]),
            lambda d: -d["g"] * d["a"] / d["b"],
        ),
        "cookbook.reciprocal.dL_dx": (
            {"g": (N, 1), "x": ((N, 1), "positive")},
            lambda d: t(d["g"]) @ (1 / d["x"]),
            "x",
            lambda d: -d["g"] / d["x"] ** 2,
            lambda d: d["g"] / d["x"] ** 2,
        ),
        "cookbook.logsumexp.dL_dz": (
            {"g": (1, 1), "z": (N, 1)},
            lambda d: d["g"] * torch.logsumexp(d["z"], 0),
            "z",
            lambda d: d["g"] * torch.exp(d["z"] - torch.logsumexp(d["z"], 0)),
            lambda d: d["g"] * torch.exp(d["z"]),
        ),
        "cookbook.softmax.dL_dz": (
            {"g": (N, 1), "z": (N, 1)},
            lambda d: t(d["g"]) @ torch.softmax(d["z"], 0),
            "z",
            lambda d: torch.softmax(d["z"], 0) * (d["g"] - t(d["g"]) @ torch.softmax(d["z"], 0)),
            lambda d: torch.softmax(d["z"], 0) * d["g"],
        ),
        "cookbook.det.dL_dX": (
            {"g": (1, 1), "X": ((N, N), "invertible")},
            lambda d: d["g"] * det(d["X"]),
            "X",
            lambda d: d["g"] * det(d["X"]) * t(inv(d["X"])),
            lambda d: d["g"] * det(d["X"]) * inv(d["X"]),
        ),
        "cookbook.inverse.dL_dX": (
            {"G": (N, N), "X": ((N, N), "invertible")},
            lambda d: tr(t(d["G"]) @ inv(d["X"])),
            "X",
            lambda d: -t(inv(d["X"])) @ d["G"] @ t(inv(d["X"])),
            lambda d: -inv(d["X"]) @ d["G"] @ inv(d["X"]),
        ),
        "cookbook.trace.dL_dX": (
            {"g": (1, 1), "X": (N, N)},
            lambda d: d["g"] * tr(d["X"]),
            "X",
            lambda d: d["g"] * torch.eye(N, dtype=torch.float64),
            lambda d: d["g"] * d["X"],
        ),
        "cookbook.norm.dL_dx": (
            {"g": (1, 1), "x": (N, 1)},
            lambda d: d["g"] * torch.linalg.norm(d["x"]),
            "x",
            lambda d: d["g"] * d["x"] / torch.linalg.norm(d["x"]),
            lambda d: d["g"] * d["x"],
        ),
        "cookbook.mul.dL_da": (
            {"g": (N, 1), "a": (N, 1), "b": (N, 1)},
            lambda d: t(d["g"]) @ (d["a"] * d["b"]),
            "a",
            lambda d: d["g"] * d["b"],
            lambda d: d["g"] * d["a"],
        ),
        "cookbook.scale.dL_dx": (
            {"g": (N, 1), "W": (N, N), "x": (N, 1), "alpha": (1, 1)},
            lambda d: d["alpha"] * (t(d["g"]) @ torch.tanh(d["W"] @ d["x"])),
            "x",
            lambda d: d["alpha"] * t(d["W"]) @ (d["g"] * (1 - torch.tanh(d["W"] @ d["x"]) ** 2)),
            lambda d: t(d["W"]) @ (d["g"] * (1 - torch.tanh(d["W"] @ d["x"]) ** 2)),
        ),
    }


def _draw(spec, gen):
    import torch

    shape, structure = spec if isinstance(spec[0], tuple) else (spec, None)
    a = torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1
    if structure == "symmetric":
        return (a + a.T) / 2
    if structure == "invertible":
        return a + (shape[0] + 1) * torch.eye(shape[0], dtype=torch.float64)
    if structure == "positive":
        return a.abs() + 0.5
    return a


@pytest.mark.parametrize("pid", [r[0] for r in ROWS])
def test_the_formula_itself_against_autograd(pid: str) -> None:
    """Independently of dlverify: the textbook formula is torch autograd's gradient, the variant is not."""
    torch = pytest.importorskip("torch")
    inputs, forward, variable, right, wrong = _truth()[pid]
    gen = torch.Generator().manual_seed(29)
    values = {name: _draw(spec, gen) for name, spec in inputs.items()}
    leaf = values[variable].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(forward({**values, variable: leaf}).reshape(()), leaf)
    assert torch.allclose(right(values), grad, rtol=1e-10, atol=1e-12)
    try:
        off = wrong(values)
    except RuntimeError:  # the variant's shapes do not fit: wrong as well
        return
    assert off.shape != grad.shape or not torch.allclose(off, grad, rtol=1e-6, atol=1e-9)


def test_every_row_is_written_by_hand() -> None:
    pytest.importorskip("torch")
    assert set(_truth()) == {r[0] for r in ROWS}


# More spellings of the same identities: each verdict follows from the formula checked by hand above
# (the same value, or the transposed / unscaled one the wrong variant is).
SPELLINGS = [
    ("cookbook.c99.dL_dX", r"\mathbf{I}", "correct"),
    ("cookbook.c100.dL_dX", r"A^\top", "correct"),
    ("cookbook.c49.dL_dX", r"|X| X^{-\top}", "correct"),  # |X|: the Cookbook's determinant
    ("cookbook.c49.dL_dX", r"\lvert X \rvert (X^{-1})^T", "correct"),
    ("cookbook.c49.dL_dX", r"\det X \, X^{-1}", "incorrect"),
    ("cookbook.c49.dL_dX", r"Determinant(X) (Xᵀ)^(-1)", "correct"),  # as the Unicode printer writes it
    ("cookbook.c59.dL_dX", r"(X^T)^{-1}", "correct"),
    ("cookbook.c59.dL_dX", r"X^{-1}", "incorrect"),
    ("cookbook.c65.dL_dX", r"-X^{-T} A^T B^T X^{-T}", "correct"),  # the second form of (124)
    ("cookbook.c65.dL_dX", r"-X^{-T} B^T A^T X^{-T}", "incorrect"),
    ("cookbook.c106.dL_dX", r"\frac{2}{n} \mathrm{tr}(X X^{-1}) X^T", "correct"),  # tr(X X⁻¹) = tr I = n
    ("cookbook.c129.dL_dx", r"(x - a) / \sqrt{(x - a)^T (x - a)}", "correct"),
    ("cookbook.c129.dL_dx", r"(x - a) \oslash \|x - a\|", "correct"),
    ("cookbook.log.dL_dx", r"g \odot x^{\odot -1}", "correct"),
    ("cookbook.log.dL_dx", r"g ⊘ x", "correct"),
    ("cookbook.log.dL_dx", r"\frac{g}{x}", "correct"),
    ("cookbook.log.dL_dx", r"\frac{x}{g}", "incorrect"),
    ("cookbook.reciprocal.dL_dx", r"-g \oslash (x \odot x)", "correct"),
    ("cookbook.reciprocal.dL_dx", r"-g \oslash x", "incorrect"),
    ("cookbook.sqrt.dL_dx", r"\frac{1}{2} g \oslash \sqrt{x}", "correct"),
    ("cookbook.sqrt.dL_dx", r"g ⊙ (2√(x))^{∘-1}", "correct"),
    ("cookbook.softmax.dL_dz", r"(\operatorname{diag}(p) - p p^T) g", "correct"),
    ("cookbook.softmax.dL_dz", r"(\operatorname{diag}(p) - p p^T)^T g", "correct"),  # symmetric
    ("cookbook.softmax.dL_dz", r"\operatorname{diag}(p) g", "incorrect"),
    ("cookbook.logsumexp.dL_dz", r"g \frac{\exp(z)}{\mathbf{1}^T \exp(z)}", "correct"),
    ("cookbook.logsumexp.dL_dz", r"\frac{\exp(z)}{\mathbf{1}^T \exp(z)}", "incorrect"),
    ("cookbook.scale.dL_dx", r"W^T (g \odot (1 - \tanh(W x) \odot \tanh(W x))) \alpha", "correct"),
    ("cookbook.scale.dL_dx", r"\alpha^2 W^T (g \odot (1 - \tanh(W x) \odot \tanh(W x)))", "incorrect"),
    ("cookbook.trace.dL_dX", r"g \mathbb{I}", "correct"),
    ("cookbook.det.dL_dX", r"g \, \mathrm{Tr}(X^0) \det(X) X^{-T} / n", "correct"),
]


@pytest.mark.parametrize(("pid", "answer", "expected"), SPELLINGS, ids=[f"{p}:{a}" for p, a, _ in SPELLINGS])
def test_the_notation_of_the_sources_is_read(pid: str, answer: str, expected: str, cookbook) -> None:
    verdict = judge(pid, answer)
    assert verdict.verdict == expected, (answer, verdict.message)


STRUCTURED = """
[problem."hw.struct"]
forward = '''
L = a^T Q^T Q a + a^T D a + a^T S a
'''
ask = ["dL/da", "dL/dS"]
[problem."hw.struct".symbols]
a = "vector n"
Q = "orthogonal matrix n×n"
D = "positive diagonal matrix n×n"
S = "symmetric matrix n×n"
"""


class TestDeclaredStructure:
    """symmetric, positive definite, diagonal, orthogonal, invertible, positive: drawn as declared."""

    def test_verify_draws_each_structure(self, tmp_path, catalog) -> None:
        import numpy as np
        from hypothesis import given, settings

        path = tmp_path / "s.toml"
        path.write_text(STRUCTURED, encoding="utf-8")
        problem = registry.load_problems(path)[0]

        @settings(max_examples=25, deadline=None)
        @given(problem.cases())
        def drawn(case) -> None:
            q, d, s = case["Q"], case["D"], case["S"]
            assert np.allclose(q.T @ q, np.eye(len(q)))
            assert np.allclose(d, np.diag(np.diag(d))) and (np.diag(d) > 0).all()
            assert np.allclose(s, s.T)

        drawn()

    def test_the_derivation_and_the_checker_use_the_structure(self, tmp_path, catalog) -> None:
        path = tmp_path / "s.toml"
        path.write_text(STRUCTURED, encoding="utf-8")
        registry.load_problems(path)
        assert cross_check(registry.get("hw.struct.dL_da"), examples=15).passed
        # by hand: QᵀQ = I, D and S symmetric, so dL/da = 2a + 2Da + 2Sa (no transposes left)
        result = registry.get("hw.struct.dL_da").derive().result
        assert not result.atoms(__import__("sympy").Transpose), result
        assert judge("hw.struct.dL_da", "2 a + 2 D a + 2 S a").verdict == "correct"
        assert judge("hw.struct.dL_da", "2 Q^T Q a + (D + D^T) a + (S + S^T) a").verdict == "correct"
        assert judge("hw.struct.dL_da", "a + 2 D a + 2 S a").verdict == "incorrect"
        # the gradient by S is autograd's (every entry independent): a aᵀ, not the symmetrised 2aaᵀ − diag
        assert judge("hw.struct.dL_dS", "a a^T").verdict == "correct"

    def test_a_structure_of_a_non_square_matrix_is_refused(self, tmp_path, catalog) -> None:
        from dlverify.course import ProblemFileError

        path = tmp_path / "bad.toml"
        path.write_text(STRUCTURED.replace("orthogonal matrix n×n", "orthogonal matrix n×m"), encoding="utf-8")
        with pytest.raises(ProblemFileError, match="a orthogonal matrix is square|is square"):
            registry.load_problems(path)


ORACLE = """
[problem."hw.oracle"]
symbols = { z = "vector n", u = "vector n" }
forward = '''
b = exp(u)
s = z - \\mathbf{1}\\log(\\mathbf{1}^T \\exp(z))
c = exp(-log(b))
L = \\mathbf{1}^T s + \\mathbf{1}^T c
'''
ask = ["dL/dz", "dL/db"]
"""


def test_the_two_oracle_crashes_of_issue_29(tmp_path, catalog) -> None:
    """A leading ones vector (z − 𝟏 log(…)) and a negated call (exp(−log b)) run in torch."""
    path = tmp_path / "o.toml"
    path.write_text(ORACLE, encoding="utf-8")
    for problem in registry.load_problems(path):
        check = cross_check(problem, examples=15)
        assert check.passed, (problem.id, check.failure)
    # by hand: Σ_i (z_i − lse(z)) has gradient 1 − n softmax(z); Σ 1/b has gradient −1/b²
    assert judge("hw.oracle.dL_dz", r"\mathbf{1} - n \frac{\exp(z)}{\mathbf{1}^T \exp(z)}").verdict == "correct"
    assert judge("hw.oracle.dL_db", r"-b^{\odot -2}").verdict == "correct"
    assert judge("hw.oracle.dL_db", r"-b^{\odot -1}").verdict == "incorrect"


def test_an_underivable_ask_is_one_line_saying_unsupported(tmp_path, capsys, catalog) -> None:
    from dlverify.cli import main

    path = tmp_path / "u.toml"
    path.write_text(
        '[problem."hw.u"]\nsymbols = { x = "vector n", a = "vector n" }\nforward = "h = (x x^T) a"\nask = ["dh/dx"]\n',
        encoding="utf-8",
    )
    answers = tmp_path / "a.toml"
    answers.write_text('["hw.u.dh_dx"]\nanswer = "x"\n', encoding="utf-8")
    for argv in (["show", "hw.u.dh_dx"], ["check", str(answers)], ["verify"]):
        assert main([*argv, "--problems", str(path)]) == 2
        err = capsys.readouterr().err
        assert "unsupported" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


POWERS = """
[problem."hw.pw"]
symbols = { X = "matrix n×n", W = "matrix n×n", x = "vector n" }
forward = '''
H = tanh(X)^2
L = \\mathbf{1}^T H W x + \\mathbf{1}^T \\sigma(W x)^2
T = \\operatorname{tr}(X)^2
'''
ask = ["dL/dX", "dL/dx", "dT/dX"]
"""


def test_a_calls_power_is_of_its_value_in_the_statement_and_the_oracle(tmp_path, catalog) -> None:
    """tr(X)^2 is (tr X)², not tr(X²); tanh(X)^2 is entry by entry, not a matrix power (as answers read)."""
    path = tmp_path / "p.toml"
    path.write_text(POWERS, encoding="utf-8")
    for problem in registry.load_problems(path):
        check = cross_check(problem, examples=15)
        assert check.passed, (problem.id, check.failure)
    # by hand: d(tr X)²/dX = 2 tr(X) I, while d tr(X²)/dX = 2Xᵀ
    assert judge("hw.pw.dT_dX", r"2 \operatorname{tr}(X) I").verdict == "correct"
    assert judge("hw.pw.dT_dX", "2 X^T").verdict == "incorrect"


ROWS_FILE = """
[problem."hw.rows"]
symbols = { x = "vector n", W = "matrix n×n", alpha = "real", M = "matrix n×n" }
forward = '''
u = 0.5 \\tanh(W x)
h = \\operatorname{artanh}(u) + \\operatorname{sech}(W x) + \\log(\\exp(W x)) + \\sqrt{\\exp(W x)} + \\sigma(W x)
g = h + \\operatorname{ReLU}(W x) + \\tanh(W x) \\alpha
L = \\mathbf{1}^T g + \\operatorname{tr}((M + I)^{-1}) + \\|M\\|_F
'''
ask = ["dg/dx", "dL/dx", "dL/dM", "dL/dalpha"]
"""


def test_every_elementwise_row_differentiates_in_a_jacobian_and_a_gradient(tmp_path, catalog) -> None:
    """Each entrywise function with a derivative row (σ, tanh, artanh, sech, ReLU, exp, log, sqrt), the
    identity in a statement, a Frobenius norm not squared: verified against torch, read back."""
    from derivations.functions import FUNCTIONS

    path = tmp_path / "rows.toml"
    path.write_text(ROWS_FILE, encoding="utf-8")
    for problem in registry.load_problems(path):
        check = cross_check(problem, examples=15)
        assert check.passed, (problem.id, check.failure)
        result = problem.derive().result
        for printed in (notation.unicode(result), notation.latex(result)):
            assert judge(problem.id, printed).verdict == "correct", printed
    matrix_rows = {name for name, row in FUNCTIONS.items() if row.matrix and row.spellings}
    assert {"sigma", "tanh", "artanh", "sech", "relu", "exp", "log", "sqrt"} <= matrix_rows
    assert all(FUNCTIONS[name].derivative for name in matrix_rows), matrix_rows
    # by hand: d tr((M + I)⁻¹)/dM = −((M + I)⁻²)ᵀ (Cookbook 124 with A = B = I), d‖M‖_F/dM = M/‖M‖_F
    assert judge("hw.rows.dL_dM", r"-((M + I)^{-2})^T + \frac{M}{\|M\|_F}").verdict == "correct"
    assert judge("hw.rows.dL_dM", r"-(M + I)^{-2} + \frac{M}{\|M\|_F}").verdict == "incorrect"
