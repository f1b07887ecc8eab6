"""`robosplice review`: prints the URL, serves the page, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from robosplice.review.serve import is_loopback, page_url


def test_serves_until_sigterm_and_prints_the_tokened_url(fixture_dataset, review_cache):
    root = fixture_dataset("v3_av1_single")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from robosplice.cli.app import main; main()",
            "review",
            str(root),
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert "/?token=" in url
        base, token = url.split("/?token=")
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/api/dataset?token={token}", timeout=5) as r:
                    summary = json.load(r)
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        assert summary["num_episodes"] == 6
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/dataset", timeout=5)
        assert refused.value.code == 403
        refused.value.close()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "review stopped" in stderr


def test_loopback_and_urls():
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")
    assert page_url("::1", 8000, "t") == "http://[::1]:8000/?token=t"
    assert page_url("0.0.0.0", 8000, "t") == "http://127.0.0.1:8000/?token=t"


def test_a_non_loopback_host_is_served_with_a_warning(fixture_dataset, monkeypatch):
    import uvicorn

    from robosplice.review.serve import serve

    configs = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: configs.append(self.config))
    said, warned = [], []
    root = fixture_dataset("v3_av1_single")
    serve(
        root,
        host="0.0.0.0",
        port=8123,
        open_browser=False,
        say=said.append,
        warn=warned.append,
    )
    assert len(warned) == 1
    assert "reachable from other machines" in warned[0]
    assert said[0].startswith("http://127.0.0.1:8123/?token=")
    assert (configs[0].host, configs[0].port) == ("0.0.0.0", 8123)
    said.clear()
    serve(root, port=8124, open_browser=False, say=said.append,
          warn=warned.append)  # fmt: skip
    assert len(warned) == 1  # loopback: no warning
    assert said[0].startswith("http://127.0.0.1:8124/?token=")
