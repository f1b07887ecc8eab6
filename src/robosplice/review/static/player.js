// Every camera of one episode in sync. Video cameras play per-episode clips (packet copies of
// the source); frame i of the episode is at clip time offset + i/fps, and a paused or stepped
// player seeks every camera to the middle of that frame, so all show the frame the readout says.
// Cameras a browser cannot play are server-decoded stills, one request per shown frame.

function waitFor(target, event, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); target.removeEventListener(event, done); resolve(); };
    const timer = setTimeout(done, timeoutMs);
    target.addEventListener(event, done);
  });
}

export class Player {
  constructor(container, onFrame) {
    this.container = container;
    this.onFrame = onFrame;
    this.cameras = [];
    this.frame = 0;
    this.length = 0;
    this.fps = 30;
    this.playing = false;
    this.generation = 0;
    this.timer = null;
  }

  get videos() { return this.cameras.filter((c) => c.kind === "video"); }

  async load(episode, length, fps, cameras) {
    this.pause();
    const generation = ++this.generation;
    this.episode = episode;
    this.length = length;
    this.fps = fps;
    this.frame = 0;
    const built = await Promise.all(cameras.map(async (camera) => {
      const figure = document.createElement("figure");
      const caption = document.createElement("figcaption");
      caption.textContent = camera.key + (camera.kind === "stills" ? ` (stills: ${camera.codec || "image"})` : "");
      const base = `/api/episodes/${episode}/cameras/${encodeURIComponent(camera.key)}`;
      if (camera.kind === "video") {
        const response = await fetch(`${base}/clip.json`);
        if (!response.ok) throw new Error(`${camera.key}: ${(await response.json()).error}`);
        const clip = await response.json();
        const video = document.createElement("video");
        video.muted = true;
        video.playsInline = true;
        video.preload = "auto";
        video.dataset.camera = camera.key;
        video.dataset.episode = String(episode);
        video.dataset.offset = String(clip.offset_s);
        video.setAttribute("aria-label", `${camera.key}, episode ${episode}`);
        const loaded = waitFor(video, "loadeddata", 10000);
        video.src = clip.url;
        figure.append(video, caption);
        await loaded;
        return { ...camera, element: video, offset: clip.offset_s, figure };
      }
      const image = document.createElement("img");
      image.alt = `${camera.key}, episode ${episode}`;
      image.dataset.camera = camera.key;
      image.dataset.base = base;
      figure.append(image, caption);
      return { ...camera, element: image, figure };
    }));
    if (generation !== this.generation) return false;
    this.cameras = built;
    this.container.replaceChildren(...built.map((c) => c.figure));
    await this.seek(0);
    return generation === this.generation;
  }

  timeOf(camera, frame) { return camera.offset + (frame + 0.5) / this.fps; }

  frameOfTime(camera, time) { return Math.floor((time - camera.offset) * this.fps + 1e-6); }

  async seek(frame) {
    frame = Math.max(0, Math.min(this.length - 1, frame));
    this.frame = frame;
    const generation = this.generation;
    const waits = this.cameras.map((camera) => {
      if (camera.kind === "video") {
        const seeked = waitFor(camera.element, "seeked");
        camera.element.currentTime = this.timeOf(camera, frame);
        return seeked;
      }
      return this.showStill(camera, frame);
    });
    this.onFrame(frame, true);
    await Promise.all(waits);
    if (generation === this.generation && frame === this.frame) this.onFrame(frame, false);
  }

  showStill(camera, frame) {
    const image = camera.element;
    if (image.dataset.frame === String(frame)) return Promise.resolve();
    image.dataset.frame = String(frame);
    const loaded = waitFor(image, "load", 5000);
    image.src = `${image.dataset.base}/frames/${frame}`;
    return loaded;
  }

  step(amount) { this.pause(); return this.seek(this.frame + amount); }

  toggle() { if (this.playing) this.pause(); else this.play(); }

  play() {
    if (this.playing || !this.length) return;
    this.playing = true;
    if (this.frame >= this.length - 1) this.frame = 0;
    const generation = this.generation;
    const leader = this.videos[0];
    if (leader) {
      for (const camera of this.videos) {
        camera.element.currentTime = this.timeOf(camera, this.frame);
        camera.element.play().catch(() => {});
      }
      const tick = (now, metadata) => {
        if (!this.playing || generation !== this.generation) return;
        const frame = this.frameOfTime(leader, metadata ? metadata.mediaTime + 0.5 / this.fps : leader.element.currentTime);
        if (frame >= this.length) { this.wrap(); return; }
        if (frame !== this.frame) {
          this.frame = Math.max(0, frame);
          for (const camera of this.videos.slice(1)) {
            const drift = this.frameOfTime(camera, camera.element.currentTime) - this.frame;
            if (Math.abs(drift) > 1) camera.element.currentTime = this.timeOf(camera, this.frame);
          }
          for (const camera of this.cameras) if (camera.kind === "stills") this.showStill(camera, this.frame);
          this.onFrame(this.frame, true);
        }
        this.schedule(leader, tick);
      };
      this.schedule(leader, tick);
    } else {
      this.timer = setInterval(() => {
        if (this.frame + 1 >= this.length) this.frame = -1;
        this.frame += 1;
        for (const camera of this.cameras) this.showStill(camera, this.frame);
        this.onFrame(this.frame, true);
      }, 1000 / this.fps);
    }
    this.onFrame(this.frame, true);
  }

  schedule(leader, tick) {
    if ("requestVideoFrameCallback" in leader.element) leader.element.requestVideoFrameCallback(tick);
    else requestAnimationFrame(() => tick(0, null));
  }

  wrap() {
    for (const camera of this.videos) camera.element.pause();
    this.frame = 0;
    this.playing = false;
    this.seek(0).then(() => this.play());
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    clearInterval(this.timer);
    for (const camera of this.videos) camera.element.pause();
    // Settle every camera on the frame the readout shows.
    this.seek(this.frame);
  }
}
