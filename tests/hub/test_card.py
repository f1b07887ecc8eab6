"""The card a push writes: YAML and prose kept, our block refreshed in place, no licence defaulted."""

from __future__ import annotations

from hub.conftest import CARD
from robosplice.hub.card import BEGIN, END, card_license, render_card

INFO = {"codebase_version": "v3.0", "fps": 30, "total_frames": 10, "total_tasks": 1, "features": {}}


def _render(existing, **kwargs):
    return render_card(
        existing, repo_id="org/x", info=INFO, num_episodes=2, provenance="made", **kwargs
    )


def test_an_existing_card_keeps_its_yaml_and_prose_and_gets_one_block():
    once = _render(CARD)
    assert card_license(once) == "cc-by-4.0"
    assert "citation:" in once
    assert "Hand-written prose about how the data was recorded." in once
    assert once.count(BEGIN) == once.count(END) == 1
    again = render_card(
        once, repo_id="org/x", info=INFO, num_episodes=1, provenance="made", license=None
    )
    assert again.count(BEGIN) == 1
    assert "episodes: 1;" in again
    assert "episodes: 2;" not in again
    assert _render(once) == once  # idempotent: a re-push changes nothing


def test_no_licence_is_defaulted_and_one_can_be_set():
    new = _render(None)
    assert card_license(new) is None
    assert card_license(_render(None, license="mit")) == "mit"
    assert card_license(_render(CARD, license="mit")) == "mit"
    assert card_license(_render("# just prose\n")) is None
