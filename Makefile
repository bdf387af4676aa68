# acu_meta: two commands on a fresh machine.
#   make reproduce   create .venv if missing, install, rebuild every report
#   make test        same bootstrap, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: reproduce test lint check-data clean-venv metafor-reference meta-reference baselines snapshot bench

# pip quietly (no progress bars, no version or root-user notes): one line per bootstrap step;
# pip's errors still show.
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore $(BIN)/python -m pip

$(BIN)/python:
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@echo "installing acu_meta and its pinned dependencies (constraints.txt) into $(VENV) ..."
	@$(PIP) install --quiet --upgrade pip
	@$(PIP) install --quiet -c constraints.txt -e '.[dev,notebooks]'
	@touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/acu-meta reproduce --out . --notebooks notebooks

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

check-data: $(STAMP)
	$(BIN)/acu-meta check-data

clean-venv:
	rm -rf $(VENV)

# Regenerate the metafor reference values (needs R with metafor 3.8 and metadat) and fail if
# they changed: the committed fixtures must be exactly what the committed script writes.
metafor-reference:
	Rscript validation/metafor/reference.R
	Rscript validation/metafor/plots_reference.R
	Rscript validation/metafor/network_reference.R
	Rscript validation/metafor/sensitivity_reference.R
	Rscript validation/metafor/api_reference.R
	Rscript validation/metafor/gaps_reference.R
	Rscript validation/metafor/adhoc_reference.R
	git diff --exit-code -- tests/fixtures/metafor_reference.json tests/fixtures/metafor_baujat.json \
	  tests/fixtures/metafor_network.json tests/fixtures/network_arms \
	  tests/fixtures/metafor_sensitivity.json tests/fixtures/metafor_gaps.json \
	  tests/fixtures/metafor_api.json tests/fixtures/metafor_adhoc.json

# Regenerate the meta / netmeta reference values the same way (needs, besides metafor and metadat,
# meta 8.3 and netmeta 3.3 in a private R library; see validation/meta/README.md):
#   make meta-reference RLIB=/path/to/rlib
RLIB ?= $(R_LIBS)
meta-reference:
	R_LIBS=$(RLIB) Rscript validation/meta/revman5_reference.R
	R_LIBS=$(RLIB) Rscript validation/netmeta/netsplit_reference.R
	R_LIBS=$(RLIB) Rscript validation/meta/or2smd_reference.R
	git diff --exit-code -- tests/fixtures/meta_revman5.json tests/fixtures/netmeta_netsplit.json \
	  tests/fixtures/meta_or2smd.json

# Regenerate the baseline images of the plot regression tests (after an intended change of
# the plots; review the new images before committing them).
baselines: $(STAMP)
	$(BIN)/python tests/plot_cases.py tests/baseline_images

# Refresh the regression snapshot of every reproduced number, after a deliberate change of
# data or method (review `git diff tests/fixtures/reproduction_snapshot.json` before committing).
snapshot: $(STAMP)
	$(BIN)/acu-meta snapshot

# Benchmark pool_many against a loop of the single engine, statsmodels and (with R) metafor;
# prints per-fit ratios. A benchmark, never a timed test.
# Every speed goal of issue #16 side by side (metafor when Rscript is found, PyMARE when
# installed); rewrites the table in benchmarks/README.md from this run.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_goals.py --write-readme

# Regenerate the bayesmeta 3.4 reference values (needs R with metafor 3.8, metadat and bayesmeta
# 3.4, see validation/bayesmeta/README.md; about 15 minutes on one core) and fail if they changed:
# the committed fixture must be exactly what the committed script writes.
.PHONY: bayesmeta-reference
BAYESMETA_R_LIBS ?= /work/rlib
bayesmeta-reference:
	R_LIBS=$(BAYESMETA_R_LIBS) Rscript validation/bayesmeta/reference.R
	git diff --exit-code -- tests/fixtures/bayesmeta_reference.json
