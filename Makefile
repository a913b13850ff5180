# Two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed-stamp

# Customer data stays here: no usage telemetry from MLflow or DVC.
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1

.PHONY: install demo test mlflow-ui bench lock clean

# The venv is rebuilt only when the pinned versions change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing pinned dependencies (requirements.lock) into $(VENV)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	@$(UV) pip install --python $(BIN)/python -r requirements.lock
	@$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Demo: generate messy demo data, run every DVC stage, print the summary.
demo: $(STAMP)
	@$(BIN)/segml demo

test: $(STAMP)
	@$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

mlflow-ui: $(STAMP)
	@$(BIN)/segml ui

bench: $(STAMP)
	@$(BIN)/python benchmarks/bench_features.py

# Re-resolve the pinned versions after editing pyproject.toml dependencies.
lock: $(STAMP)
	@$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --quiet --no-header -o requirements.lock

clean:
	rm -rf data/raw data/prepared data/features models/*.pkl metrics exports logs mlflow.db mlruns
