"""The live answer page: a Starlette app over the checker's worker pool.

Routes:

- ``GET /``: the assignment's page (templates/page.html, static/): each item's statement, its
  symbols, an answer box with a preview as the student types, Check, and a file upload.
- ``POST /api/check`` ``{"id", "answer"}``: one entry of ``check --json``'s ``results``
  (``Verdict.to_json``, strict JSON), judged by a ``CheckerPool`` under the limit of CPU time.
- ``POST /api/read`` ``{"id", "answer"}``: the preview (preview.py), made by a reader process
  under the same limit (readers.py).
- ``POST /api/grade?name=FILE``: a whole submission (TOML, .tex, .md, .ipynb) as the request's
  body, graded as ``check --json`` grades a file, with the assignment as ``--expect``.
- ``GET /api/items``: the assignment's ids, kinds and titles.

The server never judges an id outside its assignment (it is no oracle for the rest of the
catalog); ``--hide-reference`` keeps the reference off the page and out of every verdict.
Requests to the API are JSON (a page on another site cannot send one without the browser
asking first, which this server never allows), at most 64 KB (an upload: the size of an answer
file); when the server listens on a loopback address it answers only requests named for one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dlverify import registry
from dlverify.checking import answers as af
from dlverify.checking.kinds import answer_kind
from dlverify.checking.pool import DEFAULT_TIMEOUT, CheckerPool
from dlverify.checking.verdict import Verdict
from dlverify.registry import Catalog

HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024  # bytes of a /api/check or /api/read request
MAX_UPLOAD = af.MAX_FILE_BYTES  # an uploaded submission: the limit on any answer file
MEMO = 4096  # verdicts kept: a verdict is a function of the id and the answer, so a repeat is free
READERS = 2  # preview processes: one hostile preview must not stall the others
READY_TIMEOUT = 180.0  # seconds a request waits for the workers to start
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
SECURITY_HEADERS = {
    # the page's own script and style only: nothing inline, nothing from elsewhere (the page works offline)
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class RequestError(Exception):
    """A request the API refuses: its HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Grader:
    """The assignment's items and the processes that judge and preview answers to them.

    The workers start in a thread when the server starts, so the page is served at once; an API
    request waits until they are ready."""

    def __init__(
        self,
        ids: Sequence[str],
        *,
        hide_reference: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.catalog = catalog if catalog is not None else registry.current()
        self.ids = list(dict.fromkeys(ids))
        self.hide = hide_reference
        self.timeout = timeout
        # more workers than cores: an answer that runs to its time limit holds a worker for seconds, and the
        # others must go on judging the class's answers meanwhile (the limit is CPU time, so sharing a core
        # changes no verdict)
        self.workers = workers or max(2, min(2 * (os.cpu_count() or 1), 8))
        self.pool: CheckerPool | None = None
        self.readers: Any = None
        self.failure: str | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._memo: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._memo_lock = threading.Lock()

    # workers ---------------------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._start, name="dlverify-serve-workers", daemon=True).start()

    def _start(self) -> None:
        from dlverify.serve.readers import ReaderPool

        try:
            with registry.using(self.catalog):
                self.pool = CheckerPool(self.workers, timeout=self.timeout, ids=self.ids, catalog=self.catalog)
                files = tuple(str(f) for f in self.catalog.course_files)
                self.readers = ReaderPool(READERS, timeout=self.timeout, files=files)
        except Exception as exc:  # noqa: BLE001 - reported on every request instead of a silent hang
            self.failure = f"the checker's workers did not start ({type(exc).__name__}: {exc})"
        finally:
            self._ready.set()
        # This thread may have started the checker's forkserver, which is told to die with the thread
        # that started it (PR_SET_PDEATHSIG): it lives as long as the server.
        self._stopped.wait()

    def _wait(self) -> None:
        if not self._ready.wait(READY_TIMEOUT):
            raise RequestError(503, "the checker's workers are still starting; try again")
        if self.failure:
            raise RequestError(503, self.failure)

    def close(self) -> None:
        self._ready.wait(READY_TIMEOUT)
        for part in (self.readers, self.pool):
            if part is not None:
                part.close()
        self._stopped.set()

    # the API's work (run in threads) -------------------------------------------------------------
    def _known(self, problem_id: Any) -> str:
        if not isinstance(problem_id, str) or problem_id not in self.ids:
            shown = af.one_line(str(problem_id), 80)
            raise RequestError(404, f"{shown!r} is not an item of this page's assignment ({', '.join(self.ids)})")
        return problem_id

    def check(self, problem_id: Any, answer: Any) -> Verdict:
        pid = self._known(problem_id)
        self._wait()
        key = (pid, json.dumps(answer, sort_keys=True, ensure_ascii=False, default=repr))  # a TOML date: repr
        with self._memo_lock:
            kept = self._memo.get(key)
            if kept is not None:
                self._memo.move_to_end(key)
                return Verdict.from_json(kept)
        verdict = self.pool.check(pid, answer, self.hide)
        if verdict.verdict != "error":  # an error (a crash, a starved worker) is worth another try
            with self._memo_lock:
                self._memo[key] = verdict.to_json(reference_apart=True)
                while len(self._memo) > MEMO:
                    self._memo.popitem(last=False)
        return verdict

    def read(self, problem_id: Any, answer: Any) -> dict[str, Any]:
        pid = self._known(problem_id)
        self._wait()
        return self.readers.read(pid, answer, self.hide)

    def grade_file(self, name: str, data: bytes) -> dict[str, Any]:
        """A submission graded as ``check --json`` grades one file, with the assignment as ``--expect``."""
        self._wait()
        safe = _file_name(name)
        with tempfile.TemporaryDirectory(prefix="dlverify-upload-") as folder:
            path = Path(folder) / safe  # a name of our making inside a new folder: never a path the client chose
            path.write_bytes(data)
            try:
                with registry.using(self.catalog):
                    document = _read_submission(path)
            except af.AnswerFileError as exc:
                raise RequestError(422, af.one_line(str(exc).replace(str(path), safe))) from None
        answers = document.answers if document is not None else {}

        def one(task: tuple[Any, Any, bool]) -> Verdict:
            pid, value, _ = task
            if pid not in self.ids:  # judged by no one here: the page is no oracle for other items
                return Verdict(str(pid), "unknown_id", "not an item of this page's assignment")
            return self.check(pid, value)

        def judge_many(tasks: list[tuple[Any, Any, bool]]) -> list[Verdict]:
            with ThreadPoolExecutor(self.workers) as threads:  # the pool's workers judge them in parallel
                return list(threads.map(one, tasks))

        graded = af.grade(answers, judge_many, self.ids, self.hide)
        relocate = getattr(document, "relocate", None)
        results = [relocate(v) if relocate is not None else v for v in graded.results]
        out = af.Graded(results).to_json()
        out["name"] = safe
        out["notes"] = list(getattr(document, "notes", []) or [])
        return out


def _file_name(name: str) -> str:
    """The uploaded file's name, reduced to its last part in safe characters (its ending kept: it tells
    the format)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(name)).name)[-100:].lstrip(".")
    return base or "submission.toml"


def _read_submission(path: Path) -> Any:
    """A submission of any format the checker reads (documents too, where that reader is installed)."""
    try:
        from dlverify.checking import formats
    except ImportError:  # a checker without document formats: TOML only
        formats = None
    if formats is not None and hasattr(formats, "read"):
        return formats.read(path)
    return _TomlDocument(af.read_answers(path))


class _TomlDocument:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.notes: list[str] = []


# HTTP --------------------------------------------------------------------------------------------------


def json_response(value: Any, status: int = 200) -> Response:
    return Response(af.json_text(value), status_code=status, media_type="application/json")


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) past ``limit`` bytes before more is read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise RequestError(413, f"the request is larger than {limit // 1024} KB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request is larger than {limit // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request) -> tuple[Any, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise RequestError(415, "send the request as JSON (Content-Type: application/json)")
    raw = await _body(request, MAX_BODY)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestError(400, "the request is not JSON") from None
    if not isinstance(data, dict) or "id" not in data or "answer" not in data:
        raise RequestError(400, 'send {"id": ..., "answer": ...}')
    return data["id"], data["answer"]


def create_app(
    ids: Sequence[str],
    *,
    hide_reference: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int | None = None,
    catalog: Catalog | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """The page and API for the items ``ids`` (checkable ones; see ``assignment``). ``allowed_hosts``:
    the Host names a request may carry (None: any), so a page elsewhere cannot reach a local server
    through a name it controls."""
    from dlverify.serve.page import item_page

    catalog = catalog if catalog is not None else registry.current()
    grader = Grader(ids, hide_reference=hide_reference, timeout=timeout, workers=workers, catalog=catalog)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    built: list[Any] = []
    building = threading.Lock()

    def items() -> list[Any]:
        """The items' pages, built once (their derivations come from the disk cache)."""
        with building:
            if not built:
                with registry.using(catalog):
                    built.extend(item_page(catalog.problems[pid], hide_reference) for pid in grader.ids)
        return built

    threading.Thread(target=items, name="dlverify-serve-page", daemon=True).start()  # ready before it is asked for

    async def page(request: Request) -> Response:
        context = {"items": await run_in_threadpool(items), "hide_reference": hide_reference, "timeout": timeout}
        return templates.TemplateResponse(request, "page.html", context)

    async def api_items(request: Request) -> Response:
        return json_response([{"id": p.id, "kind": p.kind, "title": p.title} for p in await run_in_threadpool(items)])

    async def api_check(request: Request) -> Response:
        pid, answer = await _json_body(request)
        verdict = await run_in_threadpool(grader.check, pid, answer)
        return json_response(verdict.to_json())

    async def api_read(request: Request) -> Response:
        pid, answer = await _json_body(request)
        return json_response(await run_in_threadpool(grader.read, pid, answer))

    async def api_grade(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/octet-stream":
            raise RequestError(415, "send the file as the body (Content-Type: application/octet-stream)")
        data = await _body(request, MAX_UPLOAD)
        name = request.query_params.get("name", "submission.toml")
        return json_response(await run_in_threadpool(grader.grade_file, name, data))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return json_response({"error": exc.reason}, exc.status)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        grader.start()
        try:
            yield
        finally:
            await run_in_threadpool(grader.close)

    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=[
            Route("/", page),
            Route("/api/items", api_items),
            Route("/api/check", api_check, methods=["POST"]),
            Route("/api/read", api_read, methods=["POST"]),
            Route("/api/grade", api_grade, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        middleware=middleware,
        exception_handlers={RequestError: refused},
        lifespan=lifespan,
    )
    app.state.grader = grader
    return app


class _SecurityHeaders:
    """Every response carries SECURITY_HEADERS (a pure ASGI middleware: bodies pass untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def assignment(names: Sequence[str]) -> list[str]:
    """The checkable items of ``names`` (ids or topics), in catalog order: a numeric claim is verified,
    not answered, so the page leaves it out."""
    return [p.id for p in registry.select(list(names)) if answer_kind(p.kind).checkable]
