"""Run the review server with uvicorn: bind, print the URL, open a browser, stop on Ctrl-C/SIGTERM."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from robosplice.review.server import LOOPBACK_HOSTS, create_app
from robosplice.review.session import ReviewSession


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str) -> int:
    """A port the OS says is free on `host` now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host.strip("[]"), 0))
        return int(probe.getsockname()[1])


def page_url(host: str, port: int, token: str) -> str:
    """The URL to open: the page with its token."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if shown in ("0.0.0.0", "[::]"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}/?token={token}"


def serve(
    root: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Serve the review page of `root` until Ctrl-C or SIGTERM (uvicorn stops gracefully on both).

    Raises:
        DatasetNotFoundError: `root` is not a dataset.
    """
    import uvicorn

    session = ReviewSession(root)
    session.start_findings()
    token = secrets.token_urlsafe(24)
    port = port or free_port(host)
    hosts = set(LOOPBACK_HOSTS)
    if not is_loopback(host):
        warn(
            f"warning: serving on {host}, reachable from other machines; anyone with the URL"
            " (its token) can read this dataset and write new folders on this machine"
        )
        hosts.update({host.strip("[]").lower(), socket.gethostname().lower()})
        if host in ("0.0.0.0", "::"):
            hosts.update(_local_addresses())
    app = create_app(session, token=token, hosts=hosts)
    url = page_url(host, port, token)
    say(url)
    config = uvicorn.Config(app, host=host.strip("[]"), port=port, log_level="warning")
    server = uvicorn.Server(config)
    if open_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    server.run()


def _local_addresses() -> set[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return set()
    return {str(info[4][0]).lower() for info in infos}
