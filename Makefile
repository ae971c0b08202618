# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --find-links /opt/wheels -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet --find-links /opt/wheels -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m experiments.flood_overload

test: $(STAMP)
	$(PY) -m ruff check simulator experiments tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check simulator experiments tests benchmarks

bench: $(STAMP)
	$(PY) -m benchmarks.kernel_overhead
	$(PY) -m benchmarks.flood_city_throughput
	$(PY) -m benchmarks.simpy_floor
	$(PY) -m benchmarks.metropolis
	$(PY) -m benchmarks.batch_speedup --scenario scenarios/flood_town.yaml
	$(PY) -m benchmarks.gat_10k
	$(PY) -m benchmarks.finance_20y
	$(PY) -m benchmarks.orchestration_nested
	$(PY) -m benchmarks.tournament_trading
	$(PY) -m benchmarks.tournament_ipd

clean:
	rm -rf $(VENV) results/*.csv results/*.json results/*.md results/*.png
