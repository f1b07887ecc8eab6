// The review page: episode list, synced cameras, plots, findings, pending edits, apply.
import { Player } from "./player.js";
import { renderPlots } from "./plot.js";

const $ = (id) => document.getElementById(id);
const state = { dataset: null, episodes: [], edits: { items: [], deleted: [], trims: {}, can_undo: false },
                findings: [], current: -1, plots: null, busy: 0, previewTimer: null };

async function api(path, options = {}) {
  const init = { ...options, headers: { ...(options.body ? { "Content-Type": "application/json" } : {}) } };
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(body.error || body || `${response.status}`);
  return body;
}

function showError(error) { $("error").textContent = error ? String(error.message || error) : ""; }

function setBusy(delta) {
  state.busy += delta;
  $("viewer").setAttribute("aria-busy", state.busy > 0 ? "true" : "false");
}

// -- episode list ---------------------------------------------------------------------------

function deleted(episode) { return state.edits.deleted.includes(episode); }
function trimOf(episode) { return state.edits.trims[String(episode)] || null; }

function optionText(row) {
  const parts = [`Episode ${row.episode_index}`, `${row.length} frames`];
  if (row.tasks.length) parts.push(row.tasks.join(" / "));
  return parts.join(" · ");
}

function renderOption(li, row) {
  const i = row.episode_index;
  li.replaceChildren(optionText(row));
  const marks = [];
  if (deleted(i)) marks.push("marked for deletion");
  const trim = trimOf(i);
  if (trim) marks.push(`trimmed to ${trim[0]}–${trim[1] - 1}`);
  if (marks.length) li.append(` · ${marks.join(", ")}`);
  if (row.flags.length) {
    const flag = document.createElement("span");
    flag.className = "flag";
    flag.textContent = ` · ⚑ ${row.flags.join(", ")}`;
    li.append(flag);
  }
  li.classList.toggle("deleted", deleted(i));
  li.setAttribute("aria-selected", i === state.current ? "true" : "false");
}

function renderList() {
  const list = $("episode-list");
  if (list.children.length !== state.episodes.length) {
    list.replaceChildren(...state.episodes.map((row) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `episode-option-${row.episode_index}`;
      li.dataset.episode = String(row.episode_index);
      li.addEventListener("click", () => selectEpisode(row.episode_index));
      return li;
    }));
  }
  state.episodes.forEach((row, n) => renderOption(list.children[n], row));
  applyFilter();
}

function matchesFilter(row) {
  const task = $("filter-task").value;
  const flag = $("filter-flag").value;
  if (task && !row.tasks.includes(task)) return false;
  const edited = deleted(row.episode_index) || trimOf(row.episode_index) !== null;
  if (flag === "flagged" && !row.flags.length) return false;
  if (flag === "edited" && !edited) return false;
  if (flag === "unedited" && edited) return false;
  if (flag.startsWith("check:") && !row.flags.includes(flag.slice(6))) return false;
  return true;
}

function applyFilter() {
  const list = $("episode-list");
  let shown = 0;
  state.episodes.forEach((row, n) => {
    const visible = matchesFilter(row);
    list.children[n].hidden = !visible;
    shown += visible ? 1 : 0;
  });
  $("list-count").textContent = `${shown} of ${state.episodes.length} episodes`;
}

function visibleEpisodes() { return state.episodes.filter(matchesFilter).map((row) => row.episode_index); }

function moveSelection(direction) {
  const visible = visibleEpisodes();
  if (!visible.length) return;
  let position = visible.indexOf(state.current);
  if (position < 0) position = direction > 0 ? -1 : visible.length;
  const next = visible[Math.max(0, Math.min(visible.length - 1, position + direction))];
  if (next !== state.current) selectEpisode(next);
}

// -- one episode ----------------------------------------------------------------------------

const player = new Player($("cameras"), (frame, moving) => {
  const readout = $("frame-readout");
  const length = player.length;
  readout.textContent = `Frame ${frame} / ${Math.max(0, length - 1)}`;
  readout.dataset.frame = String(frame);
  readout.dataset.settled = moving ? "false" : "true";
  if (state.plots) state.plots.setFrame(frame);
});

async function selectEpisode(episode) {
  if (episode === state.current) return;
  const previous = state.current;
  state.current = episode;
  for (const n of [previous, episode]) {
    const li = $(`episode-option-${n}`);
    if (li) li.setAttribute("aria-selected", n === episode ? "true" : "false");
  }
  const option = $(`episode-option-${episode}`);
  $("episode-list").setAttribute("aria-activedescendant", option.id);
  option.scrollIntoView({ block: "nearest" });
  const row = state.episodes[episode];
  history.replaceState(null, "", `#episode=${episode}`);
  $("episode-title").textContent = `Episode ${episode} · ${row.length} frames${row.tasks.length ? " · " + row.tasks.join(" / ") : ""}`;
  renderEpisodeEdit();
  renderFindings();
  setBusy(+1);
  try {
    const [series] = await Promise.all([
      api(`/api/episodes/${episode}/series`),
      player.load(episode, row.length, state.dataset.fps, state.dataset.cameras),
    ]);
    if (state.current !== episode) return;
    state.plots = renderPlots($("plots"), series, row.length, (frame) => player.step(frame - player.frame));
    state.plots.setFrame(player.frame);
    renderEpisodeEdit();
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    setBusy(-1);
  }
}

function renderEpisodeEdit() {
  const episode = state.current;
  if (episode < 0) return;
  const row = state.episodes[episode];
  const trim = trimOf(episode);
  const isDeleted = deleted(episode);
  $("viewer").classList.toggle("deleted", isDeleted);
  $("toggle-delete").textContent = isDeleted ? "Unmark deletion (d)" : "Mark for deletion (d)";
  $("toggle-delete").setAttribute("aria-pressed", isDeleted ? "true" : "false");
  const parts = [];
  if (isDeleted) parts.push("Marked for deletion.");
  if (trim) parts.push(`Keeps frames ${trim[0]}–${trim[1] - 1} (${trim[1] - trim[0]} of ${row.length}).`);
  $("episode-edit").textContent = parts.join(" ") || "No pending edit for this episode.";
  if (state.plots) state.plots.setKept(trim ? trim[0] : 0, trim ? trim[1] : row.length);
}

function renderFindings() {
  const list = $("findings");
  const mine = state.findings.filter((f) => f.episode === state.current);
  list.replaceChildren(...mine.map((finding) => {
    const li = document.createElement("li");
    li.textContent = `${finding.severity}: ${finding.message} [${finding.check}] `;
    const fix = finding.fix;
    if (fix && (fix.op === "delete_episodes" || fix.op === "trim_episodes")) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = fix.op === "delete_episodes" ? "Add: delete" : "Add: trim";
      button.addEventListener("click", () => edit({ action: "step", op: fix.op, args: fix.args,
                                                     reason: fix.reason || finding.message }));
      li.append(button);
    }
    return li;
  }));
  if (!mine.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = state.findingsAvailable ? "No doctor findings for this episode."
      : state.findingsState === "running" ? "doctor is checking every episode…" : `No doctor findings (${state.findingsState}).`;
    list.append(li);
  }
}

// -- pending edits --------------------------------------------------------------------------

async function edit(action) {
  try {
    state.edits = await api("/api/edits", { method: "POST", body: JSON.stringify(action) });
    showError(null);
  } catch (error) {
    showError(error);
    return;
  }
  renderEdits();
}

function renderEdits() {
  const list = $("pending-list");
  list.replaceChildren(...state.edits.items.map((item) => {
    const li = document.createElement("li");
    li.dataset.item = item.id;
    if (item.superseded) li.className = "superseded";
    const link = document.createElement("a");
    link.href = `#episode=${item.episode}`;
    link.textContent = item.text;
    link.addEventListener("click", (event) => { event.preventDefault(); selectEpisode(item.episode); });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove: ${item.text}`);
    remove.addEventListener("click", () => edit({ action: "remove", item: item.id }));
    li.append(link, remove);
    return li;
  }));
  if (!state.edits.items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "None yet: d marks a deletion, [ and ] trim.";
    list.append(li);
  }
  $("undo").disabled = !state.edits.can_undo;
  renderList();
  renderEpisodeEdit();
  schedulePreview();
}

function schedulePreview() {
  clearTimeout(state.previewTimer);
  state.previewTimer = setTimeout(async () => {
    try { $("preview").textContent = (await api("/api/preview")).text; }
    catch (error) { $("preview").textContent = `The edits cannot be applied: ${error.message}`; }
  }, 250);
}

// -- apply and export -----------------------------------------------------------------------

async function applyEdits() {
  const output = $("output").value.trim();
  const progress = $("apply-progress");
  showError(null);
  $("status").textContent = "";
  $("apply").disabled = true;
  try {
    let job = await api("/api/apply", { method: "POST", body: JSON.stringify({ output }) });
    progress.hidden = false;
    $("status").textContent = `Applying into ${job.output}…`;
    while (job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await api(`/api/jobs/${job.id}`);
      if (job.total) { progress.max = job.total; progress.value = job.done; } else progress.removeAttribute("value");
      if (job.state === "running") $("status").textContent = `Applying into ${job.output}: ${job.phase} ${job.done}/${job.total}`;
    }
    if (job.state === "done") $("status").textContent = `${job.message}\n${job.verdict}`;
    else { $("status").textContent = ""; showError(job.message); }
  } catch (error) {
    showError(error);
  } finally {
    progress.hidden = true;
    $("apply").disabled = false;
  }
}

async function exportRecipe() {
  try {
    const response = await fetch("/api/recipe");
    if (!response.ok) throw new Error((await response.json()).error);
    const name = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name ? name[1] : "recipe.json";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    showError(error);
  }
}

// -- keys -----------------------------------------------------------------------------------

function inTextField(target) {
  if (!target || !target.tagName) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && !["button", "checkbox", "radio", "range", "submit"].includes(target.type);
}

function toggleHelp() {
  const help = $("help");
  if (help.open) help.close(); else help.showModal();
}

document.addEventListener("keydown", (event) => {
  if (inTextField(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($("help").open && event.key !== "?") return;
  const episode = state.current;
  const handlers = {
    j: () => moveSelection(+1), ArrowDown: () => moveSelection(+1),
    k: () => moveSelection(-1), ArrowUp: () => moveSelection(-1),
    " ": () => player.toggle(),
    ArrowLeft: () => player.step(event.shiftKey ? -10 : -1),
    ArrowRight: () => player.step(event.shiftKey ? 10 : 1),
    d: () => edit({ action: "toggle_delete", episode }),
    "[": () => edit({ action: "trim_start", episode, frame: player.frame }),
    "]": () => edit({ action: "trim_end", episode, frame: player.frame }),
    z: () => edit({ action: "undo" }),
    "?": () => toggleHelp(),
  };
  const handler = handlers[event.key];
  if (!handler) return;
  event.preventDefault();
  handler();
});

// -- start ----------------------------------------------------------------------------------

async function start() {
  try {
    const [dataset, episodes, edits, findings] = await Promise.all([
      api("/api/dataset"), api("/api/episodes"), api("/api/edits"), api("/api/findings"),
    ]);
    state.dataset = dataset;
    state.episodes = episodes;
    state.edits = edits;
    state.findings = findings.findings;
    state.findingsAvailable = findings.available;
    state.findingsState = findings.state;
    $("dataset-name").textContent = dataset.name;
    document.title = `${dataset.name} · robosplice review`;
    const cameras = dataset.cameras.map((c) => `${c.key.split(".").pop()} (${c.kind === "video" ? c.codec : "stills"})`);
    $("dataset-summary").textContent = `${dataset.root} · ${dataset.num_episodes} episodes · ` +
      `${dataset.num_frames} frames · ${dataset.fps} fps · ${cameras.join(", ")}`;
    for (const task of dataset.tasks) $("filter-task").append(new Option(task, task));
    addFlagFilters();
    $("output").value = `${dataset.root}_reviewed`;
    renderEdits();
    const wanted = Number((location.hash.match(/episode=(\d+)/) || [])[1] || 0);
    await selectEpisode(wanted < episodes.length ? wanted : 0);
    if (findings.state === "running") pollFindings();
  } catch (error) {
    showError(error);
  }
}

function addFlagFilters() {
  const select = $("filter-flag");
  const present = new Set([...select.options].map((o) => o.value));
  const checks = [...new Set(state.episodes.flatMap((row) => row.flags))].sort();
  for (const check of checks) if (!present.has(`check:${check}`)) select.append(new Option(`flagged: ${check}`, `check:${check}`));
}

// doctor runs in the background when the server starts; flags appear when it is done.
async function pollFindings() {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const findings = await api("/api/findings");
  state.findingsState = findings.state;
  if (findings.state === "running") { pollFindings(); return; }
  state.findings = findings.findings;
  state.findingsAvailable = findings.available;
  state.episodes = await api("/api/episodes");
  addFlagFilters();
  renderList();
  renderFindings();
}

$("filter-task").addEventListener("change", applyFilter);
$("filter-flag").addEventListener("change", applyFilter);
$("play").addEventListener("click", () => player.toggle());
$("step-back").addEventListener("click", () => player.step(-1));
$("step-forward").addEventListener("click", () => player.step(1));
$("trim-start").addEventListener("click", () => edit({ action: "trim_start", episode: state.current, frame: player.frame }));
$("trim-end").addEventListener("click", () => edit({ action: "trim_end", episode: state.current, frame: player.frame }));
$("toggle-delete").addEventListener("click", () => edit({ action: "toggle_delete", episode: state.current }));
$("undo").addEventListener("click", () => edit({ action: "undo" }));
$("apply").addEventListener("click", applyEdits);
$("export").addEventListener("click", exportRecipe);
$("help-button").addEventListener("click", toggleHelp);
const observer = new MutationObserver(() => { $("play").textContent = player.playing ? "Pause" : "Play"; });
observer.observe($("frame-readout"), { childList: true, characterData: true, subtree: true });
start();
