// Plots of one episode's numeric features, one SVG per feature, sharing the playhead.
// Click a plot to seek. Cut frames (pending trims) are shaded.
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#0a66c2", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad", "#5c940d", "#e67700",
                 "#364fc7", "#a61e4d", "#087f5b", "#495057"];

function el(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

export function renderPlots(container, series, length, onSeek) {
  container.replaceChildren();
  const playheads = [];
  const cuts = [];
  const width = Math.max(length - 1, 1);
  for (const feature of series) {
    const block = document.createElement("div");
    block.className = "plot";
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = feature.key;
    const svg = el("svg", { viewBox: `0 0 ${width} 100`, preserveAspectRatio: "none", role: "img",
                            "aria-label": `${feature.key} over frames 0–${length - 1}; click to seek` });
    let low = Infinity, high = -Infinity;
    for (const values of feature.values) for (const v of values) if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
    if (!isFinite(low)) { low = 0; high = 1; }
    if (high === low) { high += 1; low -= 1; }
    const y = (v) => 96 - ((v - low) / (high - low)) * 92;
    const cutBefore = el("rect", { x: 0, y: 0, width: 0, height: 100, fill: "var(--cut)" });
    const cutAfter = el("rect", { x: width, y: 0, width: 0, height: 100, fill: "var(--cut)" });
    svg.append(cutBefore, cutAfter);
    cuts.push([cutBefore, cutAfter]);
    feature.values.forEach((values, d) => {
      const points = [];
      values.forEach((v, i) => { if (v !== null) points.push(`${i},${y(v).toFixed(2)}`); });
      svg.append(el("polyline", { points: points.join(" "), fill: "none", stroke: COLOURS[d % COLOURS.length],
                                  "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
    });
    const playhead = el("line", { x1: 0, x2: 0, y1: 0, y2: 100, stroke: "#000", "stroke-width": 1.5,
                                  "vector-effect": "non-scaling-stroke" });
    svg.append(playhead);
    playheads.push(playhead);
    svg.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      const frame = Math.round(((event.clientX - box.left) / box.width) * width);
      onSeek(Math.max(0, Math.min(length - 1, frame)));
    });
    const legend = document.createElement("div");
    legend.className = "legend";
    feature.names.forEach((name, d) => {
      const item = document.createElement("span");
      item.style.setProperty("--c", COLOURS[d % COLOURS.length]);
      item.textContent = name;
      legend.append(item);
    });
    block.append(title, svg, legend);
    container.append(block);
  }
  return {
    setFrame(frame) {
      for (const line of playheads) { line.setAttribute("x1", frame); line.setAttribute("x2", frame); }
    },
    setKept(start, stop) {
      for (const [before, after] of cuts) {
        before.setAttribute("width", Math.max(0, start - 0.5));
        after.setAttribute("x", Math.min(width, stop - 0.5));
        after.setAttribute("width", Math.max(0, width - (stop - 0.5)));
      }
    },
  };
}
