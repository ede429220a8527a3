"""Issue 23: choice options as the homework prints them, and grouped shapes under the layout rule.

Each expected verdict was decided by hand and, where a number decides it, checked numerically
here, never copied from the checker: the keys of rlae.loss_fn and rlae.needed against torch's own
loss and optimizer (TestKeysIndependently), the Jacobian shapes of conv1d against
torch.autograd.functional.jacobian (TestGroupedShapes.test_reference_from_torch).  What an answer
names was read by hand: ``nn.MSELoss`` is torch.nn's MSELoss, ``Adam optimizer`` is not SGD,
``decay`` names nothing, and ``3 × (7 × 5)`` groups the 7 × 5 of x."""

from __future__ import annotations

from dataclasses import replace

import pytest

from derivations.core import Derivation
from dlverify import registry
from dlverify.checking.judge import judge, judge_problem
from dlverify.problem import AnswerSpec


class TestKeysIndependently:
    """The keys the cases below rely on, measured with torch (not read from the catalog)."""

    def test_mse_loss_is_the_data_term(self) -> None:
        torch = pytest.importorskip("torch")
        gen = torch.Generator().manual_seed(0)
        m, k, n = 4, 2, 6
        X = torch.randn(m, n, generator=gen, dtype=torch.float64)
        W1 = torch.randn(k, m, generator=gen, dtype=torch.float64)
        W2 = torch.randn(m, k, generator=gen, dtype=torch.float64)
        data = ((X - W2 @ W1 @ X) ** 2).sum() / n
        rec = (W2 @ W1 @ X).T  # samples as rows, as a torch model sees them
        mse = torch.nn.MSELoss(reduction="sum")(rec, X.T) / n
        l1 = torch.nn.L1Loss(reduction="sum")(rec, X.T) / n
        assert torch.allclose(mse, data) and not torch.allclose(l1, data)

    def test_sgd_with_weight_decay_steps_along_the_gradient_of_the_penalised_loss(self) -> None:
        torch = pytest.importorskip("torch")
        gen = torch.Generator().manual_seed(1)
        m, k, n, lam, lr = 3, 2, 5, 0.3, 0.1
        X = torch.randn(m, n, generator=gen, dtype=torch.float64)
        W1 = torch.randn(k, m, generator=gen, dtype=torch.float64, requires_grad=True)
        W2 = torch.randn(m, k, generator=gen, dtype=torch.float64, requires_grad=True)
        full = ((X - W2 @ W1 @ X) ** 2).sum() / n + lam * (W1**2).sum() + lam * (W2**2).sum()
        g1, g2 = torch.autograd.grad(full, (W1, W2))
        want = (W1 - lr * g1).detach(), (W2 - lr * g2).detach()
        opt = torch.optim.SGD([W1, W2], lr=lr, weight_decay=2 * lam)
        opt.zero_grad()
        (((X - W2 @ W1 @ X) ** 2).sum() / n).backward()  # the data term only: the penalty is the decay
        opt.step()
        assert torch.allclose(W1.detach(), want[0]) and torch.allclose(W2.detach(), want[1])


class TestChoicePrintedForms:
    """Case, separators, the option's own module path, a trailing (), the kind's generic noun."""

    @pytest.mark.parametrize(
        "answer",
        [
            "MSELoss",
            "nn.MSELoss",
            "torch.nn.MSELoss",
            "MSELoss()",
            "nn.MSELoss()",
            "F.mse_loss",
            "torch.nn.functional.mse_loss",
            "mse_loss",
            "MSE loss",
            "mse-loss",
            "MSE",
            "the MSE loss function",
            "mean squared error",
            r"\texttt{nn.MSELoss}",
        ],
    )
    def test_the_mse_loss_printed_any_way_is_correct(self, answer: str) -> None:
        v = judge("rlae.loss_fn", answer)
        assert v.verdict == "correct", v.message

    @pytest.mark.parametrize(
        ("answer", "chosen"),
        [
            ("nn.L1Loss", "L1Loss"),
            ("L1 loss", "L1Loss"),
            ("torch.nn.L1Loss()", "L1Loss"),
            ("mean absolute error", "L1Loss"),
            ("nn.CrossEntropyLoss", "CrossEntropyLoss"),
            ("cross-entropy loss", "CrossEntropyLoss"),
            ("F.cross_entropy", "CrossEntropyLoss"),
        ],
    )
    def test_another_loss_printed_any_way_is_that_wrong_option(self, answer: str, chosen: str) -> None:
        v = judge("rlae.loss_fn", answer)
        assert v.verdict == "incorrect" and f"wrongly chosen: {chosen}" in v.message, v.message

    @pytest.mark.parametrize(
        "answer",
        [
            ["SGD optimizer", "Weight Decay"],
            ["torch.optim.SGD", "weight_decay"],
            ["optim.SGD()", "weight-decay"],
            ["the SGD optimiser", "WeightDecay"],
            ["stochastic gradient descent", "weight decay"],
            "SGD, weight decay",
            "SGD with weight decay",
            "weight decay; torch.optim.SGD",
            "SGD + Weight Decay",
            [r"\text{SGD}", r"\texttt{weight\_decay}"],  # as a LaTeX document prints them
            r"$\text{SGD}$, $\text{weight decay}$",
        ],
    )
    def test_sgd_and_weight_decay_printed_any_way_are_correct(self, answer) -> None:
        v = judge("rlae.needed", answer)
        assert v.verdict == "correct", v.message

    @pytest.mark.parametrize(
        ("answer", "verdict", "said"),
        [
            (["SGD optimizer"], "incorrect", "missing: weight decay"),
            (["SGD", "weight decay", "nn.Dropout"], "incorrect", "wrongly chosen: dropout"),
            (["SGD", "weight decay", "batch normalization"], "incorrect", "wrongly chosen: batch norm"),
            (["SGD", "weight decay", "nn.LayerNorm"], "incorrect", "wrongly chosen: layer norm"),
            (["Adam optimizer", "weight decay"], "incorrect", "'Adam optimizer' (an optimizer)"),
            (["torch.optim.Adam", "weight decay"], "incorrect", "not one of the options"),
            (["SGD", "decay"], "unparsed", "not an option: 'decay'"),  # half an option is no option
            (["SGD", "weight"], "unparsed", "not an option"),
            (["nn.SGD", "weight decay"], "unparsed", "not an option"),  # SGD is torch.optim's, not nn's
            (["SGD", "norm"], "unparsed", "not an option"),
        ],
    )
    def test_a_different_thing_stays_wrong(self, answer, verdict: str, said: str) -> None:
        v = judge("rlae.needed", answer)
        assert v.verdict == verdict and said in v.message, v.message

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            ("2", "correct"),
            ("two", "correct"),
            ("2 linear layers", "correct"),
            ("two layers", "correct"),
            ("3 layers", "incorrect"),
            ("one linear layer", "incorrect"),
            ("0", "incorrect"),
        ],
    )
    def test_a_count_with_the_noun_the_question_counts(self, answer: str, verdict: str) -> None:
        # L_λ has two weight matrices W1 and W2: two linear layers
        assert judge("rlae.layers", answer).verdict == verdict

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            ("spectral radius > 1", "correct"),
            ("Spectral Radius >1", "correct"),
            ("spectral-radius > 1", "correct"),
            ("spectral radius < 1", "incorrect"),
            ("spectral radius >= 1", "unparsed"),  # ρ = 1 stays bounded: not the option > 1
            ("spectral radius > -1", "unparsed"),
            ("norm of W_f > 1", "incorrect"),
        ],
    )
    def test_spacing_around_a_relation(self, answer: str, verdict: str) -> None:
        assert judge("rnn.explode_condition", answer).verdict == verdict

    @pytest.mark.parametrize(
        ("pid", "answer", "verdict"),
        [
            ("concepts.ae_a", "False", "correct"),
            ("concepts.ae_a", "true, false", "incorrect"),  # a list for a single choice
            ("rlae.loss_fn", "MSELoss, L1Loss", "incorrect"),
            ("beam.step2", ["neural-network", "network neural"], "correct"),
            ("beam.best_sequence", "neural neural", "incorrect"),  # the length rule is unchanged
            ("beam.step1", "neural network", "incorrect"),
        ],
    )
    def test_other_items_unchanged_or_read_alike(self, pid: str, answer, verdict: str) -> None:
        assert judge(pid, answer).verdict == verdict

    def test_the_message_says_how_a_printed_form_was_read(self) -> None:
        v = judge("rlae.needed", ["SGD optimizer", "weight decay"])
        assert "read 'SGD optimizer' as SGD" in v.message
        assert "read" not in judge("rlae.needed", ["SGD", "Weight_Decay"]).message  # spelling alone: silent

    def test_a_form_two_options_share_matches_neither(self) -> None:
        base = registry.problems()["rlae.loss_fn"]
        both = replace(base, answer=AnswerSpec(options=("torch.nn.MSELoss", "torch.nn.functional.mse_loss")))
        v = judge_problem(both, "MSE loss")
        assert v.verdict == "unparsed" and "could be" in v.message, v.message
        assert judge_problem(both, "torch.nn.MSELoss").verdict != "unparsed"  # as listed, it is read

    @pytest.mark.parametrize("pid", [p for p, d in registry.problems().items() if d.kind == "choice"])
    def test_no_option_reads_as_another(self, pid: str) -> None:
        from dlverify.checking.choices import _compact, _printed, normalise

        problem = registry.problems()[pid]
        printed = _printed(problem)
        for option in problem.answer.options:
            for spelling in (option, option.upper(), option.replace(" ", "_"), f"  {option.title()} "):
                form = _compact(spelling)
                read = option if normalise(spelling) == normalise(option) else printed.forms.get(form)
                assert read == option, (pid, spelling, read)


class TestGroupedShapes:
    """Parentheses group an operand's shape where the item knows its operands (∂f/∂x, ∂f/∂W)."""

    def test_reference_from_torch(self) -> None:
        torch = pytest.importorskip("torch")
        x, W = torch.randn(7, 5, dtype=torch.float64), torch.randn(1, 5, 3, dtype=torch.float64)

        def f_of(x, W):  # position-first x[n, c]: conv1d wants channels first; filter axis dropped
            return torch.nn.functional.conv1d(x.T[None], W, stride=2)[0, 0]

        jx, jw = torch.autograd.functional.jacobian(f_of, (x, W))
        assert tuple(jx.shape) == (3, 7, 5) and tuple(jw.shape) == (3, 1, 5, 3)

    @pytest.mark.parametrize(
        "answer",
        [
            r"\mathbb{R}^{3 \times (7 \times 5)}",
            r"R^{3 \times (7 \times 5)}",
            "3 x (7 x 5)",
            "(3, (7, 5))",
            "((3), (7, 5))",
            r"3 \times \left(7 \times 5\right)",
            r"3 \times [7 \times 5]",
            r"3 \times ((7 \times 5))",
            r"\mathbb{R}^{(3 \times 7 \times 5)}",
        ],
    )
    def test_a_grouping_on_the_operands_boundaries_reads_flat(self, answer: str) -> None:
        v = judge("conv1d.df_dx_shape", answer)
        assert v.verdict == "correct", v.message
        assert "read as 3 × 7 × 5, (shape of f) × (shape of x)" in v.message

    @pytest.mark.parametrize(
        ("answer", "written"),
        [
            (r"\mathbb{R}^{(3 \times 7) \times 5}", "(3 × 7) × 5"),
            (r"(3 \times 7) \times 5", "(3 × 7) × 5"),
            ("((3, 7), 5)", "(3 × 7) × 5"),
            (r"(((3 \times 7))) \times 5", "(3 × 7) × 5"),
        ],
    )
    def test_a_grouping_across_the_operands_is_incorrect_with_the_reason(self, answer: str, written: str) -> None:
        v = judge("conv1d.df_dx_shape", answer)
        assert v.verdict == "incorrect", v.message
        assert f"grouped as {written}, which cuts the shape of x apart" in v.message
        assert "grouped 3 × (7 × 5)" in v.message

    @pytest.mark.parametrize(
        ("answer", "verdict", "said"),
        [
            (r"3 \times (1 \times 5 \times 3)", "correct", "(shape of f) × (shape of W)"),
            (r"\mathbb{R}^{3 \times 1 \times 5 \times 3}", "correct", "matches"),
            (r"(3 \times 1) \times 5 \times 3", "incorrect", "cuts the shape of W apart"),
            (r"3 \times 1 \times (5 \times 3)", "incorrect", "cuts the shape of W apart"),
            (r"3 \times (5 \times 3)", "incorrect", "has 3 axes but the shape has 4"),
        ],
    )
    def test_df_dW_groups_f_and_W(self, answer: str, verdict: str, said: str) -> None:
        v = judge("conv1d.df_dW_shape", answer)
        assert v.verdict == verdict and said in v.message, v.message

    @pytest.mark.parametrize(
        ("answer", "said"),
        [
            (r"3 \times (5 \times 7)", "the axes are in the wrong order"),  # x is 7 × 5, position-first
            (r"(3 \times 5) \times 7", "read flat, the axes are in the wrong order"),
            (r"3 \times (7 \times 5 \times 1)", "has 4 axes"),
            (r"3 \times (35)", "has 2 axes"),  # one axis in parentheses is an expression: 35
            (r"(7 \times 5) \times 3", "wrong order"),  # denominator first: not numerator layout
        ],
    )
    def test_wrong_shapes_stay_wrong(self, answer: str, said: str) -> None:
        v = judge("conv1d.df_dx_shape", answer)
        assert v.verdict == "incorrect" and said in v.message, v.message

    def test_with_the_reference_hidden_the_grouping_is_not_shown(self) -> None:
        v = judge("conv1d.df_dx_shape", r"(3 \times 7) \times 5", hide_reference=True)
        assert v.verdict == "incorrect" and "cuts the shape of x apart" in v.message
        assert "3 × (7 × 5)" not in v.message and "(3, 7, 5)" not in v.message

    @pytest.mark.parametrize(
        ("pid", "answer", "verdict"),
        [
            ("conv1d.dl_dW_shape", r"(1 \times 5) \times 3", "incorrect"),  # no operands: (1 × 5) is 5
            ("conv1d.dl_dW_shape", r"\mathbb{R}^{1 \times 5 \times 3}", "correct"),
            ("conv.out_shape_example", r"\mathbb{R}^{(5 \times 2)}", "incorrect"),  # one axis, 10
            ("conv.out_shape_example", r"5 \times 2", "correct"),  # floor((21-4)/4)+1, floor((12-5)/4)+1
        ],
    )
    def test_elsewhere_parentheses_read_as_before(self, pid: str, answer: str, verdict: str) -> None:
        assert judge(pid, answer).verdict == verdict

    def test_without_the_operands_in_the_derivation_the_grouping_is_an_expression(self) -> None:
        base = registry.problems()["conv1d.df_dx_shape"]
        plain = base.derive()
        bare = replace(base, derive=lambda: Derivation(plain.result, plain.steps, {}))
        v = judge_problem(bare, r"3 \times (7 \times 5)")
        assert v.verdict == "incorrect" and "2 axes" in v.message

    def test_the_derivation_gives_operands_that_make_up_the_shape(self) -> None:
        for pid, names in (("conv1d.df_dx_shape", ("f", "x")), ("conv1d.df_dW_shape", ("f", "W"))):
            d = registry.problems()[pid].derive()
            shapes = [tuple(d.given[f"shape of {n}"]) for n in names]
            assert sum(shapes, ()) == tuple(d.result)
