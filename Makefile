# The README's two commands: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench load chaos install clean chromium

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/polku run

# The dashboard's browser test needs Chromium (Debian package; installing needs root, else it skips).
chromium:
	.ci/install-chromium

test: $(STAMP) chromium
	$(VENV)/bin/python -m contracts.generate --check
	$(VENV)/bin/pytest -q -ra

bench: $(STAMP)
	$(VENV)/bin/python -m tests.bench.run_bench $(BENCH_ARGS)

load: $(STAMP)
	$(VENV)/bin/python -m tests.load.run_load $(LOAD_ARGS)

# Kills services and nats-server under load for a few minutes (CHAOS_ARGS="--seconds 300 --kills 40").
chaos: $(STAMP)
	$(VENV)/bin/python -m tests.chaos.run_chaos $(CHAOS_ARGS)

clean:
	rm -rf var .pytest_cache
