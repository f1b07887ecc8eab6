"""One review of one dataset: what the page asks for, without any web framework.

The session reads the source (never writes it), keeps clips and pending edits in a cache folder
outside it (`~/.cache/robosplice/review/`, or `$ROBOSPLICE_CACHE_DIR/review/`), turns the pending
edits into a recipe, and applies that recipe with `robosplice.ops.apply` into a new folder.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from robosplice._cache import cache_home
from robosplice.dataset import Dataset
from robosplice.errors import (
    OutputExistsError,
    OutputRefusedError,
    RobospliceError,
    SelectionError,
)
from robosplice.format.video import stream_facts
from robosplice.ops.preview import check_output
from robosplice.recipe import Recipe, fingerprint, make_recipe, parse_step
from robosplice.review.edits import EditConflictError, PendingEdits
from robosplice.review.media import (
    Clip,
    plays_in_browser,
    still_of_image,
    still_of_video,
    write_clip,
)
from robosplice.review.series import episode_series, plotted_features


def cache_root() -> Path:
    """Where reviews keep clips and pending edits: `$ROBOSPLICE_CACHE_DIR/review`, else
    `$XDG_CACHE_HOME/robosplice/review`, else `~/.cache/robosplice/review`."""
    return cache_home() / "review"


# Edit actions the page sends, and whether each names an episode.
_ACTIONS = {
    "toggle_delete": True,
    "set_deleted": True,
    "trim_start": True,
    "trim_end": True,
    "set_trim": True,
    "remove": False,
    "step": False,
    "undo": False,
    "clear": False,
}


@dataclass(slots=True, kw_only=True)
class Job:
    """An apply running in a thread; the page polls it."""

    id: str
    output: Path
    state: str = "running"  # running | done | failed
    phase: str = "starting"
    done: int = 0
    total: int = 0
    message: str = ""
    verdict: str = ""
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        """The job's state for the page."""
        return {
            "id": self.id,
            "output": str(self.output),
            "state": self.state,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "verdict": self.verdict,
            "problems": self.problems,
            "elapsed_s": round(time.monotonic() - self.started, 3),
        }


class _JobProgress:
    """ProgressReporter that writes into a Job."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def start(self, description: str, total: int) -> None:
        self.job.phase, self.job.total, self.job.done = description, total, 0

    def advance(self, amount: int = 1) -> None:
        self.job.done += amount

    def finish(self) -> None:
        self.job.done = self.job.total


class ReviewSession:
    """The state of reviewing `root`: dataset handle, cache folder, pending edits, apply jobs."""

    def __init__(self, root: str | os.PathLike[str], *, cache_dir: Path | None = None) -> None:
        self.dataset = Dataset(root)
        self.source_path = str(root)
        self.fingerprint = fingerprint(self.dataset.root)
        base = (cache_dir or cache_root()).expanduser().resolve()
        if base == self.dataset.root or base.is_relative_to(self.dataset.root):
            raise OutputRefusedError(
                f"the review cache {base} is inside the dataset {self.dataset.root}; choose"
                " another with $ROBOSPLICE_CACHE_DIR (the source is never written)"
            )
        self.cache_dir = base / self.fingerprint
        self.edits_path = base / f"{self.fingerprint}.json"
        self.lengths = [record.length for record in self.dataset.episodes]
        self._lock = threading.Lock()
        self.edits = self._load_edits()
        self.jobs: dict[str, Job] = {}
        self._cameras: list[dict[str, Any]] | None = None
        self._findings: list[dict[str, Any]] | None = None
        self.findings_state = "not run"

    # -- dataset ---------------------------------------------------------------------------------

    def cameras(self) -> list[dict[str, Any]]:
        """Each camera: key, `video` (the browser plays clips) or `stills`, codec and size."""
        if self._cameras is None:
            cameras = []
            for key in self.dataset.camera_keys:
                feature = self.dataset.features[key]
                shape = list(feature.get("shape", []))
                entry: dict[str, Any] = {"key": key, "kind": "stills", "codec": None,
                                         "pix_fmt": None, "shape": shape}  # fmt: skip
                if feature.get("dtype") == "video" and self.dataset.episodes:
                    window = self.dataset.episodes[0].videos[key]
                    path = self.dataset.video_path(key, window.position)
                    with av.open(str(path)) as container:
                        facts = stream_facts(container.streams.video[0])
                    entry.update(codec=facts.codec, pix_fmt=facts.pix_fmt)
                    entry["kind"] = "video" if plays_in_browser(facts) else "stills"
                    entry["width"], entry["height"] = facts.width, facts.height
                cameras.append(entry)
            self._cameras = cameras
        return self._cameras

    def summary(self) -> dict[str, Any]:
        """The dataset at a glance: counts, fps, cameras, tasks, plotted features."""
        info = self.dataset.info
        return {
            "root": str(self.dataset.root),
            "name": self.dataset.root.name,
            "fingerprint": self.fingerprint,
            "codebase_version": info.get("codebase_version"),
            "robot_type": info.get("robot_type"),
            "fps": self.dataset.fps,
            "num_episodes": self.dataset.num_episodes,
            "num_frames": self.dataset.num_frames,
            "tasks": self.dataset.tasks,
            "cameras": self.cameras(),
            "series": plotted_features(self.dataset.features),
            "edits_path": str(self.edits_path),
        }

    def episodes(self) -> list[dict[str, Any]]:
        """Every episode: index, length, tasks and the checks that flagged it."""
        flags: dict[int, list[str]] = {}
        for finding in self._findings or []:
            if finding.get("episode") is not None:
                flags.setdefault(int(finding["episode"]), []).append(str(finding["check"]))
        return [
            {
                "episode_index": record.episode_index,
                "length": record.length,
                "tasks": list(record.tasks),
                "flags": sorted(set(flags.get(number, []))),
            }
            for number, record in enumerate(self.dataset.episodes)
        ]

    def check_episode(self, episode: int) -> None:
        """Raises SelectionError for an episode the dataset does not have."""
        if not 0 <= episode < len(self.lengths):
            raise SelectionError(
                f"episode {episode} is not in {self.dataset.root} (it has 0–{len(self.lengths) - 1})"
            )

    def check_camera(self, camera: str, kind: str | None = None) -> None:
        """Raises SelectionError for a camera the dataset does not have."""
        if camera not in self.dataset.camera_keys:
            raise SelectionError(
                f"no camera {camera!r} in {self.dataset.root} (it has {self.dataset.camera_keys})"
            )

    def series(self, episode: int) -> list[dict[str, Any]]:
        """The plotted features of one episode."""
        self.check_episode(episode)
        return episode_series(self.dataset, episode)

    def clip(self, episode: int, camera: str) -> Clip:
        """The cached packet-copied clip of one (episode, video camera), made on first use."""
        self.check_episode(episode)
        self.check_camera(camera)
        if camera not in self.dataset.video_keys:
            raise SelectionError(f"{camera!r} is an image camera: ask for its stills")
        safe = camera.replace("/", "_")
        return write_clip(
            self.dataset, episode, camera, self.cache_dir / "clips" / safe / f"{episode}.mp4"
        )

    def still(self, episode: int, camera: str, frame: int) -> bytes:
        """One exact frame of one camera as image bytes (PNG for decoded video)."""
        self.check_episode(episode)
        self.check_camera(camera)
        if not 0 <= frame < self.lengths[episode]:
            raise SelectionError(
                f"episode {episode} has frames 0–{self.lengths[episode] - 1}, not {frame}"
            )
        if camera in self.dataset.video_keys:
            return still_of_video(self.dataset, episode, camera, frame)
        return still_of_image(self.dataset, episode, camera, frame)

    # -- findings --------------------------------------------------------------------------------

    def set_findings(self, findings: list[dict[str, Any]]) -> None:
        """Findings (Finding.to_json shapes) to flag episodes with and offer as edits."""
        self._findings = findings
        self.findings_state = "done"

    def findings(self) -> list[dict[str, Any]] | None:
        """The findings, or None while none were given."""
        return self._findings

    def start_findings(self) -> threading.Thread:
        """Run `doctor` over every episode in a background thread (the page polls for it)."""
        self.findings_state = "running"
        thread = threading.Thread(target=self._run_findings, daemon=True)
        thread.start()
        return thread

    def _run_findings(self) -> None:
        from robosplice.ops.doctor import doctor

        try:
            report = doctor(self.dataset)
        except Exception as exc:  # the page shows it; the review goes on without flags
            self.findings_state = f"failed: {exc.__class__.__name__}: {exc}"
            return
        self.set_findings([finding.to_json() for finding in report.findings])

    # -- pending edits ---------------------------------------------------------------------------

    def _load_edits(self) -> PendingEdits:
        if self.edits_path.is_file():
            try:
                return PendingEdits.from_json(
                    self.lengths, json.loads(self.edits_path.read_text(encoding="utf-8"))
                )
            except (ValueError, KeyError, TypeError):
                broken = self.edits_path.with_name(self.edits_path.name + ".unreadable")
                os.replace(self.edits_path, broken)
        return PendingEdits(self.lengths)

    def _save_edits(self) -> None:
        self.edits_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.edits_path.with_name(self.edits_path.name + ".partial")
        partial.write_text(json.dumps(self.edits.to_json(), indent=1), encoding="utf-8")
        os.replace(partial, self.edits_path)

    def edits_json(self) -> dict[str, Any]:
        """Pending edits for the page: items, steps, deleted and trims, whether undo is possible."""
        state = self.edits.state.to_json()
        return {
            "items": self.edits.items(),
            "steps": self.edits.steps(),
            "deleted": state["deleted"],
            "trims": state["trims"],
            "can_undo": bool(self.edits.history),
        }

    def change_edits(self, action: dict[str, Any]) -> dict[str, Any]:
        """Apply one change from the page and persist it.

        Actions: `toggle_delete`, `set_deleted` (`deleted`), `trim_start`/`trim_end` (`frame`),
        `set_trim` (`start`, `stop`), `remove` (`item`), `step` (`op`, `args`, `reason`),
        `undo`, `clear`.

        Raises:
            EditConflictError: the change conflicts or does not fit the dataset.
        """
        kind = action.get("action")
        with self._lock:
            edits = self.edits
            episode = action.get("episode")
            if kind not in _ACTIONS:
                raise EditConflictError(
                    f"unknown edit action {kind!r}; known: {', '.join(sorted(_ACTIONS))}"
                )
            if _ACTIONS[kind] and not isinstance(episode, int):
                raise EditConflictError(f"{kind!r} needs an integer 'episode', got {episode!r}")
            number = episode if isinstance(episode, int) else -1
            if kind == "toggle_delete":
                edits.toggle_deleted(number)
            elif kind == "set_deleted":
                edits.set_deleted(number, bool(action.get("deleted", True)))
            elif kind == "trim_start":
                edits.trim_start(number, int(action["frame"]))
            elif kind == "trim_end":
                edits.trim_end(number, int(action["frame"]))
            elif kind == "set_trim":
                edits.set_trim(number, int(action["start"]), int(action["stop"]))
            elif kind == "remove":
                edits.remove(str(action.get("item", "")))
            elif kind == "step":
                step = parse_step(
                    {"op": action.get("op"), "args": action.get("args", {}),
                     **({"reason": action["reason"]} if action.get("reason") else {})}
                )  # fmt: skip
                edits.add_step(step.op, step.args, step.reason)
            elif kind == "undo":
                edits.undo()
            elif kind == "clear":
                edits.history.append(edits.state)
                edits.state = type(edits.state)()
            else:
                raise EditConflictError(f"unknown edit action {kind!r}")
            self._save_edits()
            return self.edits_json()

    # -- recipe, preview, apply ------------------------------------------------------------------

    def recipe(self) -> Recipe:
        """The pending edits as a recipe for this source."""
        steps = [parse_step(step, number) for number, step in enumerate(self.edits.steps())]
        return make_recipe(self.dataset.root, steps, created_by="review", path=self.source_path)

    def preview(self) -> str:
        """The dry-run text of applying the pending edits (as `robosplice apply --dry-run`)."""
        from robosplice.ops.apply import apply
        from robosplice.ops.dry_run import describe_dry_run

        recipe = self.recipe()
        if not recipe.steps:
            return "No pending edits: applying would copy the dataset unchanged."
        plan = apply(recipe, self.dataset, None, dry_run=True)
        return describe_dry_run(plan, self.dataset)

    def check_output(self, output: str) -> Path:
        """The absolute output folder for `output`, or OutputRefusedError.

        Relative paths are taken from the folder the review was started in.
        """
        if not output.strip():
            raise OutputRefusedError("give an output folder for the edited dataset")
        target = Path(output.strip()).expanduser().resolve()
        if target.is_relative_to(self.cache_dir.parent):
            raise OutputRefusedError(f"{target}: inside the review cache; choose another folder")
        try:
            return check_output(target, [self.dataset.root])
        except (OutputExistsError, SelectionError) as exc:
            raise OutputRefusedError(
                f"{exc}. The page writes a new folder only: the source is never written and"
                " nothing is overwritten"
            ) from exc

    def start_apply(self, output: str) -> Job:
        """Check `output`, then apply the pending edits into it in a background thread.

        Raises:
            OutputRefusedError: see `check_output`.
            SelectionError: the edits do not make a dataset (e.g. nothing would be left).
        """
        target = self.check_output(output)
        with self._lock:
            if any(job.state == "running" for job in self.jobs.values()):
                raise OutputRefusedError("an apply is already running; wait for it to finish")
            recipe = self.recipe()
            job = Job(id=secrets.token_hex(8), output=target)
            self.jobs[job.id] = job
        threading.Thread(target=self._run_apply, args=(job, recipe), daemon=True).start()
        return job

    def _run_apply(self, job: Job, recipe: Recipe) -> None:
        from robosplice.ops.apply import apply
        from robosplice.ops.validate import validate

        try:
            apply(recipe, self.dataset, job.output, progress=_JobProgress(job))
            job.phase = "validating"
            problems = validate(job.output)
            job.problems = [str(problem) for problem in problems]
            job.verdict = (
                "validate: valid"
                if not problems
                else f"validate: {len(problems)} problem(s): " + "; ".join(job.problems[:5])
            )
            job.message = f"Wrote {job.output}"
            job.state = "done"
        except RobospliceError as exc:
            job.message, job.state = f"Apply failed: {exc}", "failed"
        except Exception as exc:  # the page must hear of any failure
            job.message, job.state = f"Apply failed ({exc.__class__.__name__}: {exc})", "failed"
