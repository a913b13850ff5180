# Two commands: `make demo` and `make test`; `make test-fast` runs the unit tests alone while you
# edit. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed-stamp

# Customer data stays here: no usage telemetry from MLflow or DVC.
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1

.PHONY: install demo test test-fast src-bytecode lint mlflow-ui bench bench-features report-check dvc-deps lock clean

# The venv is rebuilt only when the pinned versions change. Bytecode is compiled once here: every
# stage is its own process, and where PYTHONDONTWRITEBYTECODE is set each one would otherwise
# compile mlflow, sklearn and lightgbm again (about 4 s per process).
# Quiet unless it fails: what the installers print goes to logs/install.log, shown on failure.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing pinned dependencies (requirements.lock) into $(VENV)"
	@mkdir -p logs
	@{ $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9 \
	  && $(UV) pip install --python $(BIN)/python --compile-bytecode -r requirements.lock \
	  && $(UV) pip install --python $(BIN)/python --no-deps -e . ; } > logs/install.log 2>&1 \
	  || { cat logs/install.log; echo "installation failed (output above, also in logs/install.log)"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

# Demo: generate messy demo data, run every DVC stage, print the summary.
demo: $(STAMP)
	@$(BIN)/segml demo

lint: $(STAMP)
	@$(BIN)/ruff check src tests pipelines benchmarks tools
	@$(BIN)/ruff format --check --quiet src tests pipelines benchmarks tools

# segml's own bytecode too, before the tests start a hundred stage processes (where
# PYTHONDONTWRITEBYTECODE is set, each would compile the modules it imports again)
src-bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

test: lint src-bytecode
	@$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# The unit tests alone (not those marked slow: end-to-end runs and tests that start other programs),
# for the edit-run loop (target: a minute on a quiet two-core machine). `make test` runs everything.
test-fast: src-bytecode
	@$(BIN)/python -m pytest -m "not slow"; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

mlflow-ui: $(STAMP)
	@$(BIN)/segml ui

# Every stage at 1 M customers from raw CSV, beside floors measured in the same run (see README).
# `make bench ARGS="--customers 200000 segment.fit_sample=50000"` passes options and config overrides.
bench: $(STAMP)
	@$(BIN)/python benchmarks/bench_pipeline.py $(ARGS)

# The feature and train stages alone, in more detail (one cutoff vs the whole stage).
bench-features: $(STAMP)
	@$(BIN)/python benchmarks/bench_features.py

# Screenshot of the report's page one at 1400 px in headless Chromium (Debian's `chromium`), for
# review: logs/report-check/page-one.png (git-ignored). Uses exports/report.html if present, else a
# sample run in memory; `make report-check LANGUAGE=en` renders a sample in one language.
report-check: $(STAMP)
	@$(BIN)/python tools/report_check.py $(LANGUAGE)

# dvc.yaml's library deps rewritten from what each stage's script imports (after moving code, or to
# resolve a merge conflict in them); `make dvc-deps ARGS=--check` only lists the differences.
dvc-deps: $(STAMP)
	@$(BIN)/python tools/dvc_deps.py $(ARGS)

# Re-resolve the pinned versions after editing pyproject.toml dependencies.
lock: $(STAMP)
	@$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --quiet --no-header -o requirements.lock

clean:
	rm -rf data/raw data/prepared data/features models/*.pkl metrics exports logs mlflow.db mlruns
