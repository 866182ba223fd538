# The two commands of the quick start (`make demo`, `make test`) each build .venv first if
# it is missing or older than pyproject.toml, so either can be the first command run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test validate release check bench notebooks clean

demo: $(STAMP)
	$(BIN)/adl demo

# `make test`: everything but the full validation of each assignment (every stubbed function
# and every mutant graded), which `make validate` runs; CI (.ci/run) runs both.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not validation"

validate: $(STAMP)
	$(BIN)/python -m pytest -m validation

release: $(STAMP)
	$(BIN)/adl release

check: $(STAMP)
	$(BIN)/adl release --check

bench: $(STAMP)
	$(BIN)/python benchmarks/grading_overhead.py
	$(BIN)/python benchmarks/attention_speed.py

# pyproject.toml is the one list of packages; torch is pinned there (a loose pin would pull
# several GB of CUDA wheels).
# bubblewrap (Debian package) is the grader's sandbox; without it grading still works, in a
# weaker mode that every result reports.
# Pango (Debian packages) is what WeasyPrint draws text with: `adl export-pdf` needs it.
$(STAMP): pyproject.toml
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null); } || \
	  echo "warning: bubblewrap is not installed; grading will run in the weaker process mode"
	@(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) | grep -q libpangoft2 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null); } || \
	  echo "warning: Pango is not installed; \`adl export-pdf\` needs it (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info
