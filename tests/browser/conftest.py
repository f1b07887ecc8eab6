"""Browser tier wiring: Debian's chromium + chromedriver driven by Selenium (`make browser`).

Every test here is marked `browser` (deselected by default). The server runs in a thread on a
free loopback port; screenshots go to $ROBOSPLICE_BROWSER_ARTIFACTS (default
~/.cache/robosplice/browser-artifacts/<time>), printed at the start so a person can look.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1400,900",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `browser`, so none slips into the default run."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots, kept after the run."""
    default = Path("~/.cache/robosplice/browser-artifacts").expanduser() / time.strftime(
        "%Y%m%d-%H%M%S"
    )
    folder = Path(os.environ.get("ROBOSPLICE_BROWSER_ARTIFACTS", default)).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser artefacts (screenshots): {folder}")
    return folder


@pytest.fixture
def driver() -> Iterator[object]:
    """A headless Debian chromium under chromedriver (never a downloaded browser)."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.fail(
            "the browser tier needs Debian's chromium and chromium-driver:"
            " apt-get update && apt-get install -y chromium chromium-driver (make browser does)"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # a skip would let the tier pass having driven no browser
        pytest.fail(f"the browser tier needs Selenium ({exc}): pip install --group browser")

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """root → page URL of a review server (uvicorn in a thread) over `root`."""
    import uvicorn

    from robosplice.review.server import create_app
    from robosplice.review.session import ReviewSession

    monkeypatch.setenv("ROBOSPLICE_CACHE_DIR", str(tmp_path / "cache"))
    servers = []

    def start(root: Path) -> str:
        port = free_port()
        token = "browser-test-token"
        session = ReviewSession(root)
        session.start_findings()  # as `robosplice review` does: doctor in the background
        app = create_app(session, token=token)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the review server did not start"
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}/?token={token}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
