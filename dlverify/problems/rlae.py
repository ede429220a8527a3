"""Topic rlae: the ℓ2-regularised linear autoencoder — its gradients, the torch.optim.SGD settings
that optimise it, and its global minimiser — against autograd, real optimizer steps and L-BFGS."""

from __future__ import annotations

from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Check, Problem, Property, SymbolSpec, Topic
from dlverify.problems.lae import LAMBDA, SIGMA, gradient_problem, spectrum_cases

TOPIC = Topic("rlae", "The ℓ2-regularised linear autoencoder", order=100)
NUMERIC = lazy("numerics.rlae")
DERIVED = lazy("derivations.rlae")
LAE_NUMERIC = lazy("numerics.lae")
EXPERIMENTS = lazy("dlverify.experiments.rlae")  # the checks and properties that run the derivation's experiments

SETUP = (
    "The ℓ2-regularised linear autoencoder: X ∈ R^{m×n} zero-centred, encoder W1 (k×m), decoder W2 (m×k), "
    "L_λ = (1/n)‖X − W2 W1 X‖_F² + λ‖W1‖_F² + λ‖W2‖_F²; Σ = (1/n) X Xᵀ with eigenvalues σ_1² > … > σ_m² > 0, "
    "top-k eigenvectors U_k, Λ_k = diag(σ_1², …, σ_k²)."
)
M = SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "6"))
STEP_TOL = 1e-9  # two float64 steps of size η‖∇L_λ‖ agree to ~1e-15; a wrong setup is off by O(1)
STEP_NOTE = "steps equal within 1e-9 relative to η‖∇L_λ‖ (float64 steps agree to ~1e-15; a wrong setup is O(1) off)"


def _training_cases() -> Any:
    """A spectrum case (X of full row rank, n ≥ m) with random weights and λ ∈ [0.01, 2]."""
    from hypothesis import strategies as st

    def extend(args: tuple) -> dict:
        import numpy as np

        case, lam = args
        rng = np.random.default_rng(case["seed"] + 2)
        k, m = case["k"], case["m"]
        return {**case, "lambda": lam, "W_1": rng.uniform(-1, 1, (k, m)), "W_2": rng.uniform(-1, 1, (m, k))}

    return st.tuples(spectrum_cases(6), st.floats(0.01, 2.0)).map(extend)


def _choice(
    *, id: str, title: str, ask: str, options: tuple[str, ...], oracle, oracle_name: str, multiple: bool = False
) -> Problem:
    pid = id
    return Problem(
        id=pid,
        topic=TOPIC.name,
        title=title,
        kind="choice",
        statement=SETUP + " " + ask + " Options: " + ", ".join(options) + ".",
        symbols=(),
        derive=lambda: getattr(DERIVED, pid.split(".")[1])(),
        oracle=lambda c: oracle()(c["X"], c["W_1"], c["W_2"], c["lambda"], STEP_TOL),
        oracle_name=oracle_name,
        cases=_training_cases,
        tolerance=lambda c: 0.5,
        tolerance_note="the key must be what the optimizer steps show, in every case",
        sizes=("m", "k", "n"),
        answer=AnswerSpec(options=options, multiple=multiple),
    )


def _weight_decay_oracle(mean: bool):
    def oracle(case: Case) -> float:
        return NUMERIC.fit_weight_decay(case["X"], case["W_1"], case["W_2"], case["lambda"], mean=mean)["weight_decay"]

    return oracle


def _weight_decay(mean: bool) -> Problem:
    which = "weight_decay_mean" if mean else "weight_decay"
    loss = (
        "the loss is nn.MSELoss() with its default mean over the m coordinates (and the batch)"
        if mean
        else "each sample's loss is its summed squared error ‖x − W2W1x‖², averaged over the samples of a batch"
    )
    ask = "makes the SGD step point along −∇L_λ" if mean else "optimises L_λ exactly"
    props = [Property("the step's scale and residual", lambda case: EXPERIMENTS.step_scale(case, mean))]
    if mean:
        props.append(
            Property("lr scaled by m gives the step exactly", lambda case: EXPERIMENTS.mean_with_scaled_lr(case))
        )
    return Problem(
        id=f"rlae.{which}",
        topic=TOPIC.name,
        title=f"torch.optim.SGD's weight_decay for L_λ ({'mean' if mean else 'summed'} MSE)",
        kind="expr",
        statement=SETUP + f" When {loss}, which weight_decay of torch.optim.SGD {ask}? In λ and m.",
        symbols=(LAMBDA, M),
        derive=lambda: getattr(DERIVED, which)(),
        oracle=_weight_decay_oracle(mean),
        oracle_name="one torch.optim.SGD step of two nn.Linear layers, fitted to −η∇L_λ from autograd",
        cases=_training_cases,
        # wd is read off the difference of two steps, η·wd·W, against η‖W‖: float64 rounding of the steps
        tolerance=lambda c: 1e-11,
        tolerance_note="1e-11 relative: wd is recovered from steps of size η‖W‖ computed in float64",
        sizes=("m", "k", "n"),
        properties=tuple(props),
    )


def _sigma_cases() -> Any:
    from hypothesis import strategies as st

    return st.tuples(st.floats(1e-3, 0.9), st.floats(1.1, 100.0)).map(lambda b: {"lower": b[0], "upper": b[1]})


def _sigma_oracle(case: Case) -> float:
    import scipy.optimize

    f = lambda s: 1 / s**2 + s**2  # noqa: E731
    found = scipy.optimize.minimize_scalar(
        f, bounds=(case["lower"], case["upper"]), method="bounded", options={"xatol": 1e-12}
    )
    return float(found.x)


def _optimum_cases() -> Any:
    """A spectrum case with λ = f·σ_k², f ∈ [0.05, 0.9] (so λ < σ_k² with room), a random
    orthogonal O, and a second λ' strictly between σ_{r+1}² and σ_r² for the rank drop."""

    def extend(case: dict) -> dict:
        import numpy as np

        rng = np.random.default_rng(case["seed"] + 3)
        s2 = np.asarray(case["sigma"]) ** 2
        k = case["k"]
        orthogonal, _ = np.linalg.qr(rng.normal(size=(k, k)))
        r = int(rng.integers(0, k))  # the rank kept at λ'
        upper = s2[r - 1] if r > 0 else s2[0] + 1.0
        drop = float(s2[r] + rng.uniform(0.2, 0.8) * (upper - s2[r]))
        lam = float(rng.uniform(0.05, 0.9) * s2[k - 1])
        return {**case, "lambda": lam, "O": orthogonal, "lambda_drop": drop, "r": r}

    return spectrum_cases(6).map(extend)


OPTIMUM_SYMBOLS = (
    SymbolSpec(
        "U_k",
        "U_k",
        "matrix",
        "the top-k eigenvectors of Σ (m×k)",
        ("U_{k}", "Uk"),
        shape=("m", "k"),
        assumptions=("orthonormal columns",),
    ),
    SymbolSpec(
        "Lambda_k",
        r"\Lambda_k",
        "matrix",
        "diag(σ_1², …, σ_k²)",
        ("Λ_k", "\\Lambda_{k}", "Lambda_{k}"),
        shape=("k", "k"),
        assumptions=("diagonal", "positive", "descending"),
    ),
    SymbolSpec(
        "lambda",
        r"\lambda",
        "real",
        "the regularisation strength, below σ_k²",
        ("λ",),
        assumptions=("positive", "below Lambda_k"),
    ),
    SymbolSpec(
        "O",
        "O",
        "matrix",
        "an arbitrary k×k orthogonal factor: any orthogonal O works (Oᵀ, −O, O², or none: O = I)",
        shape=("k", "k"),
        assumptions=("orthogonal", "an arbitrary orthogonal factor"),
    ),
    SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "5")),
    SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m-1")),
)


PROBLEMS = (
    _choice(
        id="rlae.layers",
        title="How many linear layers",
        ask="How many linear layers does a model trained on L_λ have?",
        options=("0", "1", "2", "3"),
        oracle=lambda: NUMERIC.layer_counts_matching,
        oracle_name="nn.Sequential of 0–3 bias-free nn.Linear layers: parameters and one SGD step against −η∇L_λ",
    ),
    _choice(
        id="rlae.loss_fn",
        title="Which loss function",
        ask="Which torch.nn loss trains L_λ?",
        options=("L1Loss", "MSELoss", "CrossEntropyLoss"),
        oracle=lambda: NUMERIC.loss_functions_along_gradient,
        oracle_name="one SGD step with each loss, fitted to −η∇L_λ over weight_decay and learning-rate scale",
    ),
    _choice(
        id="rlae.needed",
        title="What training L_λ needs",
        ask="Which of these does training on L_λ need (several)?",
        options=("weight decay", "dropout", "layer norm", "batch norm", "SGD"),
        oracle=lambda: NUMERIC.minimal_components,
        oracle_name="brute force over the 32 subsets: the smallest whose optimizer step is −η∇L_λ",
        multiple=True,
    ),
    _weight_decay(mean=False),
    _weight_decay(mean=True),
    Problem(
        id="rlae.sigma_minimizer",
        topic=TOPIC.name,
        title="The minimiser of 1/σ² + σ²",
        kind="number",
        statement=SETUP + " Find the minimiser of 1/σ² + σ² over σ > 0.",
        symbols=(),
        derive=lambda: DERIVED.sigma_minimizer(),
        oracle=_sigma_oracle,
        oracle_name="scipy.optimize.minimize_scalar (bounded Brent) on random brackets",
        cases=_sigma_cases,
        # f is flat at its minimum: a float64 f pins σ only to √(2·eps·f(1)/f''(1)) ≈ 1e-8
        tolerance=lambda c: 1e-6,
        tolerance_note="1e-6 (the item's): f(σ) in float64 fixes σ to about √(eps·f/f″) ≈ 1e-8",
        answer=AnswerSpec(tolerance=1e-6),
    ),
    Problem(
        id="rlae.optimum",
        topic=TOPIC.name,
        title="The global minimiser of L_λ",
        kind="matrix",
        statement=SETUP + " For λ < σ_k², find the global minimiser W2 (W1 = W2ᵀ there) in U_k, Λ_k, λ, I and an "
        "arbitrary orthogonal O (which may be omitted: O = I).",
        symbols=OPTIMUM_SYMBOLS,
        derive=lambda: DERIVED.optimum(),
        oracle=lambda c: None,
        oracle_name="L-BFGS (scipy.optimize) from a random start, autograd gradients, scipy.linalg.eigh",
        cases=_optimum_cases,
        tolerance=lambda c: 0.0,
        tolerance_note="per check: 64(m+n)·eps for the gradient, 100‖∇L_λ‖/curvature for L-BFGS's optimum, "
        "1e-12 for its loss",
        compare=(
            Check("∇L_λ vanishes at the derived optimum", lambda p, c: EXPERIMENTS.gradient_at_optimum(p, c)),
            Check("L-BFGS from a random start finds it", lambda p, c: EXPERIMENTS.lbfgs_finds_it(p, c)),
            Check("its loss is the derived minimum", lambda p, c: EXPERIMENTS.minimum_at_optimum(p, c)),
        ),
        sizes=("m", "k", "n"),
        # an L-BFGS fit per case
        properties=(Property("the rank drop for λ ≥ σ_k²", lambda case: EXPERIMENTS.rank_drop(case), 30),),
    ),
    Problem(
        id="rlae.min_loss",
        topic=TOPIC.name,
        title="The minimum of L_λ (beyond the catalog)",
        kind="expr",
        statement=SETUP + " For λ < σ_k², the minimum of L_λ in σ_i, λ, m and k.",
        symbols=(
            SIGMA,
            LAMBDA,
            SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "6")),
            SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m-1")),
            SymbolSpec("i", "i", "index", "summation index", bounds=("1", "m")),
        ),
        derive=lambda: DERIVED.min_loss(),
        oracle=lambda c: LAE_NUMERIC.fit(c["X"], c["k"], c["lambda"], seed=c["seed"])["loss"],
        oracle_name="L-BFGS (scipy.optimize) from a random start (float64)",
        cases=_optimum_cases,
        tolerance=lambda c: 1e-11,
        tolerance_note="1e-11 relative: L-BFGS stops at ‖∇L_λ‖ ≈ 1e-8, a loss error of ‖∇‖²/curvature",
        sizes=("m", "k"),
    ),
    gradient_problem("W_1", TOPIC.name, SETUP, _training_cases),
    gradient_problem("W_2", TOPIC.name, SETUP, _training_cases),
)
