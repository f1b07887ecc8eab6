"""Hub datasets: name them (`hf://datasets/ORG/NAME[@REV]`), pull what an edit needs, push back.

huggingface_hub is an optional extra (`robosplice[hub]`), imported only when a Hub is used; only
its public API is called, always with an explicit `endpoint=`.
"""

from robosplice.hub.pull import PullResult, pull
from robosplice.hub.push import FileChange, PushPlan, PushResult, push
from robosplice.hub.uri import DEFAULT_TAG, HubRef, is_hub_uri, parse_hf_uri

__all__ = [
    "DEFAULT_TAG",
    "FileChange",
    "HubRef",
    "PullResult",
    "PushPlan",
    "PushResult",
    "is_hub_uri",
    "parse_hf_uri",
    "pull",
    "push",
]
