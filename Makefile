# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench docs clean soak mutate

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
	$(PY) -m benchmarks.ottochain_traffic

# `make soak N=50`: the full suite N times in a row; names every failing test, fails if any did.
N ?= 50
soak: $(STAMP)
	@mkdir -p results/soak; rm -f results/soak/*.log; failed=0; \
	for i in $$(seq 1 $(N)); do \
	  if $(PY) -m pytest -q -p no:cacheprovider > results/soak/run$$i.log 2>&1; then \
	    rm results/soak/run$$i.log; echo "soak $$i/$(N): ok"; \
	  else failed=$$((failed + 1)); echo "soak $$i/$(N): FAILED (results/soak/run$$i.log)"; \
	    grep -E '^(FAILED|ERROR) ' results/soak/run$$i.log | sed 's/^/    /'; fi; \
	done; echo "soak: $$failed of $(N) runs failed"; test $$failed -eq 0

docs: $(STAMP)  # the scenario references, generated from the models (a test keeps them in sync)
	$(PY) -m simulator.cli schema infra --out docs/infra-scenario.md
	$(PY) -m simulator.cli schema finance --out docs/finance-config.md

# `make mutate` (outside CI): mutmut over engine, infra, analysis, finance and store, then the
# score per package. `make mutate SAMPLE=100` runs a seeded uniform sample of 100 mutants per package.
mutate: $(STAMP)
	$(PY) -m benchmarks.mutation_score $(if $(SAMPLE),--sample $(SAMPLE))

clean:
	rm -rf $(VENV) mutants results/*.csv results/*.json results/*.md results/*.png
