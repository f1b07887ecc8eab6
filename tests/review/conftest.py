"""Review tests: a TestClient on a session over a private copy of a fixture; cache in tmp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the review extra (robosplice[review]) is not installed")

from starlette.testclient import TestClient

from robosplice.review.server import create_app
from robosplice.review.session import ReviewSession

TOKEN = "test-token"


@pytest.fixture(autouse=True)
def review_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clips and pending edits go to a temporary cache, never ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ROBOSPLICE_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def review_client(
    fixture_dataset: Callable[[str], Path],
) -> Iterator[Callable[[str], tuple[TestClient, ReviewSession]]]:
    """name → (client holding the token cookie, session) over a guarded copy of that fixture."""
    clients: list[TestClient] = []

    def make(name: str) -> tuple[TestClient, ReviewSession]:
        session = ReviewSession(fixture_dataset(name))
        client = TestClient(create_app(session, token=TOKEN, hosts={"testserver"}))
        assert client.get(f"/?token={TOKEN}").status_code == 200
        clients.append(client)
        return client, session

    yield make
    for client in clients:
        client.close()
