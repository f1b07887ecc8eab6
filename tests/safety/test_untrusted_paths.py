"""A dataset is untrusted input: paths its metadata names must stay inside its folder.

Each hostile dataset below points a reader at real, readable files outside the dataset folder
(the "secret"), so a command that followed the path would succeed and copy them. Every command
that reads files must instead refuse with an error naming the field, write nothing, and leave the
source (and the secret) untouched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.errors import UnsafePathError
from robosplice.format.untrusted import resolve_inside, unsafe_reason
from robosplice.recipe import Step, dump, make_recipe
from robosplice.testing import tree_digest

runner = CliRunner()
FRONT = "observation.images.front"
DEFAULT_VIDEO = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"


def _copy(name: str, tmp_path: Path) -> Path:
    """A private copy to make hostile (the guarded `fixture_dataset` copies must stay as they are)."""
    return copy_tree_writable(fixtures_dir() / name, tmp_path / "src" / name)


def _edit_info(root: Path, **changes: object) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    info.update(changes)
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))


def _move_videos_out(root: Path, secret: Path) -> None:
    """The videos now live in `secret`, outside the dataset folder, where a template can reach."""
    shutil.move(root / "videos", secret)


def _dotdot_template(root: Path, secret: Path) -> str:
    _move_videos_out(root, root.parent / "secret")
    _edit_info(root, video_path="../secret/" + DEFAULT_VIDEO.removeprefix("videos/"))
    return "video_path"


def _absolute_template(root: Path, secret: Path) -> str:
    _move_videos_out(root, secret)
    _edit_info(root, video_path=str(secret) + "/" + DEFAULT_VIDEO.removeprefix("videos/"))
    return "video_path"


def _symlinked_video(root: Path, secret: Path) -> str:
    target = root / "videos" / FRONT / "chunk-000" / "file-000.mp4"
    secret.mkdir()
    shutil.move(target, secret / "file-000.mp4")
    target.symlink_to(secret / "file-000.mp4")
    return f"videos/{FRONT}/chunk-000/file-000.mp4"


def _symlinked_data_dir(root: Path, secret: Path) -> str:
    shutil.move(root / "data", secret)
    (root / "data").symlink_to(secret, target_is_directory=True)
    return "data"


def _camera_named_dotdot(root: Path, secret: Path) -> str:
    info = json.loads((root / "meta/info.json").read_text())
    info["features"]["../../x"] = info["features"].pop(FRONT)
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))
    return "features.../../x"


HOSTILE: dict[str, Callable[[Path, Path], str]] = {
    "dotdot_template": _dotdot_template,
    "absolute_template": _absolute_template,
    "symlinked_video": _symlinked_video,
    "symlinked_data_dir": _symlinked_data_dir,
    "camera_named_dotdot": _camera_named_dotdot,
}

COMMANDS: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "info": lambda src, out, tmp: ["info", str(src)],
    "validate": lambda src, out, tmp: ["validate", str(src)],
    "doctor": lambda src, out, tmp: ["doctor", str(src)],
    "repack": lambda src, out, tmp: ["repack", str(src), str(out)],
    "delete-episodes": lambda src, out, tmp: ["delete-episodes", str(src), str(out), "--episodes", "1"],
    "split-dataset": lambda src, out, tmp: ["split-dataset", str(src), str(out), "-s", "a=0.5", "-s", "b=0.5"],
    "merge-datasets": lambda src, out, tmp: ["merge-datasets", str(src), str(src), "--output", str(out)],
    "trim-episodes": lambda src, out, tmp: ["trim-episodes", str(src), str(out), "-r", "0:1:10"],
    "filter-episodes": lambda src, out, tmp: ["filter-episodes", str(src), str(out), "--min-length", "1"],
    "remove-feature": lambda src, out, tmp: ["remove-feature", str(src), str(out), "observation.effort"],
    "rename-feature": lambda src, out, tmp: ["rename-feature", str(src), str(out), "action", "act"],
    "modify-tasks": lambda src, out, tmp: ["modify-tasks", str(src), str(out), "--new-task", "x"],
    "recompute-stats": lambda src, out, tmp: ["recompute-stats", str(src), str(out)],
    "reencode": lambda src, out, tmp: ["reencode", str(src), str(out), "--vcodec", "libsvtav1"],
    "change-fps": lambda src, out, tmp: ["change-fps", str(src), str(out), "--fps", "15"],
    "convert": lambda src, out, tmp: ["convert", str(src), str(out), "--to", "v2.1"],
    "apply": lambda src, out, tmp: ["apply", str(tmp / "recipe.json"), str(src), str(out), "--force"],
}  # fmt: skip


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_reader_refuses_paths_out_of_the_folder(tmp_path, command, hostile):
    root = _copy("v3_av1_multifile", tmp_path)
    dump(
        make_recipe(root, [Step(op="delete_episodes", args={"episode_indices": [1]})]),
        tmp_path / "recipe.json",
    )
    field = HOSTILE[hostile](root, tmp_path / "secret")
    before = tree_digest(root)
    secret_before = tree_digest(tmp_path / "secret") if (tmp_path / "secret").exists() else None
    out = tmp_path / "out"
    result = runner.invoke(app, COMMANDS[command](root, out, tmp_path))
    assert result.exit_code == 1, result.output
    assert "outside" in result.output, result.output
    assert field in result.output, result.output
    assert not out.exists()
    assert tree_digest(root) == before
    if secret_before is not None:
        assert tree_digest(tmp_path / "secret") == secret_before


def test_validate_reports_unsafe_path_as_an_error_naming_the_field(tmp_path):
    root = _copy("v3_av1_multifile", tmp_path)
    _dotdot_template(root, tmp_path / "secret")
    rows = json.loads(runner.invoke(app, ["validate", str(root), "--json"]).output)
    unsafe = [row for row in rows if row["kind"] == "unsafe_path"]
    assert [(row["loc"], row["severity"]) for row in unsafe] == [("video_path", "error")]


def test_image_cell_paths_stay_inside(tmp_path):
    """An image cell without bytes names its file: `..` there is refused like a template."""
    root = _copy("v3_image", tmp_path)
    secret = tmp_path / "secret.png"
    data = sorted((root / "data").glob("*/*.parquet"))[0]
    table = pq.read_table(data)
    camera = next(name for name in table.column_names if name.startswith("observation.image"))
    cells = table.column(camera).to_pylist()
    secret.write_bytes(cells[0]["bytes"])
    hostile = [{"bytes": None, "path": "../../../secret.png"} for _ in cells]
    column = pa.array(hostile, type=table.schema.field(camera).type)
    pq.write_table(table.set_column(table.schema.get_field_index(camera), camera, column), data)
    before = tree_digest(root)
    out = tmp_path / "out"
    result = runner.invoke(app, ["images-to-video", str(root), str(out)])
    assert result.exit_code == 1, result.output
    assert "outside" in result.output
    assert "../../../secret.png" in result.output
    assert not out.exists()
    assert tree_digest(root) == before


def test_hub_cache_snapshot_links_are_followed_inside_its_entry(tmp_path):
    """A huggingface_hub cache snapshot links into its entry's blobs: those links are trusted."""
    entry = tmp_path / "datasets--org--name"
    (entry / "blobs").mkdir(parents=True)
    (entry / "blobs" / "abc").write_bytes(b"x")
    snapshot = entry / "snapshots" / ("0" * 40)
    (snapshot / "data").mkdir(parents=True)
    (snapshot / "data" / "f.parquet").symlink_to(entry / "blobs" / "abc")
    assert resolve_inside(snapshot, "data/f.parquet", field="data_path").read_bytes() == b"x"
    (tmp_path / "elsewhere").write_bytes(b"y")
    (snapshot / "data" / "g.parquet").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="data_path"):
        resolve_inside(snapshot, "data/g.parquet", field="data_path")


def test_symlinks_inside_the_folder_are_fine(tmp_path):
    root = _copy("v3_av1_multifile", tmp_path)
    target = root / "videos" / FRONT / "chunk-000" / "file-000.mp4"
    (root / "kept.mp4").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(root / "kept.mp4")
    assert Dataset(root).num_episodes == 10


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("C:\\x", "absolute"),
        ("\\\\host\\share", "absolute"),
        ("a/../b", "'..'"),
        ("a\\..\\b", "'..'"),
        ("", "empty"),
        ("videos/a/b.mp4", None),
        ("videos/..a/b.mp4", None),
    ],
)
def test_unsafe_reason(relative, reason):
    found = unsafe_reason(relative)
    assert (found is None) if reason is None else (reason in (found or ""))
