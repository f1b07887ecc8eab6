"""The review page in a real browser: two cameras in sync and frame-exact, keys, reload, apply.

Run with `make browser`. The page is driven with the keyboard only (as a person reviewing would);
what it shows is checked against the frames' identity bits (episode and frame index drawn into
every fixture frame), and the applied output against the source through the library and the
official loader (interop venv).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ops.test_episode_edits import assert_episode_matches
from robosplice.dataset import Dataset
from robosplice.ops.validate import validate

FIXTURE = "v3_av1_multifile"  # two AV1 cameras, several files and chunks

# Reads the identity stripes (episode, frame: 10 bits each) off a drawn element's top 16 rows.
STRIPES_JS = """
const readStripes = (element, width, height) => {
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  context.drawImage(element, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, 16).data;
  const value = (row) => {
    let v = 0;
    for (let bit = 0; bit < 10; bit++) {
      let sum = 0;
      for (let y = row; y < row + 8; y++) for (let x = bit * 8; x < bit * 8 + 8; x++) {
        const i = (y * canvas.width + x) * 4; sum += (data[i] + data[i + 1] + data[i + 2]) / 3;
      }
      if (sum / 64 >= 128) v |= 1 << bit;
    }
    return v;
  };
  return [value(0), value(8)];
};
"""

IDENTITY_JS = (
    STRIPES_JS
    + """
const [camera] = arguments;
const video = document.querySelector(`video[data-camera="${camera}"]`);
const [episode, frame] = readStripes(video, video.videoWidth, video.videoHeight);
return {episode: episode, frame: frame, time: video.currentTime,
        offset: Number(video.dataset.offset), shown: Number(video.dataset.episode)};
"""
)


class Page:
    """Keyboard and reading helpers over a Selenium driver."""

    def __init__(self, driver, artifacts: Path, prefix: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.by = By
        self.wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        self.artifacts = artifacts
        self.shots = 0
        self.prefix = prefix

    def element(self, css: str):
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def settled(self) -> None:
        def ready(driver) -> bool:
            viewer = driver.find_element(self.by.ID, "viewer")
            readout = driver.find_element(self.by.ID, "frame-readout")
            return (
                viewer.get_attribute("aria-busy") == "false"
                and readout.get_attribute("data-settled") == "true"
            )

        self.wait.until(ready)

    def keys(self, *keys: str, shift: bool = False, settle: bool = True) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        for key in keys:
            chain = ActionChains(self.driver)
            if shift:
                chain = chain.key_down(Keys.SHIFT).send_keys(key).key_up(Keys.SHIFT)
            else:
                chain = chain.send_keys(key)
            chain.perform()
            if settle:
                self.settled()

    def frame(self) -> int:
        return int(self.element("#frame-readout").get_attribute("data-frame"))

    def selected(self) -> list[str]:
        return [
            option.text
            for option in self.driver.find_elements(
                self.by.CSS_SELECTOR, '[role="listbox"] [role="option"][aria-selected="true"]'
            )
        ]

    def pending(self) -> str:
        return self.element('[role="region"][aria-label="Pending edits"]').text

    def shot(self, name: str) -> None:
        self.shots += 1
        self.driver.save_screenshot(
            str(self.artifacts / f"{self.prefix}-{self.shots:02d}-{name}.png")
        )

    def assert_cameras_show(self, episode: int, frame: int, fps: float) -> None:
        """Every <video> is on this episode's clip, within one frame of `frame`, showing it."""
        videos = self.driver.find_elements(self.by.CSS_SELECTOR, "#cameras video")
        assert len(videos) == 2
        for video in videos:
            camera = video.get_attribute("data-camera")
            seen = self.driver.execute_script(IDENTITY_JS, camera)
            assert seen["shown"] == episode, camera
            expected_time = seen["offset"] + frame / fps
            assert abs(seen["time"] - expected_time) < 1 / fps, (camera, seen, frame)
            assert (seen["episode"], seen["frame"]) == (episode, frame), (camera, seen)


def test_review_with_the_keyboard_then_apply(
    driver, serve_review, fixture_dataset, artifacts, tmp_path
):
    root = fixture_dataset(FIXTURE)
    source = Dataset(root)
    fps = float(source.fps)
    url = serve_review(root)
    page = Page(driver, artifacts, "keyboard")
    driver.get(url)
    page.settled()
    assert driver.execute_script(
        "return document.createElement('video').canPlayType('video/mp4; codecs=\"av01.0.05M.08\"')"
    ), "this chromium cannot play AV1"

    options = driver.find_elements(page.by.CSS_SELECTOR, '[role="listbox"] [role="option"]')
    assert [o.text.split(" · ")[0] for o in options] == [f"Episode {i}" for i in range(10)]
    assert page.selected()[0].startswith("Episode 0 · 30 frames")
    page.assert_cameras_show(0, 0, fps)
    page.shot("opened")

    # j / ArrowDown / k move through the list; each selection pauses on its frame 0.
    page.keys("j", "j", "\ue015", "\ue015", "k")  # j j ArrowDown ArrowDown k → episode 3
    assert page.selected()[0].startswith("Episode 3 ")
    page.assert_cameras_show(3, 0, fps)
    page.keys("\ue014")  # ArrowRight
    page.keys("\ue014", shift=True)  # Shift+ArrowRight: ten
    assert page.frame() == 11
    page.assert_cameras_show(3, 11, fps)
    page.keys("\ue012")  # ArrowLeft
    page.assert_cameras_show(3, 10, fps)

    # Space plays, Space pauses: both cameras settle on the frame the readout shows.
    page.keys(" ", settle=False)
    page.wait.until(lambda d: page.frame() > 14)
    page.keys(" ")
    page.settled()
    page.assert_cameras_show(3, page.frame(), fps)
    page.shot("episode-3-after-play")

    # d marks episode 3; [ and ] trim episode 4 to frames 15–39; z undoes a stray d.
    page.keys("d")
    page.wait.until(lambda d: "Delete episode 3" in page.pending())
    page.keys("j")
    assert page.selected()[0].startswith("Episode 4 ")
    page.keys("\ue014", shift=True)
    page.keys("\ue014", "\ue014", "\ue014", "\ue014", "\ue014")
    assert page.frame() == 15
    page.keys("[")
    page.keys("\ue014", "\ue014", shift=True)
    page.keys("\ue014", "\ue014", "\ue014", "\ue014")
    assert page.frame() == 39
    page.assert_cameras_show(4, 39, fps)
    page.keys("]")
    page.wait.until(lambda d: "Trim episode 4 to frames 15–39" in page.pending())
    page.keys("d")
    page.wait.until(lambda d: "Delete episode 4" in page.pending())
    page.keys("z")
    page.wait.until(lambda d: "Delete episode 4" not in page.pending())
    page.keys("d")  # and once more, removed from the list this time
    page.wait.until(lambda d: "Delete episode 4" in page.pending())
    page.element('#pending-list button[aria-label="Remove: Delete episode 4"]').click()
    page.wait.until(lambda d: "Delete episode 4" not in page.pending())

    # Keys typed into the output field stay there.
    field = page.element("#output")
    assert driver.find_element(page.by.CSS_SELECTOR, 'label[for="output"]').text == "Output folder"
    output = tmp_path / "reviewed"
    field.clear()
    field.send_keys(str(output) + "d")
    field.send_keys("\ue003")  # Backspace
    assert "Delete episode 4" not in page.pending()
    assert field.get_attribute("value") == str(output)

    # ? opens the help; the edits survive a reload.
    driver.find_element(page.by.TAG_NAME, "body").click()
    page.keys("?")
    assert page.element("#help").get_attribute("open") is not None
    page.shot("help")
    page.keys("\ue00c")  # Escape
    driver.refresh()
    page.settled()
    text = page.pending()
    assert "Delete episode 3" in text
    assert "Trim episode 4 to frames 15–39" in text
    page.wait.until(lambda d: "apply: 9 episodes, 427 frames" in page.element("#preview").text)
    page.shot("pending-after-reload")

    field = page.element("#output")
    field.clear()
    field.send_keys(str(output))
    page.element("#apply").click()
    status = page.element('[role="status"]')
    page.wait.until(lambda d: "validate:" in status.text or page.element("#error").text)
    assert status.text.splitlines() == [f"Wrote {output}", "validate: valid"], page.element(
        "#error"
    ).text
    page.shot("applied")

    # The output, through the library: frames and rows identical to the source's.
    result = Dataset(output)
    assert validate(output) == []
    kept = [(e, 0, None) for e in range(10) if e != 3]
    kept[3] = (4, 15, 40)
    assert result.num_episodes == 9
    for out_episode, (src_episode, start, stop) in enumerate(kept):
        assert_episode_matches(result, out_episode, source, src_episode, start, stop)

    # ... and through the official loader (lerobot 0.6.1, interop venv).
    from interop.harness import INDEX_KEYS, assert_same_items, load_with_lerobot

    out_items = load_with_lerobot(output, "pyav")
    src_items = load_with_lerobot(root, "pyav")
    rows = []
    for src_episode, start, stop in kept:
        record = source.episodes[src_episode]
        stop = record.length if stop is None else stop
        rows.extend(range(record.dataset_from_index + start, record.dataset_from_index + stop))
    assert int(out_items["meta/len"]) == len(rows) == 427
    assert_same_items(out_items, src_items, np.asarray(rows), exclude=INDEX_KEYS)


STILL_IDENTITY_JS = (
    STRIPES_JS
    + """
const [camera] = arguments;
const image = document.querySelector(`img[data-camera="${camera}"]`);
return readStripes(image, image.naturalWidth, image.naturalHeight);
"""
)


def test_image_datasets_step_through_exact_stills(driver, serve_review, fixture_dataset, artifacts):
    root = fixture_dataset("v3_image")
    page = Page(driver, artifacts, "image")
    driver.get(serve_review(root))
    page.settled()
    page.keys("j", "j")
    page.keys("\ue014", shift=True)
    page.keys("\ue014", "\ue014")
    assert page.frame() == 12
    images = driver.find_elements(page.by.CSS_SELECTOR, "#cameras img")
    assert len(images) == 2
    for image in images:
        camera = image.get_attribute("data-camera")
        assert driver.execute_script(STILL_IDENTITY_JS, camera) == [2, 12], camera
    page.shot("image-dataset-episode-2-frame-12")


def test_doctor_flags_of_planted_defects_show_in_the_episode_list(
    driver, serve_review, source_guard, artifacts, tmp_path
):
    """A copy with a frozen episode 1, an idle head in 5 and 7 repeating 2: the page lists each
    flag beside its episode once the background doctor is done, and no other episode is flagged."""
    from doctor.corpus_doctor import three_defects

    root = source_guard(three_defects(tmp_path / "defects"))
    page = Page(driver, artifacts, "flags")
    driver.get(serve_review(root))
    page.settled()

    def flags(driver) -> dict[int, str] | None:
        # One script reads every option at once: reading them one WebDriver call at a time could
        # straddle the re-render that adds the flags (seen on a loaded CI machine).
        pairs = driver.execute_script(
            "return [...document.querySelectorAll('[role=\"option\"]')]"
            ".map((o) => [o.id, o.textContent]);"
        )
        shown = {int(ident.rsplit("-", 1)[1]): text for ident, text in pairs}
        return shown if any("⚑" in text for text in shown.values()) else None

    from selenium.webdriver.support.ui import WebDriverWait

    # doctor reads every episode in the background first (seconds; more on a loaded machine).
    shown = WebDriverWait(driver, 240, poll_frequency=0.5).until(flags, "no doctor flag shown")
    page.shot("doctor-flags")
    assert "⚑ frozen_episode" in shown[1]
    assert "⚑ idle_head" in shown[5]
    assert "⚑ duplicate_episode" in shown[7]
    assert sorted(e for e, text in shown.items() if "⚑" in text) == [1, 5, 7]
