"""Benchmark the review page: first paint of a 1,000-episode dataset and switching episodes.

Why: issue 13 asks that a person can review thousands of episodes; what they feel is how long the
page takes to show the list and the first episode, and how long `j` takes to show the next one
(clips are made on first view by packet copy, then cached). Prints a Markdown table.

Two tiers, same dataset (a robosplice sample, 1,000 episodes × 2 AV1 cameras, built once into
~/.cache/robosplice/bench-review unless --source is given; never modified):
- API: the requests the page makes, through Starlette's TestClient (no browser needed);
- browser: Debian's chromium under Selenium (skipped when /usr/bin/chromedriver is absent),
  from `driver.get(url)` until the listbox is filled and every camera shows frame 0, then `j`
  until the next episode's cameras show its frame 0.

    python bench/bench_review.py                 # 1,000 episodes, 20 switches
    python bench/bench_review.py --episodes 200 --switches 10
    python bench/bench_review.py --source DIR
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path


def build_dataset(episodes: int) -> Path:
    """A sample with `episodes` short episodes (cached by count)."""
    from robosplice.ops.sample import write_sample

    root = Path("~/.cache/robosplice/bench-review").expanduser() / f"sample-{episodes}"
    if not (root / "meta" / "info.json").is_file():
        print(f"building {root} ({episodes} episodes, once)…", file=sys.stderr)
        write_sample(root, episodes=episodes, min_length=20, max_length=40, overwrite=True)
    return root


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (max {max(values) * 1000:.0f})"


def bench_api(root: Path, switches: int) -> list[tuple[str, str]]:
    """Cold start and per-episode requests through the ASGI app."""
    from starlette.testclient import TestClient

    from robosplice.review.server import create_app
    from robosplice.review.session import ReviewSession

    started = time.perf_counter()
    session = ReviewSession(root)
    client = TestClient(create_app(session, token="t", hosts={"testserver"}))
    client.get("/?token=t")
    summary = client.get("/api/dataset").json()
    episodes = client.get("/api/episodes").json()
    client.get("/api/edits")
    cameras = [c["key"] for c in summary["cameras"] if c["kind"] == "video"]

    def episode_requests(episode: int) -> None:
        client.get(f"/api/episodes/{episode}/series")
        for camera in cameras:
            client.get(f"/api/episodes/{episode}/cameras/{camera}/clip.json")
            client.get(f"/api/episodes/{episode}/cameras/{camera}/clip.mp4")

    episode_requests(0)
    first = time.perf_counter() - started
    cold, warm = [], []
    for episode in range(1, switches + 1):
        t = time.perf_counter()
        episode_requests(episode)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        episode_requests(episode)
        warm.append(time.perf_counter() - t)
    client.close()
    return [
        ("API: session + summary + list + episode 0", f"{first * 1000:.0f} ms"),
        ("API: list size", f"{len(episodes)} episodes"),
        ("API: next episode, clips made (cold)", median_ms(cold)),
        ("API: next episode, clips cached", median_ms(warm)),
    ]


def bench_browser(root: Path, switches: int) -> list[tuple[str, str]]:
    """First paint and `j` switching in headless Debian chromium."""
    if not Path("/usr/bin/chromedriver").is_file():
        return [("browser", "skipped: no /usr/bin/chromedriver (apt-get install chromium-driver)")]
    import socket

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    from robosplice.review.server import create_app
    from robosplice.review.session import ReviewSession

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ReviewSession(root), token="t"), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1400,900"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 60, poll_frequency=0.01)

    def shown(episode: int) -> bool:
        return bool(
            driver.execute_script(
                "const v=[...document.querySelectorAll('#cameras video')];"
                "return document.getElementById('viewer').getAttribute('aria-busy')==='false'"
                " && v.length>0 && v.every(x=>x.dataset.episode===arguments[0]);",
                str(episode),
            )
        )

    try:
        started = time.perf_counter()
        driver.get(f"http://127.0.0.1:{port}/?token=t")
        wait.until(lambda d: shown(0))
        first = time.perf_counter() - started
        options_count = driver.execute_script(
            "return document.querySelectorAll('[role=option]').length"
        )
        times = []
        for episode in range(1, switches + 1):
            t = time.perf_counter()
            ActionChains(driver).send_keys("j").perform()
            wait.until(lambda d, e=episode: shown(e))
            times.append(time.perf_counter() - t)
        back = []
        for episode in range(switches - 1, -1, -1):
            t = time.perf_counter()
            ActionChains(driver).send_keys("k").perform()
            wait.until(lambda d, e=episode: shown(e))
            back.append(time.perf_counter() - t)
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)
    return [
        (f"browser: first paint ({options_count} options, episode 0 on screen)", f"{first * 1000:.0f} ms"),
        ("browser: j to a new episode (clips made)", median_ms(times)),
        ("browser: k back (clips cached)", median_ms(back)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--source", type=Path, help="an existing dataset (never modified)")
    args = parser.parse_args()
    root = args.source or build_dataset(args.episodes)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ROBOSPLICE_CACHE_DIR"] = cache
        rows = bench_api(root, args.switches)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ROBOSPLICE_CACHE_DIR"] = cache
        rows += bench_browser(root, args.switches)
    print(f"\n### review page: {root}\n\n| what | time |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    main()
