"""Benchmark bytes moved by a Hub edit: robosplice pull/push against `hf download` + lerobot's push.

Why: issue 24 asks that deleting a few episodes of a large Hub dataset should not move the whole
dataset twice. The measure is bytes, counted by the server (tests/hub/server.py, a git-backed
stand-in for the Hub on 127.0.0.1, driven by the real huggingface_hub client with Xet off), so
it does not depend on this machine's speed. Prints a Markdown table.

Same dataset and same edit for both paths: a multi-file dataset (a robosplice sample with small
file-size limits, so episodes spread over many data and video files) on a served repo; delete the
given episodes and send the result back to the same repo.
- robosplice: `pull` (whole revision) → `delete_episodes` → `push` (one commit: unchanged files left
  out, renumbered ones copied server-side, removed shards deleted, card kept, tag moved);
- the lerobot way: `snapshot_download` (what `hf download` does) → the same edit →
  `upload_folder` + a card upload, as lerobot 0.6.1's `push_to_hub` calls them (its README
  template and the tag move are not replayed; lerobot itself is not needed).
- `robosplice delete-episodes hf://… hf://…`: the same edit named on the Hub (metadata and data
  first, then only the video files holding edited episodes: a file whose episodes all survive
  stays on the Hub, neither downloaded nor uploaded, kept or copied server-side by the push).
Also the bytes `pull --episodes` downloads to look at one episode.

    python bench/bench_hub.py                        # 60 episodes, delete 3 and the last 3
    python bench/bench_hub.py --episodes 200 --delete 5,50,120
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--delete", default=None, help="Episodes (default: 3 and the last 3).")
    args = parser.parse_args()
    last = args.episodes - 1
    deleted = [int(x) for x in (args.delete or f"3,{last - 2},{last - 1},{last}").split(",")]
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HF_HUB_CACHE"] = str(Path(tmp) / "hf-cache")
        run(Path(tmp), args.episodes, deleted)


def run(tmp: Path, episodes: int, deleted: list[int]) -> None:
    from huggingface_hub import HfApi, snapshot_download

    from hub.server import FakeHub
    from robosplice.cli.app import app
    from robosplice.cli.hub import run_with_hub_paths
    from robosplice.hub import pull, push
    from robosplice.ops.delete import delete_episodes
    from robosplice.ops.repack import repack
    from robosplice.ops.sample import write_sample

    sample = tmp / "sample"
    write_sample(sample, episodes=episodes, min_length=20, max_length=40, seed=1)
    dataset = tmp / "dataset"
    repack(sample, dataset, data_files_size_in_mb=0.02, video_files_size_in_mb=0.05)
    size = sum(p.stat().st_size for p in dataset.rglob("*") if p.is_file())
    files = sum(1 for p in dataset.rglob("*") if p.is_file())
    card = b"---\nlicense: cc-by-4.0\n---\n\n# A dataset\n\nProse.\n"
    rows = []
    with FakeHub(tmp / "server") as hub:
        for name in ("ours", "theirs"):
            hub.seed(f"org/{name}", dataset, extra={"README.md": card})

        def moved() -> tuple[int, int]:
            return hub.traffic.downloaded, hub.traffic.uploaded

        # robosplice
        start = moved()
        pull("hf://datasets/org/ours", tmp / "ours", endpoint=hub.url, cache_dir=tmp / "c1")
        delete_episodes(tmp / "ours", deleted, tmp / "ours-edited")
        after_pull = moved()
        result = push(tmp / "ours-edited", "hf://datasets/org/ours", endpoint=hub.url)
        end = moved()
        plan = result.plan
        rows.append(
            (
                "robosplice pull → delete → push",
                after_pull[0] - start[0],
                end[1] - after_pull[1],
                f"1 commit; {plan.count('keep')[0]} kept, {plan.count('copy')[0]} copied,"
                f" {plan.count('add')[0]} added, {plan.count('delete')[0]} deleted; card kept",
            )
        )
        # hf download + lerobot-style push
        start = moved()
        folder = snapshot_download(
            "org/theirs", repo_type="dataset", endpoint=hub.url, cache_dir=tmp / "c2"
        )
        delete_episodes(folder, deleted, tmp / "theirs-edited")
        after_pull = moved()
        api = HfApi(endpoint=hub.url, token=False)
        commits = hub.traffic.commits
        api.upload_folder(
            repo_id="org/theirs",
            folder_path=tmp / "theirs-edited",
            repo_type="dataset",
            ignore_patterns=["images/"],
        )
        api.upload_file(
            path_or_fileobj=b"---\nlicense: apache-2.0\n---\n# template card\n",
            path_in_repo="README.md",
            repo_id="org/theirs",
            repo_type="dataset",
        )
        end = moved()
        listed = {
            f.path
            for f in api.list_repo_tree("org/theirs", recursive=True, repo_type="dataset")
            if hasattr(f, "blob_id")
        }
        local = {
            p.relative_to(tmp / "theirs-edited").as_posix()
            for p in (tmp / "theirs-edited").rglob("*")
            if p.is_file()
        }
        stale = sorted(p for p in listed - local if p.split("/")[0] in ("data", "videos", "meta"))
        rows.append(
            (
                "hf download → delete → upload_folder + card (lerobot 0.6.1's push calls)",
                after_pull[0] - start[0],
                end[1] - after_pull[1],
                f"{hub.traffic.commits - commits} commits; {len(stale)} stale file(s) left;"
                " card replaced",
            )
        )
        # The edit named on the Hub: metadata and data, then only the kept episodes' videos
        hub.seed("org/inplace", dataset, extra={"README.md": card})
        url = f"{hub.url}/datasets/org/inplace"
        start = moved()
        served = len(hub.traffic.served)
        commits = hub.traffic.commits
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # the push plan (PushPlan.describe)
            code = run_with_hub_paths(
                app, ["delete-episodes", url, url, "--episodes", ",".join(map(str, deleted))]
            )
        assert code == 0, code
        end = moved()
        videos = [p for p, _ in hub.traffic.served[served:] if p.startswith("videos/")]
        all_videos = sum(1 for p in dataset.rglob("*.mp4"))
        counts = {
            line.split()[0]: line.split()[1]
            for line in printed.getvalue().splitlines()
            if line.split()[:1] in (["add"], ["copy"], ["delete"], ["keep"]) and "file(s)" in line
        }
        rows.append(
            (
                "robosplice delete-episodes hf://… hf://… (edit on the Hub)",
                end[0] - start[0],
                end[1] - start[1],
                f"{hub.traffic.commits - commits} commit; {len(videos)} of {all_videos} video"
                " files downloaded (those holding edited episodes); "
                f"{counts['keep']} kept, {counts['copy']} copied server-side,"
                f" {counts['add']} added, {counts['delete']} deleted; card kept",
            )
        )
        # Looking at one episode
        start = moved()
        pull(
            "hf://datasets/org/ours@main",
            tmp / "one",
            episodes=[0],
            endpoint=hub.url,
            cache_dir=tmp / "c3",
        )
        rows.append(("robosplice pull --episodes 0", moved()[0] - start[0], 0, "partial pull"))
    print(
        f"dataset: {episodes} episodes, {files} files, {size:,} bytes; delete episodes {deleted}\n"
    )
    print("| path | downloaded | uploaded | notes |")
    print("|---|---:|---:|---|")
    for name, down, up, notes in rows:
        print(f"| {name} | {down:,} B ({down / size:.0%}) | {up:,} B ({up / size:.0%}) | {notes} |")


if __name__ == "__main__":
    main()
