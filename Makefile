# The two commands of this project. Each creates .venv and installs what it needs.
#   make demo   offline brief -> MP4 on the embedded defaults (no GPU, no network, no API key)
#   make test   the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_BRIEF ?= examples/briefs/coffee-shop.txt
DEMO_OUT ?= out/demo.mp4

.PHONY: demo test clean chromium

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "shotsmith needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# torch is pinned on its own first: `torch==2.13.0` resolves to the CPU build on this machine's
# wheel folder, while a looser spec could pull a multi-GB CUDA build.
$(VENV)/.installed-dev: pyproject.toml examples/plugin-backend/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,diffusers,ray,beats,kokoro]'
	$(BIN)/pip install --quiet -e examples/plugin-backend
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/shotsmith run $(DEMO_BRIEF) -o $(DEMO_OUT) --json out/demo-report.json

# tests/tui/test_tui_web.py drives `shotsmith web` in headless Chromium (Debian's package). Installed only
# when missing, and only as root where apt-get exists; elsewhere that test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed (needs root and apt-get): the browser test of shotsmith web will be skipped"

test: $(VENV)/.installed-dev chromium
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) out
