"""Naming a Hub dataset: `hf://datasets/ORG/NAME[@REV]` or a pasted Hub URL. Pure.

Why a prefix and never a bare `ORG/NAME`: a dataset argument that could be either a local folder
or a repo id would one day read the wrong one. Only an explicit `hf://` or `http(s)://` form is
a Hub reference; everything else is a local path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from robosplice.errors import HubError

HF_SCHEME: Final = "hf://"
DEFAULT_TAG: Final = "v3.0"
"""The revision LeRobot loads by default: a tag named after the codebase version."""

_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class HubRef:
    """A dataset repo on a Hub: id, optional revision, and the endpoint a pasted URL named."""

    repo_id: str
    revision: str | None = None
    endpoint: str | None = None

    def __str__(self) -> str:
        return f"{HF_SCHEME}datasets/{self.repo_id}" + (
            f"@{self.revision}" if self.revision else ""
        )


def is_hub_uri(text: object) -> bool:
    """Whether `text` names a Hub dataset (an `hf://` URI or a `…/datasets/…` URL), not a folder."""
    if not isinstance(text, str):
        return False
    if text.startswith(HF_SCHEME):
        return True
    return text.startswith(("http://", "https://")) and "/datasets/" in urlsplit(text).path


def parse_hf_uri(text: str) -> HubRef:
    """`hf://datasets/ORG/NAME[@REV]`, or `https://HOST/datasets/ORG/NAME[/tree/REV]` → HubRef.

    Raises:
        HubError: not a dataset reference (a model repo, a malformed id, a local path).
    """
    endpoint = None
    if text.startswith(HF_SCHEME):
        rest = text[len(HF_SCHEME) :]
    elif text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        endpoint = f"{parts.scheme}://{parts.netloc}"
        rest = parts.path.lstrip("/")
    else:
        raise HubError(f"{text!r} is not a Hub reference; write hf://datasets/ORG/NAME")
    segments = [segment for segment in rest.split("/") if segment]
    if not segments or segments[0] != "datasets":
        raise HubError(
            f"{text!r}: robosplice reads dataset repos only; write hf://datasets/ORG/NAME[@REV]"
        )
    segments = segments[1:]
    if len(segments) < 2:
        raise HubError(f"{text!r}: expected a repo id ORG/NAME after datasets/")
    org, name = segments[0], segments[1]
    revision = None
    if "@" in name:
        name, revision = name.split("@", 1)
        revision = unquote(revision) or None
        if revision is not None and len(segments) > 2:  # hf://datasets/o/n@refs/pr/1
            revision = "/".join([revision, *segments[2:]])
    elif len(segments) >= 4 and segments[2] in ("tree", "blob", "resolve"):
        revision = unquote(segments[3])
    elif len(segments) > 2 and endpoint is None:
        raise HubError(f"{text!r}: expected hf://datasets/ORG/NAME[@REV], not a path in the repo")
    for part in (org, name):
        if not _NAME.match(part) or ".." in part:
            raise HubError(f"{text!r}: {part!r} is not a valid repo id part")
    return HubRef(repo_id=f"{org}/{name}", revision=revision, endpoint=endpoint)
