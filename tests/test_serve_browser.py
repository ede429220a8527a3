"""The answer page in a real browser: headless Chromium (Debian's ``chromium``, driven through
``chromium-driver`` by Selenium) against ``dlverify serve`` started as a user starts it.

A student types an answer and sees the preview, presses Check and reads the verdict; a shape
error is marked at the operand that breaks it; an uploaded file is graded.  The verdicts expected
here are those tests/test_serve.py establishes against autograd (the same answers).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="no Chromium and ChromeDriver here (apt-get install chromium chromium-driver)"
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
pytest.importorskip("starlette", reason="the serve extra is not installed (pip install -e '.[serve]')")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ITEMS = ["scalar_rnn.dy_dw", "lae.grad_W1"]
RIGHT = r"-\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T"
NO_TRANSPOSE = r"-\frac{2}{n} W_2 (X - W_2 W_1 X) X^T"  # W_2 (m×k) against (X − W_2 W_1 X) (m×n)
WAIT = 60  # seconds: the first answer waits for the checker's workers to start


@pytest.fixture(scope="module")
def server():
    command = [sys.executable, "-m", "dlverify", "serve", *ITEMS, "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # "dlverify: serving 2 items on http://127.0.0.1:PORT/ …"
        found = re.search(r"http://\S+/", line)
        assert found, (line, process.stderr.read() if process.poll() is not None else "")
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn shuts down and the workers are closed
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,1500",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(server: str, browser):
    browser.get(server)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "section.item"))
    return browser


def _item(driver, pid: str):
    return driver.find_element(By.CSS_SELECTOR, f'section.item[data-id="{pid}"]')


def _type(box, text: str) -> None:
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def _text(element) -> str:
    return element.get_attribute("textContent") or ""


def _wait_for(driver, section, selector: str, predicate=lambda e: True):
    def ready(_):
        found = section.find_elements(By.CSS_SELECTOR, selector)
        return found[0] if found and predicate(found[0]) else None

    return WebDriverWait(driver, WAIT).until(ready)


def test_typing_shows_the_preview_and_check_shows_the_verdict(page) -> None:
    section = _item(page, "lae.grad_W1")
    _type(section.find_element(By.CSS_SELECTOR, "textarea"), RIGHT)
    shape = _wait_for(page, section, ".preview .shape", lambda e: "k × m" in _text(e))
    assert "k × m" in _text(shape)
    reading = section.find_element(By.CSS_SELECTOR, ".preview .reading math")
    assert reading.size["width"] > 50 and reading.size["height"] > 10  # MathML laid out by the browser itself
    kinds = [_text(e) for e in section.find_elements(By.CSS_SELECTOR, ".preview ul.products .tag")]
    assert kinds.count("matrix product") == 2
    section.find_element(By.CSS_SELECTOR, "button.check").click()
    word = _wait_for(page, section, ".verdict .verdict-word")
    assert _text(word) == "correct"


def test_a_shape_error_is_marked_at_its_token_and_check_says_incorrect(page) -> None:
    section = _item(page, "lae.grad_W1")
    _type(section.find_element(By.CSS_SELECTOR, "textarea"), NO_TRANSPOSE)
    mark = _wait_for(page, section, ".preview mark.error-at")
    assert _text(mark) == "(X - W_2 W_1 X)"
    assert "k columns against m rows" in _text(section.find_element(By.CSS_SELECTOR, ".preview .error"))
    section.find_element(By.CSS_SELECTOR, "button.check").click()
    word = _wait_for(page, section, ".verdict .verdict-word")
    assert _text(word) == "incorrect"
    # the witness point: the matrices typeset as MathML tables
    assert section.find_elements(By.CSS_SELECTOR, ".verdict .counterexample math mtable")
    shot = os.environ.get("DLVERIFY_SCREENSHOT")
    if shot:  # a picture of the page with a preview and a verdict, for a person to look at
        page.execute_script("arguments[0].scrollIntoView()", section)
        page.save_screenshot(shot)


def test_an_uploaded_file_is_graded(page, tmp_path: Path) -> None:
    submission = tmp_path / "hw3.toml"
    submission.write_text(
        f"[\"scalar_rnn.dy_dw\"]\nanswer = '3w^2 u_1 + 2 w u_2 + u_3'\n\n[\"lae.grad_W1\"]\nanswer = '{NO_TRANSPOSE}'\n"
    )
    page.find_element(By.ID, "upload-file").send_keys(str(submission))
    page.find_element(By.ID, "upload-button").click()
    result = page.find_element(By.ID, "upload-result")
    WebDriverWait(page, WAIT).until(lambda d: result.find_elements(By.CSS_SELECTOR, "table.graded tr.verdict-correct"))
    rows = {
        _text(r.find_elements(By.TAG_NAME, "td")[0]): _text(r.find_elements(By.TAG_NAME, "td")[1])
        for r in result.find_elements(By.CSS_SELECTOR, "table.graded tr")[1:]
    }
    assert rows == {"scalar_rnn.dy_dw": "correct", "lae.grad_W1": "incorrect"}
    assert _text(result.find_element(By.CSS_SELECTOR, ".total")) == "hw3.toml: 1 / 2"


def test_the_server_came_up_quickly(server: str) -> None:
    # the page answered within the module's first request; a fresh one is served from memory
    import urllib.request

    start = time.perf_counter()
    with urllib.request.urlopen(server, timeout=10) as response:
        assert response.status == 200
    assert time.perf_counter() - start < 2
