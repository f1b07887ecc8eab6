"""The dataset card (README.md) a push writes: the existing one, with only our block refreshed.

Why: a card holds what only people know (licence, citation, tags, prose); lerobot's push replaces
it with a template and resets the licence to apache-2.0. Here the YAML and prose stay; only the
`configs` entry (what the Hub's viewer loads) and the block between our markers are rewritten.
No licence is ever defaulted: a card without one stays without unless one is passed. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

BEGIN: Final = "<!-- robosplice:begin (generated on push; edits inside are replaced) -->"
END: Final = "<!-- robosplice:end -->"
CONFIGS: Final = [{"config_name": "default", "data_files": "data/*/*.parquet"}]
_FRONT: Final = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n?", re.DOTALL)
_BLOCK: Final = re.compile(re.escape(BEGIN.split(" (")[0]) + r".*?" + re.escape(END), re.DOTALL)


def render_card(
    existing: str | None,
    *,
    repo_id: str,
    info: Mapping[str, Any],
    num_episodes: int,
    provenance: str,
    license: str | None = None,
) -> str:
    """The card to push: `existing` with a fresh generated block (a new card when None)."""
    block = generated_block(info, num_episodes=num_episodes, provenance=provenance)
    if existing is None:
        metadata: dict[str, Any] = {}
        if license:
            metadata["license"] = license
        metadata.update({"tags": ["LeRobot", "robosplice"], "configs": CONFIGS})
        front = _dump(metadata)
        return f"---\n{front}---\n\n# {repo_id}\n\n{block}\n"
    match = _FRONT.match(existing)
    front_text, body = (match.group(1), existing[match.end() :]) if match else ("", existing)
    loaded = _load(front_text) if front_text.strip() else None
    metadata = dict(loaded) if isinstance(loaded, dict) else {}
    changed = False
    if metadata.get("configs") != CONFIGS:
        metadata["configs"] = CONFIGS
        changed = True
    if license and metadata.get("license") != license:
        metadata["license"] = license
        changed = True
    front = _dump(metadata) if changed else front_text.rstrip("\n") + "\n"
    if _BLOCK.search(body):
        body = _BLOCK.sub(lambda _: block, body, count=1)
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    return f"---\n{front}---\n{body}"


def generated_block(info: Mapping[str, Any], *, num_episodes: int, provenance: str) -> str:
    """The structure summary and provenance line between the markers."""
    features = info.get("features") or {}
    cameras = [
        f"{name} ({feature.get('dtype')})"
        for name, feature in features.items()
        if isinstance(feature, dict) and feature.get("dtype") in ("video", "image")
    ]
    lines = [
        BEGIN,
        "## Dataset structure",
        "",
        f"- codebase_version: {info.get('codebase_version')}; robot_type:"
        f" {info.get('robot_type') or 'unknown'}; fps: {info.get('fps')}",
        f"- episodes: {num_episodes}; frames: {info.get('total_frames')}; tasks:"
        f" {info.get('total_tasks')}",
        f"- cameras: {', '.join(cameras) if cameras else 'none'}",
        "",
        provenance,
        END,
    ]
    return "\n".join(lines)


def provenance_line(*, version: str, source: str | None, operations: Sequence[str]) -> str:
    """`Pushed with robosplice X from ORG/NAME@sha (operations: ...).`"""
    origin = f" from {source}" if source else ""
    done = f" (operations: {', '.join(operations)})" if operations else ""
    return f"Pushed with robosplice {version}{origin}{done}."


def card_license(card: str | None) -> str | None:
    """The card's YAML licence, if any."""
    if not card:
        return None
    match = _FRONT.match(card)
    loaded = _load(match.group(1)) if match else None
    value = loaded.get("license") if isinstance(loaded, dict) else None
    return str(value) if value is not None else None


def _load(text: str) -> Any:
    import yaml  # PyYAML comes with huggingface_hub (the `hub` extra)

    return yaml.safe_load(text)


def _dump(metadata: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(metadata), sort_keys=False, allow_unicode=True)
