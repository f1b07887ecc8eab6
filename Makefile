# One set of commands for people and CI. A fresh machine needs only Python >= 3.10 and pip:
# every target below builds what it needs into .venv first. Each test tier sets ROBOSPLICE_TIER:
# the run then fails on any skip or when no test passed (tests/conftest.py, tests/tiers.py).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-out

.PHONY: setup demo test hub-2x hub-olah interop interop-v21 browser ray kill check bench bench-convert clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

setup: $(STAMP)  ## install robosplice and its dev tools into .venv

demo: $(STAMP)  ## sample -> info -> repack -> delete -> validate, on a bundled synthetic dataset
	rm -rf $(DEMO)
	$(BIN)/robosplice sample $(DEMO)/sample
	$(BIN)/robosplice info $(DEMO)/sample
	$(BIN)/robosplice repack $(DEMO)/sample $(DEMO)/repacked --video-file-size-mb 0.05
	$(BIN)/robosplice delete-episodes $(DEMO)/repacked $(DEMO)/deleted --episodes 1,4-5
	$(BIN)/robosplice validate $(DEMO)/repacked
	$(BIN)/robosplice validate $(DEMO)/deleted
	$(BIN)/robosplice info $(DEMO)/deleted

test: $(STAMP)  ## the default suite (fast; no official lerobot needed)
	ROBOSPLICE_TIER=test $(BIN)/python -m pytest -q

hub-2x: $(STAMP)  ## the Hub tests again with huggingface_hub 2.x (`make test` runs them with 1.x, lerobot's pin)
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/hf2 huggingface_hub==2.4.0
	ROBOSPLICE_TIER=hub-2x PYTHONPATH=$(VENV)/hf2 $(BIN)/python -m pytest -q tests/hub

OLAH_VENV ?= $(HOME)/.cache/robosplice/olah-venv
hub-olah: $(STAMP)  ## pull through olah, a third-party server of the Hub's read API (own venv, built once)
	test -x $(OLAH_VENV)/bin/olah-cli || { $(PYTHON) -m venv $(OLAH_VENV) && \
		$(OLAH_VENV)/bin/python -m pip install --quiet olah==0.5.4; }
	ROBOSPLICE_TIER=hub-olah ROBOSPLICE_OLAH=$(OLAH_VENV)/bin/olah-cli $(BIN)/python -m pytest -q -m olah tests/hub/test_olah.py

interop: $(STAMP)  ## outputs loaded by the official LeRobotDataset (builds a Python 3.12 venv once)
	bash scripts/interop-env.sh >/dev/null
	ROBOSPLICE_TIER=interop $(BIN)/python -m pytest -q -m interop tests/interop

browser: $(STAMP)  ## the review page in Debian's chromium via Selenium (apt-installs chromium if missing)
	command -v chromedriver >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends chromium chromium-driver; }
	$(BIN)/python -m pip install --quiet --group browser
	bash scripts/interop-env.sh >/dev/null
	ROBOSPLICE_TIER=browser $(BIN)/python -m pytest -q -s -m browser tests/browser

interop-v21: $(STAMP)  ## `convert --to v2.1` outputs loaded by lerobot 0.3.3 (builds its own Python 3.12 venv once)
	bash scripts/interop-env.sh >/dev/null
	bash scripts/interop-v21-env.sh >/dev/null
	ROBOSPLICE_TIER=interop-v21 $(BIN)/python -m pytest -q -m interop tests/interop_v21

ray: $(STAMP)  ## the Ray backend: local Ray and a simulated two-node cluster (installs robosplice[ray])
	$(BIN)/python -m pip install --quiet -e '.[ray]'
	ROBOSPLICE_TIER=ray RAY_USAGE_STATS_ENABLED=0 $(BIN)/python -m pytest -q -m ray tests/engine/test_ray.py

kill: $(STAMP)  ## the long kill tests: hundreds of SIGKILLs/SIGTERMs mid-edit, sources and outputs checked
	ROBOSPLICE_TIER=kill ROBOSPLICE_LONG=1 $(BIN)/python -m pytest -q -m slow tests/safety

check: $(STAMP)  ## lint and format check
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

bench: $(STAMP)  ## timing/memory table vs the official tools
	$(BIN)/python bench/bench_edits.py
	$(BIN)/python bench/bench_review.py

bench-convert: $(STAMP)  ## convert v2.1 -> v3.0: robosplice vs the official converter vs cp -r
	$(BIN)/python bench/bench_convert.py

clean:
	rm -rf $(VENV) $(DEMO)
