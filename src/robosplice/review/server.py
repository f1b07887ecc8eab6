"""The review page's HTTP server: a Starlette app over a `ReviewSession` (needs `robosplice[review]`).

Safety (issue 13): every request needs the random token (in the URL, or the cookie the page gets
with it); requests from another origin (`Origin`, `Sec-Fetch-Site`) and unknown `Host` names (DNS
rebinding) are refused; writes take JSON only. The only files served are the page's own static
files, cached clips of the dataset's videos, and stills decoded from it; the only folder written
(besides the cache) is the output chosen for apply, which must be new and outside the source.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterable
from importlib import resources
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from robosplice.errors import RobospliceError, SelectionError
from robosplice.format.untrusted import is_inside, trusted_roots
from robosplice.recipe import dumps
from robosplice.review.edits import EditConflictError
from robosplice.review.media import image_media_type
from robosplice.review.session import OutputRefusedError, ReviewSession

STATIC_FILES: Final = {
    "app.js": "text/javascript",
    "player.js": "text/javascript",
    "plot.js": "text/javascript",
    "style.css": "text/css",
}
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CSP: Final = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data: blob:; style-src 'self';"
    " script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'none'"
)


def cookie_name(token: str) -> str:
    """The cookie that carries this server's token (named per token: servers on other ports of
    the same host keep their own)."""
    return "robosplice_" + hashlib.sha256(token.encode()).hexdigest()[:12]


class GuardMiddleware:
    """Refuses requests without the token, from other origins, or for unknown Host names."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str]) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            response = PlainTextResponse(refusal[1], status_code=refusal[0])
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                for name, value in (
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", CSP.encode()),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ):
                    headers.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> tuple[int, str] | None:
        host_header = request.headers.get("host", "")
        host = urlsplit(f"//{host_header}").hostname or ""
        if host.lower() not in self.hosts and f"[{host.lower()}]" not in self.hosts:
            return 421, f"unknown host {host_header!r}: open the URL robosplice review printed"
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{host_header}":
            return 403, f"cross-origin request from {origin!r} refused"
        if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return 403, "cross-site request refused"
        given = request.query_params.get("token") or request.cookies.get(self.cookie) or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return 403, "missing or wrong token: open the URL robosplice review printed"
        if request.method not in ("GET", "HEAD", "POST", "DELETE"):
            return 405, f"method {request.method} not allowed"
        if request.method == "POST" and request.headers.get("content-type", "").split(";")[
            0
        ].strip() not in ("application/json",):
            return 415, "POST bodies must be application/json"
        return None


def _error(exc: Exception) -> JSONResponse:
    status = 500
    if isinstance(exc, (EditConflictError, OutputRefusedError)):
        status = 409
    elif isinstance(exc, SelectionError):
        status = 404
    elif isinstance(exc, RobospliceError):
        status = 422
    elif isinstance(exc, (ValueError, KeyError, TypeError)):
        status = 400  # a malformed request (missing or mistyped field)
    return JSONResponse({"error": str(exc), "kind": exc.__class__.__name__}, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (RobospliceError, ValueError, KeyError, TypeError) as exc:
            return _error(exc)

    return wrapped


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        value = await request.json()
    except ValueError as exc:
        raise EditConflictError(f"the request body is not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise EditConflictError("the request body must be a JSON object")
    return value


def create_app(
    session: ReviewSession, *, token: str, hosts: Iterable[str] = LOOPBACK_HOSTS
) -> ASGIApp:
    """The ASGI app serving the page and its API for `session`, guarded by `token`."""
    static = resources.files("robosplice.review") / "static"

    async def index(request: Request) -> Response:
        html = (static / "index.html").read_text(encoding="utf-8")
        response = Response(html, media_type="text/html; charset=utf-8")
        response.set_cookie(cookie_name(token), token, httponly=True, samesite="strict", path="/")
        return response

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return PlainTextResponse("not found", status_code=404)
        return Response((static / name).read_bytes(), media_type=STATIC_FILES[name])

    async def dataset(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(session.summary))

    async def episodes(request: Request) -> Response:
        return JSONResponse(session.episodes())

    async def series(request: Request) -> Response:
        episode = request.path_params["episode"]
        return JSONResponse(await run_in_threadpool(session.series, episode))

    async def clip_info(request: Request) -> Response:
        episode, camera = request.path_params["episode"], request.path_params["camera"]
        clip = await run_in_threadpool(session.clip, episode, camera)
        return JSONResponse(
            {**clip.to_json(), "url": f"/api/episodes/{episode}/cameras/{camera}/clip.mp4"}
        )

    async def clip_file(request: Request) -> Response:
        episode, camera = request.path_params["episode"], request.path_params["camera"]
        clip = await run_in_threadpool(session.clip, episode, camera)
        if not is_inside(clip.path, trusted_roots(session.cache_dir)):  # only our own clips
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(clip.path, media_type="video/mp4")  # serves HTTP Range

    async def still(request: Request) -> Response:
        params = request.path_params
        data = await run_in_threadpool(
            session.still, params["episode"], params["camera"], params["frame"]
        )
        return Response(data, media_type=image_media_type(data))

    async def findings(request: Request) -> Response:
        found = session.findings()
        return JSONResponse(
            {
                "available": found is not None,
                "state": session.findings_state,
                "findings": found or [],
            }
        )

    async def edits(request: Request) -> Response:
        if request.method == "POST":
            action = await _json_body(request)
            return JSONResponse(await run_in_threadpool(session.change_edits, action))
        return JSONResponse(session.edits_json())

    async def preview(request: Request) -> Response:
        return JSONResponse({"text": await run_in_threadpool(session.preview)})

    async def apply(request: Request) -> Response:
        body = await _json_body(request)
        job = await run_in_threadpool(session.start_apply, str(body.get("output", "")))
        return JSONResponse(job.to_json(), status_code=202)

    async def job(request: Request) -> Response:
        found = session.jobs.get(request.path_params["job"])
        if found is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return JSONResponse(found.to_json())

    async def recipe(request: Request) -> Response:
        text = await run_in_threadpool(lambda: dumps(session.recipe()))
        name = f"{session.dataset.root.name}.recipe.json"
        return Response(
            text,
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    episode_path = "/api/episodes/{episode:int}"
    routes = [
        Route("/", index),
        Route("/static/{name}", static_file),
        Route("/api/dataset", _guarded(dataset)),
        Route("/api/episodes", _guarded(episodes)),
        Route(f"{episode_path}/series", _guarded(series)),
        Route(f"{episode_path}/cameras/{{camera}}/clip.json", _guarded(clip_info)),
        Route(f"{episode_path}/cameras/{{camera}}/clip.mp4", _guarded(clip_file)),
        Route(f"{episode_path}/cameras/{{camera}}/frames/{{frame:int}}", _guarded(still)),
        Route("/api/findings", _guarded(findings)),
        Route("/api/edits", _guarded(edits), methods=["GET", "POST"]),
        Route("/api/preview", _guarded(preview)),
        Route("/api/apply", _guarded(apply), methods=["POST"]),
        Route("/api/jobs/{job}", _guarded(job)),
        Route("/api/recipe", _guarded(recipe)),
    ]
    app = Starlette(routes=routes)
    return GuardMiddleware(app, token=token, hosts=hosts)
