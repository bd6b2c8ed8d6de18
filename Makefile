# Two commands do all the set-up themselves on a fresh machine with Python >= 3.11 and git:
#   make app    create .venv, install the explorer, serve the app with Voila
#   make test   create .venv, install the explorer with its test extra, run the whole test suite
#   make workshop  serve JupyterLab (one notebook per seat) and the app to a room (notebooks/WORKSHOP.md)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8866
PYTEST_ARGS ?=

.PHONY: app test test-fast lab workshop clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

app: $(STAMP)
	$(BIN)/accel-explorer app --port=$(PORT)

# a room: JupyterLab with the app and a workshop notebook per seat, reachable from the room's laptops
workshop: $(STAMP)
	$(BIN)/accel-explorer workshop --ip 0.0.0.0 --port=$(or $(WORKSHOP_PORT),8888)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# Two processes (pytest-xdist) for most of the suite: its browser and server tests spend much of their time
# waiting, so two share the 2 cores of a small machine; then the tests marked `alone` (the load test, which
# times what visitors get), one at a time, so that no other test's load moves them.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not alone" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS)

# The quick tests, for the edit-and-test loop: pytest's `slow` marker marks every test that starts a server,
# browser, notebook kernel or subprocess, and every one that takes more than about a quarter of a second
# (property sweeps over the whole catalog, rendering the report). README.md, Development, says how long each
# takes. `make test` stays the whole suite, the one CI runs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
