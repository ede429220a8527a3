"""Answers are judged on the model's own domain, and a witness shows what the comparison used.

- Quantities the model determines (the attention weights a_i = softargmax of the scores) are computed
  at each point from the drawn inputs, never drawn free: correct forms that use Σ_i a_i = 1 hold.
- Symbols the setup or the definitions give (f_T = σ(x_T U^f + …), c_t, v_1, h_t) carry the value
  computed from the inputs at the point, and a counterexample shows that value.
- A counterexample is short where it is read (the terminal's text, the feedback document): the values
  that matter, a note of the rest; the JSON record keeps every value.
- rlae.optimum: every minimiser U_k (I − λΛ_k⁻¹)^{1/2} Q with Q orthogonal is correct.
- λ < σ_k² at every point of the rlae items that assume it.

Every expected verdict is decided here independently of the checker: attention answers against
torch.func.jacrev of one step (numerics.attention_rnn), rlae answers by the loss L_λ they reach
against the loss at a known minimiser (numpy), gates and weights recomputed with numpy.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import numpy as np
import pytest

from dlverify import registry
from dlverify.checking import points
from dlverify.checking.answers import Graded
from dlverify.checking.judge import judge
from dlverify.checking.matrices import draw_matrix_point
from dlverify.checking.verdict import SHOWN_VALUES, Verdict
from dlverify.views import verdict_view
from numerics import attention_rnn as attention
from reports import feedback

PROBLEMS = registry.problems()


def _softmax(w: np.ndarray) -> np.ndarray:
    e = np.exp(w - w.max())
    return e / e.sum()


def _sigma(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# ---- attention: the weights are a softmax --------------------------------------------------------

GRAD = r"(h_{t-1}^T (Q_1^T K_1 + K_1^T Q_1))"  # ∂w_1/∂h[t−1], a row


def _step(rng: np.random.Generator, n: int) -> dict:
    """One AttentionRNN(2) step at random inputs: everything an answer can name."""
    Q, K, V = ([rng.uniform(-1, 1, (n, n)) for _ in range(3)] for _ in "QKV")
    s = [rng.uniform(-1, 1, (n, 1)) for _ in range(3)]  # x[t], h[t−1], h[t−2]
    w = np.array([((Q[i] @ s[i]).T @ (K[i] @ s[i])).item() for i in range(3)])
    a = _softmax(w)
    v = [V[i] @ s[i] for i in range(3)]
    return {"Q": Q, "K": K, "V": V, "s": s, "a": a, "v": v, "q": [Q[i] @ s[i] for i in range(3)],
            "k": [K[i] @ s[i] for i in range(3)], "h": sum(a[i] * v[i] for i in range(3))}  # fmt: skip


def _score_grad(c: dict) -> np.ndarray:
    return c["s"][1].T @ (c["Q"][1].T @ c["K"][1] + c["K"][1].T @ c["Q"][1])


ATTENTION: list[tuple[str, Callable[[dict], np.ndarray], bool]] = [
    # (answer, its value in numpy, right by hand)
    (
        rf"a_1 V_1 + a_1 (v_1 - h_t) {GRAD}",
        lambda c: c["a"][1] * c["V"][1] + c["a"][1] * (c["v"][1] - c["h"]) @ _score_grad(c),
        True,
    ),
    (  # Σ_i a_i = 1: v_1 − h_t = a_0 (v_1 − v_0) + a_2 (v_1 − v_2)
        rf"a_1 V_1 + a_1 (a_0 (v_1 - v_0) + a_2 (v_1 - v_2)) {GRAD}",
        lambda c: (
            c["a"][1] * c["V"][1]
            + c["a"][1] * (c["a"][0] * (c["v"][1] - c["v"][0]) + c["a"][2] * (c["v"][1] - c["v"][2])) @ _score_grad(c)
        ),
        True,
    ),
    (  # the same with the setup's q_1, k_1, and (1 − a_1) for a_0 + a_2
        r"a_1 V_1 + a_1 ((1 - a_1) v_1 - a_0 v_0 - a_2 v_2) (k_1^T Q_1 + q_1^T K_1)",
        lambda c: (
            c["a"][1] * c["V"][1]
            + c["a"][1]
            * ((1 - c["a"][1]) * c["v"][1] - c["a"][0] * c["v"][0] - c["a"][2] * c["v"][2])
            @ (c["k"][1].T @ c["Q"][1] + c["q"][1].T @ c["K"][1])
        ),
        True,
    ),
    (  # a_1 factored out, the weights written a_{0}[t]
        r"a_{1}[t] \left(V_1 + (a_{0}[t] (v_1 - v_0) + a_{2}[t] (v_1 - v_2)) "
        r"h_{t-1}^\top (Q_1^\top K_1 + K_1^\top Q_1)\right)",
        lambda c: (
            c["a"][1]
            * (c["V"][1] + (c["a"][0] * (c["v"][1] - c["v"][0]) + c["a"][2] * (c["v"][1] - c["v"][2])) @ _score_grad(c))
        ),
        True,
    ),
    (  # the other terms dropped: right only where a_1 is the only weight
        rf"a_1 V_1 + a_1 (1 - a_1) v_1 {GRAD}",
        lambda c: c["a"][1] * c["V"][1] + c["a"][1] * (1 - c["a"][1]) * c["v"][1] @ _score_grad(c),
        False,
    ),
    (  # a sign
        rf"a_1 V_1 + a_1 (a_0 (v_1 - v_0) + a_2 (v_1 + v_2)) {GRAD}",
        lambda c: (
            c["a"][1] * c["V"][1]
            + c["a"][1] * (c["a"][0] * (c["v"][1] - c["v"][0]) + c["a"][2] * (c["v"][1] + c["v"][2])) @ _score_grad(c)
        ),
        False,
    ),
    (  # a_1 missing in the second term
        rf"a_1 V_1 + (a_0 (v_1 - v_0) + a_2 (v_1 - v_2)) {GRAD}",
        lambda c: (
            c["a"][1] * c["V"][1]
            + (c["a"][0] * (c["v"][1] - c["v"][0]) + c["a"][2] * (c["v"][1] - c["v"][2])) @ _score_grad(c)
        ),
        False,
    ),
    (  # half of the score's gradient
        r"a_1 V_1 + a_1 (v_1 - h_t) (h_{t-1}^T Q_1^T K_1)",
        lambda c: c["a"][1] * c["V"][1] + c["a"][1] * (c["v"][1] - c["h"]) @ (c["s"][1].T @ c["Q"][1].T @ c["K"][1]),
        False,
    ),
    (  # h_t and v_1 swapped
        rf"a_1 V_1 + a_1 (h_t - v_1) {GRAD}",
        lambda c: c["a"][1] * c["V"][1] + c["a"][1] * (c["h"] - c["v"][1]) @ _score_grad(c),
        False,
    ),
]


def _jacobian(c: dict) -> np.ndarray:
    return attention.dh_dhprev(c["Q"], c["K"], c["V"], c["s"][0], [c["s"][1], c["s"][2]])


class TestAttentionWeightsAreTheModels:
    """a_0, a_1, a_2 are the softargmax of the scores at every point: Σ_i a_i = 1 holds, and a correct
    form that uses it is correct; forms that are wrong stay wrong."""

    @pytest.mark.parametrize(("answer", "value", "right"), ATTENTION, ids=range(len(ATTENTION)))
    def test_verdict(self, answer: str, value: Callable[[dict], np.ndarray], right: bool) -> None:
        rng = np.random.default_rng(7)
        cases = [_step(rng, n) for n in (1, 2, 3, 4, 4)]
        # the label, checked against jacrev of one step (float64) before the checker is asked
        assert all(np.allclose(value(c), _jacobian(c), atol=1e-12) for c in cases) is right
        v = judge("attention_rnn.dh_dhprev", answer)
        assert v.verdict == ("correct" if right else "incorrect"), v.message

    @pytest.mark.parametrize(("stress", "wide"), [(False, False), (True, False), (True, True)])
    def test_every_point_computes_the_weights_and_the_state(self, stress: bool, wide: bool) -> None:
        problem = PROBLEMS["attention_rnn.dh_dhprev"]
        s = problem.derive().symbols
        rng = random.Random(11)
        for _ in range(8):
            point = draw_matrix_point(problem, rng, stress=stress, wide=wide)
            m = {name: point.matrices[s[name]] for name in ("x_t", "h_{t-1}", "h_{t-2}")}
            states = [m["x_t"], m["h_{t-1}"], m["h_{t-2}"]]
            Q, K, V = ([point.matrices[s[f"{M}_{i}"]] for i in range(3)] for M in "QKV")
            w = np.array([((Q[i] @ states[i]).T @ (K[i] @ states[i])).item() for i in range(3)])
            a = np.array([point.scalars[s[f"a_{i}"]] for i in range(3)])
            assert np.allclose(a, _softmax(w), rtol=1e-12) and abs(a.sum() - 1) < 1e-12
            h = sum(a[i] * V[i] @ states[i] for i in range(3))
            assert np.allclose(point.matrices[s["h_t"]], h, rtol=1e-12)
            assert np.allclose(point.matrices[s["v_1"]], V[1] @ states[1])
            assert np.allclose(point.matrices[s["q_2"]], Q[2] @ states[2])

    def test_a_witness_shows_weights_that_sum_to_one(self) -> None:
        v = judge("attention_rnn.dh_dhprev", ATTENTION[4][0])
        shown, _ = v.counterexample.brief()
        weights = [shown[f"a_{i}"] for i in range(3)]  # shown whether or not the answer uses them all
        assert abs(sum(weights) - 1) < 1e-5 and all(0 < a < 1 for a in weights)

    def test_the_infinite_models_weight_and_state_are_computed_too(self) -> None:
        # AttentionRNN(∞): a_1 and h[t] over x[t], h[t−1] and an earlier state the item does not name (drawn
        # too), all with the shared Q, K, V
        from derivations import attention_rnn as derived

        problem = PROBLEMS["attention_rnn.infinite"]
        s = problem.derive().symbols
        point = draw_matrix_point(problem, random.Random(2), stress=True)
        Q, K, V = (point.matrices[s[name]] for name in "QKV")
        states = [point.matrices[x] for x in (derived.x_t, derived.h_prev, derived.h_prev2)]
        a = _softmax(np.array([((Q @ x).T @ (K @ x)).item() for x in states]))
        assert np.isclose(point.scalars[s["a_1"]], a[1], rtol=1e-12)
        assert np.allclose(point.matrices[s["h_t"]], sum(w * V @ x for w, x in zip(a, states, strict=True)))


# ---- shown values are the ones used --------------------------------------------------------------


class TestShownValuesAreTheOnesUsed:
    """A symbol the setup or definitions give takes, at a point, the value computed from its inputs:
    the comparison uses that value and the counterexample shows it (not a drawn, unused one)."""

    def test_lstm_gates_and_cell(self) -> None:
        problem = PROBLEMS["lstm.dC_dCprev"]
        s = problem.derive().symbols
        rng = random.Random(3)
        for k in range(6):
            p = draw_matrix_point(problem, rng, stress=k % 2 == 0).matrices
            x, h = p[s["x_T"]], p[s["h_{T-1}"]]
            gate = {g: x @ p[s[f"U^{g}"]] + h @ p[s[f"W^{g}"]] + p[s[f"b^{g}"]] for g in "fiog"}
            assert np.allclose(p[s["f_T"]], _sigma(gate["f"]))
            assert np.allclose(p[s["o_T"]], _sigma(gate["o"]))
            cell = _sigma(gate["f"]) * p[s["C_{T-1}"]] + _sigma(gate["i"]) * np.tanh(gate["g"])
            assert np.allclose(p[s["C_T"]], cell)

    def test_gated_rnn_gate(self) -> None:
        problem = PROBLEMS["gated_rnn.dh_dhprev"]
        s = problem.derive().symbols
        rng = random.Random(4)
        for _ in range(6):
            p = draw_matrix_point(problem, rng).matrices
            gate = _sigma(p[s["W_c"]] @ p[s["x_t"]] + p[s["W_h"]] @ p[s["h_{t-1}"]])
            assert np.allclose(p[s["c_t"]], gate)

    @pytest.mark.parametrize("answer", [r"\operatorname{diag}(o_T)", r"\operatorname{diag}(o_t)", "diag(o_T)"])
    def test_the_lstm_witness_shows_the_gate_it_compared(self, answer: str) -> None:
        # the reference is diag(f_T): the entry where the answer differs is on the diagonal, and the
        # reference's value there is the shown f_T's entry, which is σ of the shown inputs
        v = judge("lstm.dC_dCprev", answer)
        c = v.counterexample
        assert v.verdict == "incorrect" and c.entry[0] == c.entry[1]
        f = np.array(c.at["f_T"], dtype=float)
        assert abs(f[0, c.entry[0] - 1] - c.reference_value) < 1e-4
        at = {k: np.array(val, dtype=float) for k, val in c.at.items() if isinstance(val, list)}
        pre = at["x_T"] @ at["U^f"] + at["h_{T-1}"] @ at["W^f"] + at["b^f"]
        assert np.allclose(f, _sigma(pre), atol=1e-3)  # the shown values are rounded to 4 decimals


# ---- short counterexamples -----------------------------------------------------------------------


def _feedback(v: Verdict, answer: str) -> str:
    return feedback.feedback_tex(Graded([v]), {v.id: answer}, "a.toml", hide=False)


class TestShortCounterexamples:
    """The terminal's and the feedback's witness: the values that matter, at most SHOWN_VALUES, and a
    note that --json has the rest; the JSON record keeps every value."""

    @pytest.mark.parametrize(
        ("item", "answer", "named"),
        [
            ("lstm.dC_dCprev", r"\operatorname{diag}(o_T)", {"m", "n", "f_T", "o_T"}),
            ("lstm.dC_dCprev", r"\operatorname{diag}(f_T) + \operatorname{diag}(o_T)", {"m", "n", "f_T", "o_T"}),
            ("gated_rnn.dh_dhprev", r"\operatorname{diag}(c_t) W_h", {"m", "n", "c_t", "W_h", "W_x", "x_t", "h_{t-1}"}),
        ],
    )
    def test_only_what_the_answer_and_reference_name(self, item: str, answer: str, named: set[str]) -> None:
        v = judge(item, answer)
        assert v.verdict == "incorrect"
        shown, left_out = v.counterexample.brief()
        assert set(shown) == named and left_out == len(v.counterexample.at) - len(named) > 0
        tex = _feedback(v, answer)
        assert "--json gives them all" in tex
        for name in set(v.counterexample.at) - named:
            assert feedback._math_name(name) + " =" not in tex, name

    def test_a_witness_with_many_entries_is_cut(self) -> None:
        answer = r"\sum_{c=1}^{3}\sum_{k=1}^{3} W[1,c,k] x[2(r-1)+k+1, c]"  # one tap off
        v = judge("conv1d.out_value", answer)
        assert v.verdict == "incorrect" and len(v.counterexample.at) > SHOWN_VALUES
        witness = verdict_view(v).witness
        assert len(witness.values) == SHOWN_VALUES and witness.left_out == len(v.counterexample.at) - SHOWN_VALUES
        assert "--json" in witness.note and f"{witness.left_out} more values" in _feedback(v, answer)

    def test_json_keeps_every_value_and_what_matters(self, tmp_path, capsys) -> None:
        from dlverify.cli import main

        path = tmp_path / "a.toml"
        path.write_text("[\"lstm.dC_dCprev\"]\nanswer = '\\operatorname{diag}(o_T)'\n", encoding="utf-8")
        assert main(["check", str(path), "--json"]) == 1
        record = json.loads(capsys.readouterr().out)["results"][0]["counterexample"]
        assert {"U^f", "W^g", "b^i", "x_T", "f_T", "o_T"} <= set(record["at"])
        assert record["relevant"] == ["m", "n", "f_T", "o_T"]
        again = Verdict.from_json({"id": "x", "verdict": "incorrect", "message": "", "counterexample": record})
        assert again.counterexample.relevant == ("m", "n", "f_T", "o_T")

    def test_a_hidden_reference_names_only_the_answers_symbols(self) -> None:
        from dlverify.checking.judge import judge_problem

        v = judge_problem(PROBLEMS["lstm.dC_dCprev"], r"\operatorname{diag}(o_T)", hide_reference=True)
        shown, _ = v.counterexample.brief()
        assert set(shown) == {"m", "n", "o_T"}  # which symbols the reference uses is a hint to its form


# ---- rlae.optimum: any orthogonal factor ---------------------------------------------------------

SQRT = r"(I - \lambda \Lambda_k^{-1})^{1/2}"


def _optimum_case(rng: np.random.Generator, m: int, k: int) -> dict:
    """X (m×n) with Σ = XXᵀ/n = U diag(σ²) Uᵀ, its top-k U_k, Λ_k, λ = 0.6 σ_k², a random orthogonal O."""
    n = m + 3
    U, _ = np.linalg.qr(rng.normal(size=(m, m)))
    s2 = np.sort(rng.uniform(0.5, 3.0, m))[::-1]
    R, _ = np.linalg.qr(rng.normal(size=(n, m)))  # orthonormal columns
    X = np.sqrt(n) * U @ np.diag(np.sqrt(s2)) @ R.T
    rotation, _ = np.linalg.qr(rng.normal(size=(k, k)))
    return {"X": X, "n": n, "U": U[:, :k], "L": np.diag(s2[:k]), "lam": 0.6 * s2[k - 1], "O": rotation, "k": k}


def _loss(c: dict, W2: np.ndarray) -> float:
    """L_λ at W2 and W1 = W2ᵀ (the minimiser's balance)."""
    W1 = W2.T
    R = c["X"] - W2 @ W1 @ c["X"]
    return float((R**2).sum() / c["n"] + c["lam"] * ((W1**2).sum() + (W2**2).sum()))


def _root(c: dict) -> np.ndarray:
    w, v = np.linalg.eigh(np.eye(c["k"]) - c["lam"] * np.linalg.inv(c["L"]))
    return (v * np.sqrt(w)) @ v.T


OPTIMUM: list[tuple[str, Callable[[dict], np.ndarray] | None, bool]] = [
    (rf"U_k {SQRT} O", lambda c: c["U"] @ _root(c) @ c["O"], True),
    (rf"U_k {SQRT} O^T", lambda c: c["U"] @ _root(c) @ c["O"].T, True),
    (rf"U_k {SQRT} O^{{-1}}", lambda c: c["U"] @ _root(c) @ np.linalg.inv(c["O"]), True),
    (rf"U_k {SQRT} O^2", lambda c: c["U"] @ _root(c) @ c["O"] @ c["O"], True),
    (rf"-U_k {SQRT} O", lambda c: -c["U"] @ _root(c) @ c["O"], True),
    (rf"U_k {SQRT} (-O^\top)", lambda c: -c["U"] @ _root(c) @ c["O"].T, True),
    (rf"U_k {SQRT}", lambda c: c["U"] @ _root(c), True),  # O omitted: O = I
    (r"U_k (I - \lambda\Lambda_k^{-1})^{1/2} O^T", lambda c: c["U"] @ _root(c) @ c["O"].T, True),  # no space
    (r"U_k \sqrt{I - \lambda \Lambda_k^{-1}} O^T O^T", lambda c: c["U"] @ _root(c) @ c["O"].T @ c["O"].T, True),
    (r"U_k (\Lambda_k - \lambda I)^{1/2} \Lambda_k^{-1/2} O^T", lambda c: c["U"] @ _root(c) @ c["O"].T, True),
    (rf"U_k {SQRT} O O^T", lambda c: c["U"] @ _root(c), True),
    # wrong: the root missing, Λ_k for its inverse, a factor that is not orthogonal, O in the middle
    (r"U_k (I - \lambda \Lambda_k^{-1}) O", lambda c: c["U"] @ (_root(c) @ _root(c)) @ c["O"], False),
    (
        r"U_k (I - \lambda \Lambda_k)^{1/2} O",
        lambda c: c["U"] @ np.sqrt(np.clip(np.eye(c["k"]) - c["lam"] * c["L"], 0, None)) @ c["O"],
        False,
    ),
    (rf"U_k {SQRT} 2 O", lambda c: 2 * c["U"] @ _root(c) @ c["O"], False),
    (rf"U_k {SQRT} (O + I)", lambda c: c["U"] @ _root(c) @ (c["O"] + np.eye(c["k"])), False),
    (rf"U_k {SQRT} (O + O^T)", lambda c: c["U"] @ _root(c) @ (c["O"] + c["O"].T), False),
    (rf"U_k O {SQRT}", lambda c: c["U"] @ c["O"] @ _root(c), False),
    (rf"{SQRT} O", None, False),  # U_k missing: k×k, not m×k
]


class TestAnyOrthogonalFactor:
    """Every U_k (I − λΛ_k⁻¹)^{1/2} Q with Q orthogonal minimises L_λ: O, Oᵀ, O⁻¹, O², −O, none.
    Each label is checked by the loss it reaches (W1 = W2ᵀ) against the loss at Q = I."""

    @pytest.mark.parametrize(("answer", "value", "right"), OPTIMUM, ids=range(len(OPTIMUM)))
    def test_verdict(self, answer: str, value: Callable[[dict], np.ndarray] | None, right: bool) -> None:
        if value is not None:
            rng = np.random.default_rng(5)
            cases = [_optimum_case(rng, m, k) for m, k in ((3, 2), (4, 3), (5, 2), (6, 4))]
            gaps = [_loss(c, value(c)) - _loss(c, c["U"] @ _root(c)) for c in cases]
            assert all(abs(g) < 1e-9 for g in gaps) is right, gaps
            assert right or any(g > 1e-6 for g in gaps)  # a wrong one costs loss: no better minimiser
        v = judge("rlae.optimum", answer)
        assert v.verdict == ("correct" if right else "incorrect"), v.message
        assert "O appears transposed" not in (v.diagnosis or "")

    def test_the_factor_ends_the_reference(self) -> None:
        # the family {M Q} is read off the reference's product: the declared factor is its last factor
        from dlverify.checking.matrices import _side
        from dlverify.problem import Assumption

        for problem in PROBLEMS.values():
            for spec in problem.symbols:
                if Assumption.ARBITRARY_ORTHOGONAL in spec.assumptions:
                    d = problem.derive()
                    assert _side(d.result, d.symbols[spec.name]) in ("right", "left"), problem.id

    def test_a_wrong_answer_is_shown_against_its_closest_minimiser(self) -> None:
        v = judge("rlae.optimum", rf"U_k {SQRT} 2 O")
        assert "any orthogonal O" in v.message and v.diagnosis == "it is twice the reference"
        assert abs(v.counterexample.answer_value - 2 * v.counterexample.reference_value) < 1e-9


# ---- λ < σ_k² ------------------------------------------------------------------------------------

BELOW = [pid for pid, p in PROBLEMS.items() if pid.startswith("rlae.") and "λ < σ_k²" in p.statement]


class TestLambdaInsideItsDomain:
    """Every point of an rlae item that assumes λ < σ_k² has it: a matrix item's (every draw mode, the
    diagnosis's too: the same draw) by ``below Lambda_k``, an expression item's by its σ_i's range."""

    def test_the_items_that_assume_it(self) -> None:
        assert set(BELOW) == {"rlae.optimum", "rlae.min_loss"}

    @pytest.mark.parametrize("item", BELOW)
    def test_every_draw(self, item: str) -> None:
        problem = PROBLEMS[item]
        s = problem.derive().symbols
        rng = random.Random(9)
        for k in range(60):
            if problem.kind == "matrix":
                point = draw_matrix_point(problem, rng, stress=k % 2 == 1, wide=k % 3 == 0)
                ceiling = float(np.min(np.diag(point.matrices[s["Lambda_k"]])))
                assert 0 < point.scalars[s["lambda"]] < ceiling
            else:
                nice = points_nice(k)
                point = points.draw(problem, rng, nice=nice, wide=k % 3 == 0)
                code = int(point.values[s["k"]])
                assert 0 < point.values[s["lambda"]] < point.entry(s["sigma"], code) ** 2


def points_nice(k: int) -> tuple[int, ...]:
    """The small denominators some expression draws use (an integer λ among them)."""
    return ((1,), (2, 3, 4, 5, 7), ())[k % 3]
