# The two commands of the quick start (`make demo`, `make test`) each build .venv first if
# it is missing or older than pyproject.toml, so either can be the first command run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test validate release check bench notebooks clean

demo: $(STAMP)
	$(BIN)/adl demo

test: $(STAMP)
	$(BIN)/python -m pytest

validate: $(STAMP)
	$(BIN)/adl validate

release: $(STAMP)
	$(BIN)/adl release

check: $(STAMP)
	$(BIN)/adl release --check

bench: $(STAMP)
	$(BIN)/python benchmarks/grading_overhead.py
	$(BIN)/python benchmarks/attention_speed.py

# pyproject.toml is the one list of packages; torch is pinned there (a loose pin would pull
# several GB of CUDA wheels).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info
