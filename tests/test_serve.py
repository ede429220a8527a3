"""The answer page's JSON API (dlverify serve): verdicts as ``check --json`` gives them, the preview,
uploads, and what the server refuses.

Each expected verdict is decided here, independently of the checker: a formula is right when it
equals PyTorch autograd's derivative at random inputs (NumPy raising on a product whose shapes
do not fit makes it wrong), and a derivation's first wrong line is the first whose two sides
differ numerically.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 and still works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from dlverify.cli import main  # noqa: E402
from dlverify.serve.app import MAX_BODY, create_app  # noqa: E402

IDS = ["scalar_rnn.forward", "scalar_rnn.dy_dw", "scalar_rnn.dy_dw_general", "lae.grad_W1", "rnn.dL_dh_linear"]
LOOPBACK = ["127.0.0.1", "localhost"]
SLOW = r"\sum_{a=1}^{1000} \sum_{b=1}^{1000} \sum_{c=1}^{1000} u_a"  # minutes of SymPy (test_grading_safety)
TOWER = r"((3^{999})^{999})^{999}"  # an exact integer of 1.6 billion bits: costly to read, let alone judge
RNG = np.random.default_rng(26)


@pytest.fixture(scope="module")
def client():
    app = create_app(IDS, timeout=1.0, workers=1, allowed_hosts=LOOPBACK)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture(scope="module")
def hidden():
    app = create_app(["lae.grad_W1"], hide_reference=True, timeout=1.0, workers=1)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def check(client: TestClient, pid: str, answer) -> dict:
    response = client.post("/api/check", json={"id": pid, "answer": answer})
    assert response.status_code == 200, response.text
    return response.json()


def read(client: TestClient, pid: str, answer) -> dict:
    response = client.post("/api/read", json={"id": pid, "answer": answer})
    assert response.status_code == 200, response.text
    return response.json()


# independent oracles ---------------------------------------------------------------------------


def _dy_dw_truth(w: float, u: tuple[float, float, float]) -> float:
    """dy/dw of h_t = w (u_t + h_{t-1}), h_0 = 0, y = h_3, by autograd."""
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    h = torch.zeros((), dtype=torch.float64)
    for ut in u:
        h = wt * (ut + h)
    h.backward()
    return float(wt.grad)


def _verdict_of_scalar(formula) -> str:
    for _ in range(5):
        w, *u = RNG.uniform(-2, 2, size=4)
        if not np.isclose(formula(w, *u), _dy_dw_truth(w, tuple(u)), rtol=1e-9, atol=1e-12):
            return "incorrect"
    return "correct"


def _grad_w1_truth(X: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """∂L/∂W_1 of L = (1/n)‖X − W_2 W_1 X‖_F², by autograd."""
    x, w2 = torch.tensor(X), torch.tensor(W2)
    w1 = torch.tensor(W1, requires_grad=True)
    loss = ((x - w2 @ w1 @ x) ** 2).sum() / X.shape[1]
    loss.backward()
    return w1.grad.numpy()


def _verdict_of_matrix(formula) -> str:
    for m, k, n in ((4, 2, 5), (3, 1, 6)):
        X, W1, W2 = RNG.normal(size=(m, n)), RNG.normal(size=(k, m)), RNG.normal(size=(m, k))
        try:
            value = formula(X, W1, W2, n)
        except ValueError:  # numpy: the shapes do not fit
            return "incorrect"
        truth = _grad_w1_truth(X, W1, W2)
        if value.shape != truth.shape or not np.allclose(value, truth, rtol=1e-9):
            return "incorrect"
    return "correct"


SCALAR_CASES = [
    ("3w^2 u_1 + 2 w u_2 + u_3", lambda w, a, b, c: 3 * w**2 * a + 2 * w * b + c),
    ("3 w^2 u1 + 2w u2 + u3", lambda w, a, b, c: 3 * w**2 * a + 2 * w * b + c),
    (r"3 w^{2} u_{1} + 2 w u_{2} + u_{3}", lambda w, a, b, c: 3 * w**2 * a + 2 * w * b + c),
    ("w^3 u_1 + w^2 u_2 + w u_3", lambda w, a, b, c: w**3 * a + w**2 * b + w * c),  # y itself
    ("3w^2 u_1 + 2 w u_2", lambda w, a, b, c: 3 * w**2 * a + 2 * w * b),  # a dropped term
    ("3w^2 u_1 + w u_2 + u_3", lambda w, a, b, c: 3 * w**2 * a + w * b + c),  # a factor off
]

MATRIX_CASES = [
    (r"-\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T", lambda X, W1, W2, n: -2 / n * W2.T @ (X - W2 @ W1 @ X) @ X.T),
    ("-2/n * W_2.T (X - W_2 W_1 X) X.T", lambda X, W1, W2, n: -2 / n * W2.T @ (X - W2 @ W1 @ X) @ X.T),
    (r"\frac{2}{n} W_2^\top (W_2 W_1 X - X) X^\top", lambda X, W1, W2, n: 2 / n * W2.T @ (W2 @ W1 @ X - X) @ X.T),
    (r"-\frac{1}{n} W_2^T (X - W_2 W_1 X) X^T", lambda X, W1, W2, n: -1 / n * W2.T @ (X - W2 @ W1 @ X) @ X.T),
    (r"\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T", lambda X, W1, W2, n: 2 / n * W2.T @ (X - W2 @ W1 @ X) @ X.T),
    (r"-\frac{2}{n} W_2 (X - W_2 W_1 X) X^T", lambda X, W1, W2, n: -2 / n * W2 @ (X - W2 @ W1 @ X) @ X.T),
    (r"-\frac{2}{n} (X - W_2 W_1 X) X^T W_2^T", lambda X, W1, W2, n: -2 / n * (X - W2 @ W1 @ X) @ X.T @ W2.T),
]


class TestCheck:
    @pytest.mark.parametrize(("answer", "formula"), SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
    def test_an_expression_item(self, client: TestClient, answer: str, formula) -> None:
        verdict = check(client, "scalar_rnn.dy_dw", answer)
        assert verdict["verdict"] == _verdict_of_scalar(formula), verdict
        assert verdict["id"] == "scalar_rnn.dy_dw"
        assert verdict["score"] == (1.0 if verdict["verdict"] == "correct" else 0.0)

    @pytest.mark.parametrize(("answer", "formula"), MATRIX_CASES, ids=[c[0] for c in MATRIX_CASES])
    def test_a_matrix_item(self, client: TestClient, answer: str, formula) -> None:
        verdict = check(client, "lae.grad_W1", answer)
        assert verdict["verdict"] == _verdict_of_matrix(formula), verdict
        if verdict["verdict"] == "incorrect":
            assert verdict["counterexample"] is not None  # a witness point with both values

    def test_a_symbol_the_item_does_not_define_is_incorrect_and_named(self, client: TestClient) -> None:
        verdict = check(client, "scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3 + q")
        assert verdict["verdict"] == "incorrect" and "q (position 28)" in verdict["message"]

    def test_a_table_item_entry_by_entry(self, client: TestClient) -> None:
        # the forward pass p = u_1, q = w p, r = q + u_2, s = w r, t = s + u_3, y = w t, by hand
        right = {
            "p": "u_1",
            "q": "w u_1",
            "r": "w u_1 + u_2",
            "s": "w^2 u_1 + w u_2",
            "t": "w^2 u_1 + w u_2 + u_3",
            "y": "w^3 u_1 + w^2 u_2 + w u_3",
        }
        assert check(client, "scalar_rnn.forward", right)["verdict"] == "correct"
        wrong = {**right, "s": "w u_1 + u_2"}  # r, not s = w r
        verdict = check(client, "scalar_rnn.forward", wrong)
        assert verdict["verdict"] == "incorrect" and verdict["score"] == pytest.approx(5 / 6)
        assert verdict["entries"]["s"]["verdict"] == "incorrect" and verdict["entries"]["p"]["verdict"] == "correct"

    def test_a_derivation_names_its_first_wrong_line(self, client: TestClient) -> None:
        # the linear RNN's ∂L/∂h_t = 2(ŷ_T − y_T) W^f (W^h)^{T−t}: line 2 of the slip drops the 2
        m, steps_back = 3, 2
        Wh, Wf = RNG.normal(size=(m, m)), RNG.normal(size=(1, m))
        h = torch.tensor(RNG.normal(size=(m, 1)), requires_grad=True)
        state = h
        for _ in range(steps_back):
            state = torch.tensor(Wh) @ state
        residual = (torch.tensor(Wf) @ state).squeeze() - 0.3
        (residual**2).backward()
        truth = h.grad.numpy().T
        power = np.linalg.matrix_power(Wh, steps_back)
        assert np.allclose(2 * residual.item() * Wf @ power, truth)
        assert not np.allclose(residual.item() * Wf @ power, truth)
        good = "\n".join(
            [
                r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial \hat{y}_T}"
                r" \frac{\partial \hat{y}_T}{\partial h_T} \frac{\partial h_T}{\partial h_t}",
                r"  = 2 (\hat{y}_T - y_T) W^f \frac{\partial h_T}{\partial h_t}",
                r"  = 2 (\hat{y}_T - y_T) W^f (W^h)^{T-t}",
            ]
        )
        slip = good.replace(r"= 2 (\hat{y}_T - y_T) W^f \frac", r"= (\hat{y}_T - y_T) W^f \frac")
        assert slip != good
        assert check(client, "rnn.dL_dh_linear", {"steps": good})["verdict"] == "correct"
        verdict = check(client, "rnn.dL_dh_linear", {"steps": slip})
        assert verdict["verdict"] == "incorrect" and verdict["step"] == 2
        assert [line["holds"] for line in verdict["lines"]][:2] == [True, False]

    def test_the_object_is_one_entry_of_check_json(self, client: TestClient, tmp_path: Path, capsys) -> None:
        answers = {"scalar_rnn.dy_dw": "3w^2 u_1 + 2 w u_2", "lae.grad_W1": r"-\frac{2}{n} W_2 (X - W_2 W_1 X) X^T"}
        path = tmp_path / "hw.toml"
        path.write_text("".join(f"[\"{k}\"]\nanswer = '{v}'\n" for k, v in answers.items()))
        capsys.readouterr()
        main(["check", str(path), "--json"])
        results = json.loads(capsys.readouterr().out)["results"]
        for entry in results:
            assert check(client, entry["id"], answers[entry["id"]]) == entry

    def test_a_repeated_answer_gets_the_same_verdict(self, client: TestClient) -> None:
        first = check(client, "lae.grad_W1", r"-\frac{1}{n} W_2^T (X - W_2 W_1 X) X^T")
        assert check(client, "lae.grad_W1", r"-\frac{1}{n} W_2^T (X - W_2 W_1 X) X^T") == first


class TestRefusals:
    def test_a_hostile_answer_times_out_and_the_server_stays_up(self, client: TestClient) -> None:
        for hostile in (SLOW, TOWER):
            verdict = check(client, "scalar_rnn.dy_dw_general" if hostile is SLOW else "scalar_rnn.dy_dw", hostile)
            assert verdict["verdict"] == "timeout" and "within 1 s of CPU time" in verdict["message"], verdict
        preview = read(client, "scalar_rnn.dy_dw", TOWER)
        assert "not read within 1 s of CPU time" in preview["failed"]
        assert check(client, "scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3")["verdict"] == "correct"
        assert read(client, "scalar_rnn.dy_dw", "w")["parts"][0]["ok"]

    @pytest.mark.parametrize("path", ["/api/check", "/api/read"])
    def test_a_request_over_64_kb_is_refused(self, client: TestClient, path: str) -> None:
        body = json.dumps({"id": "lae.grad_W1", "answer": "W_1" * (MAX_BODY // 3)})
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413 and "64 KB" in response.json()["error"]

    def test_an_upload_over_the_file_limit_is_refused(self, client: TestClient) -> None:
        body = b"#" * 1_000_001
        response = client.post(
            "/api/grade?name=hw.toml", content=body, headers={"content-type": "application/octet-stream"}
        )
        assert response.status_code == 413

    @pytest.mark.parametrize(
        ("body", "content_type", "status"),
        [
            ('{"id": "lae.grad_W1"}', "application/json", 400),
            ("not json", "application/json", 400),
            ("[1, 2]", "application/json", 400),
            ('{"id": "lae.grad_W1", "answer": "W_1"}', "text/plain", 415),  # what a page elsewhere could send
            ('{"id": "lae.grad_W2", "answer": "W_1"}', "application/json", 404),  # not in the assignment
            ('{"id": "nope", "answer": "W_1"}', "application/json", 404),
        ],
    )
    def test_a_malformed_request_is_refused_with_a_reason(
        self, client: TestClient, body: str, content_type: str, status: int
    ) -> None:
        response = client.post("/api/check", content=body, headers={"content-type": content_type})
        assert response.status_code == status and response.json()["error"]

    def test_an_answer_that_is_no_toml_value_is_unparsed(self, client: TestClient) -> None:
        verdict = check(client, "scalar_rnn.dy_dw", {"answer": {"a": {"b": {"c": {"d": {"e": "w"}}}}}})
        assert verdict["verdict"] == "unparsed"

    def test_a_request_for_another_host_is_refused(self, client: TestClient) -> None:
        response = client.get("/", headers={"host": "attacker.example"})
        assert response.status_code == 400


class TestPreview:
    def test_a_shape_error_is_placed_at_the_operand_that_breaks_it(self, client: TestClient) -> None:
        answer = r"-\frac{2}{n} W_2 (X - W_2 W_1 X) X^T"
        part = read(client, "lae.grad_W1", answer)["parts"][0]
        error = part["error"]
        # W_2 is m×k and (X − W_2 W_1 X) is m×n: k columns against m rows
        assert "k columns against m rows" in error["message"]
        assert answer[error["start"] : error["end"]] == "(X - W_2 W_1 X)"
        assert not part["ok"] and part["shape"] is None

    @pytest.mark.parametrize(
        ("answer", "token"),
        [(r"W_2 \odot W_1", "W_1"), ("W_1 + X", "X"), (r"\operatorname{diag}(X) W_1", "(X)")],
    )
    def test_other_shape_errors(self, client: TestClient, answer: str, token: str) -> None:
        error = read(client, "lae.grad_W1", answer)["parts"][0]["error"]
        assert error is not None and answer[error["start"] : error["end"]] == token, error

    def test_shape_products_and_transposes(self, client: TestClient) -> None:
        part = read(client, "lae.grad_W1", r"-\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T")["parts"][0]
        assert part["ok"] and part["shape"] == "k × m" and part["expected"] == "k × m"
        kinds = [(p["kind"], p["operands"], p["shape"]) for p in part["products"]]
        assert ("matrix product", ["k × m", "m × n", "n × m"], "k × m") in kinds
        assert ("matrix product", ["m × k", "k × m", "m × n"], "m × n") in kinds  # W_2 W_1 X inside the bracket
        assert sorted((t["from"], t["to"]) for t in part["transposes"]) == [("m × k", "k × m"), ("m × n", "n × m")]
        assert "op-matmul" in part["mathml"] and "op-transpose" in part["mathml"]

    def test_entrywise_and_matrix_products_are_told_apart(self, client: TestClient) -> None:
        part = read(client, "lae.grad_W1", r"(W_2 W_1)^T \odot X X^T")["parts"][0]
        kinds = sorted(p["kind"] for p in part["products"])
        assert kinds == ["entrywise product", "matrix product", "matrix product"]
        assert "op-hadamard" in part["mathml"]
        # (W_2 W_1)ᵀ is m×m where the item asks for k×m: said as a note, not an error
        assert part["shape"] == "m × m" and any("k × m" in n for n in part["notes"])

    def test_a_script_takes_one_token_as_tex_reads_it(self, client: TestClient) -> None:
        part = read(client, "lae.grad_W1", "W_2^TW_2W_1XX^T")["parts"][0]
        # W_2ᵀ W_2 W_1 X Xᵀ: two transposes, of W_2 (m×k) and of X (m×n)
        assert sorted(t["from"] for t in part["transposes"]) == ["m × k", "m × n"]
        assert part["shape"] == "k × m"

    def test_unknown_symbols_are_named_where_they_are_written(self, client: TestClient) -> None:
        answer = "3w^2 u_1 + 2 w u_2 + u_3 + q"
        part = read(client, "scalar_rnn.dy_dw", answer)["parts"][0]
        assert [(u["name"], answer[u["start"] : u["end"]]) for u in part["unknown"]] == [("q", "q")]
        assert 'class="unknown"' in part["mathml"] and not part["ok"]

    def test_a_parse_error_points_at_its_character(self, client: TestClient) -> None:
        part = read(client, "scalar_rnn.dy_dw", "3w^2 u_1 + (2 w u_2")["parts"][0]
        assert "ends too early" in part["error"]["message"] and part["error"]["start"] == 19

    def test_a_derivative_symbol_is_shown_as_written(self, client: TestClient) -> None:
        answer = r"2 (\hat{y}_T - y_T) W^f \frac{\partial h_T}{\partial h_t}"
        part = read(client, "rnn.dL_dh_linear", answer)["parts"][0]
        assert [d["read_as"] for d in part["derivatives"]] == ["the m × m Jacobian"]
        assert "∂" in part["mathml"] and part["shape"] == "1 × m"
        assert any("write it out" in n for n in part["notes"])  # a final answer may not keep it

    def test_a_table_and_a_derivation_are_read_part_by_part(self, client: TestClient) -> None:
        parts = read(client, "scalar_rnn.forward", {"p": "u_1", "q": "w u_1 + zz"})["parts"]
        assert [(p["label"], p["ok"]) for p in parts] == [("p", True), ("q", False)]
        steps = (
            r"\frac{\partial L}{\partial h_t} = 2 (\hat{y}_T - y_T) W^f \frac{\partial h_T}{\partial h_t}"
            "\n"
            r"  = 2 (\hat{y}_T - y_T) W^f W^h"
        )
        parts = read(client, "rnn.dL_dh_linear", {"steps": steps})["parts"]
        assert [p["label"] for p in parts] == ["line 1", "line 2"] and all(p["lhs_mathml"] for p in parts)
        assert parts[1]["shape"] == "1 × m"


class TestHideReference:
    def test_no_reference_on_the_page_or_in_the_api(self, client: TestClient, hidden: TestClient) -> None:
        wrong = r"-\frac{1}{n} W_2^T (X - W_2 W_1 X) X^T"
        shown = check(client, "lae.grad_W1", wrong)
        assert "reference:" in shown["message"]
        verdict = check(hidden, "lae.grad_W1", wrong)
        assert verdict["verdict"] == "incorrect" and "reference:" not in verdict["message"]
        assert "W_2ᵀ" not in verdict["message"]
        assert "expected" not in read(hidden, "lae.grad_W1", "W_1")["parts"][0]
        assert "The verified reference" in client.get("/").text
        assert "The verified reference" not in hidden.get("/").text


class TestPage:
    def test_the_page_shows_each_item_and_needs_no_network(self, client: TestClient) -> None:
        response = client.get("/")
        html = response.text
        assert response.status_code == 200 and "default-src 'self'" in response.headers["content-security-policy"]
        for pid in IDS:
            assert f'data-id="{pid}"' in html
        assert "<math" in html and "Symbols this answer may use" in html
        assert 'src="http' not in html and 'href="http' not in html  # no CDN: the page works offline
        for asset in ("/static/app.js", "/static/style.css"):
            assert client.get(asset).status_code == 200
        assert [i["id"] for i in client.get("/api/items").json()] == IDS


class TestUpload:
    def test_a_toml_submission_is_graded_against_the_assignment(self, client: TestClient) -> None:
        text = "[\"scalar_rnn.dy_dw\"]\nanswer = '3w^2 u_1 + 2 w u_2 + u_3'\n\n[\"lae.grad_W1\"]\nanswer = 'W_1'\n"
        graded = self._grade(client, "alice hw3.toml", text.encode())
        verdicts = {v["id"]: v["verdict"] for v in graded["results"]}
        assert verdicts["scalar_rnn.dy_dw"] == "correct" and verdicts["lae.grad_W1"] == "incorrect"
        assert verdicts["rnn.dL_dh_linear"] == "missing"  # the assignment is the page's items
        assert graded["score"] == 1 and graded["max_score"] == len(IDS) and graded["name"] == "alice_hw3.toml"

    def test_a_markdown_document_is_graded(self, client: TestClient) -> None:
        pytest.importorskip("dlverify.checking.formats")
        text = "# HW\n\n<!-- answer scalar_rnn.dy_dw -->\n$$\n3w^2 u_1 + 2 w u_2\n$$\n"
        graded = self._grade(client, "hw.md", text.encode())
        verdict = next(v for v in graded["results"] if v["id"] == "scalar_rnn.dy_dw")
        assert verdict["verdict"] == "incorrect"  # u_3 dropped: see SCALAR_CASES

    def test_an_item_outside_the_assignment_is_not_judged(self, client: TestClient) -> None:
        graded = self._grade(client, "hw.toml", b"[\"lae.grad_W2\"]\nanswer = 'W_1'\n")
        verdict = next(v for v in graded["results"] if v["id"] == "lae.grad_W2")
        assert verdict["verdict"] == "unknown_id" and verdict["max_score"] == 0

    def test_a_file_that_is_not_toml_is_refused_with_the_reason(self, client: TestClient) -> None:
        response = client.post(
            "/api/grade?name=../../etc/hw.toml", content=b"[oops", headers={"content-type": "application/octet-stream"}
        )
        assert response.status_code == 422 and "not valid TOML" in response.json()["error"]
        assert "/etc" not in response.json()["error"]

    @staticmethod
    def _grade(client: TestClient, name: str, data: bytes) -> dict:
        response = client.post(
            "/api/grade", params={"name": name}, content=data, headers={"content-type": "application/octet-stream"}
        )
        assert response.status_code == 200, response.text
        return response.json()


def test_the_command_refuses_unknown_ids_and_items_that_take_no_answer(capsys) -> None:
    assert main(["serve", "no_such_topic"]) == 2
    assert "unknown problem id or topic" in capsys.readouterr().err
    assert main(["serve", "lae.pca_is_optimal"]) == 2  # a numeric claim takes no answer
