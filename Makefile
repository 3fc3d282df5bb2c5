# vaxstudy — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DATA := data/synthetic/nghe_an
DEMO_OUT  := reports/demo

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-suite test-wheel notebooks bench lab clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vaxstudy needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	$(BIN)/python -m ipykernel install --sys-prefix --name vaxstudy --display-name "vaxstudy" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install vaxstudy with its dev tools

demo: $(STAMP) ## Generate the synthetic Nghệ An province and run the whole pipeline on it
	$(BIN)/vaxstudy demo --data $(DEMO_DATA) --out $(DEMO_OUT)

test: $(STAMP) ## Run the test suite and the wheel check side by side (what CI runs)
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-suite test-wheel

test-suite: $(STAMP) ## The test suite alone (everything but the wheel check)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not install"

test-wheel: $(STAMP) ## Build the wheel, install it into a fresh venv in /tmp, render a tiny province's reports there
	$(BIN)/python -m pytest -q -n 0 -m install tests/install

notebooks: ## Copy the analyst notebooks (notebooks/) into the package the commands run them from
	cp notebooks/*.ipynb src/vaxstudy/notebooks/

bench: $(STAMP) ## Run the benchmark scripts (slow; prints figures and the machine)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lab: $(STAMP) ## Open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

clean: ## Remove generated data and reports (keeps .venv)
	rm -rf $(DEMO_DATA) $(DEMO_OUT) data/processed/*.duckdb
