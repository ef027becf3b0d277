# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each step below is skipped when its inputs did not change, so a second run starts in seconds.
SHELL := /bin/bash
PY310 ?= $(firstword $(wildcard /root/.pyenv/versions/3.10.*/bin/python) $(shell command -v python3.10))
PY311 ?= $(firstword $(wildcard /root/.pyenv/versions/3.11.*/bin/python) $(shell command -v python3.11))
CORE := .venv-core
APP := .venv-app

.PHONY: demo test setup model train browser lint benchmark clean

demo: setup
	$(APP)/bin/assistant demo

test: setup
	$(APP)/bin/python -m pytest -q tests

setup: $(CORE)/.installed $(APP)/.installed model train browser

# Rasa 3.6 runs on Python 3.10 with its own pinned dependencies.
$(CORE)/.installed: pyproject.toml
	@test -n "$(PY310)" || { echo "Python 3.10 is needed for Rasa 3.6 (set PY310=...)"; exit 1; }
	$(PY310) -m venv $(CORE)
	$(CORE)/bin/pip install --quiet --progress-bar off -e '.[core]'
	touch $@

# The app: torch 2.13.0 (CPU) is pinned in pyproject.toml so pip never pulls a CUDA build.
$(APP)/.installed: pyproject.toml
	@test -n "$(PY311)" || { echo "Python 3.11 is needed for the app (set PY311=...)"; exit 1; }
	$(PY311) -m venv $(APP)
	$(APP)/bin/pip install --quiet --progress-bar off -e '.[app,dev]'
	touch $@

model: $(APP)/.installed
	$(APP)/bin/assistant install-model

train: $(CORE)/.installed $(APP)/.installed
	$(APP)/bin/assistant train

# Console tests drive Debian's Chromium through Playwright (Playwright's own browser download
# does not work offline); a CJK font keeps Chinese from rendering as boxes in screenshots.
browser:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi wqy || { \
	  echo "installing chromium and fonts-wqy-microhei (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

lint: $(APP)/.installed
	$(APP)/bin/ruff check assistant actions tests benchmarks

benchmark: setup
	$(APP)/bin/python benchmarks/chat_latency.py

clean:
	rm -rf $(CORE) $(APP) .var models
