"""The huggingface_hub import, in one place: an optional extra, loaded only when a Hub is used."""

from __future__ import annotations

import importlib
from types import ModuleType

from robosplice.errors import HubError


def hub_module() -> ModuleType:
    """`huggingface_hub`, or a HubError naming the extra to install."""
    try:
        return importlib.import_module("huggingface_hub")
    except ImportError:
        raise HubError("Hub datasets need huggingface_hub: pip install 'robosplice[hub]'") from None


def default_endpoint() -> str:
    """The endpoint huggingface_hub would use (HF_ENDPOINT, else the public Hub)."""
    constants = importlib.import_module("huggingface_hub.constants")
    return str(constants.ENDPOINT)


def is_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub sees it."""
    constants = importlib.import_module("huggingface_hub.constants")
    checker = getattr(constants, "is_offline_mode", None)
    return bool(checker()) if callable(checker) else bool(constants.HF_HUB_OFFLINE)
