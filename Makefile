# Every target bootstraps a local virtual environment from a clean clone first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint proto clean system

# tpm2-pytss compiles against Debian's libtss2-dev, so the system packages come first.
$(STAMP): pyproject.toml constraints.txt | system
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: system $(STAMP)
	$(BIN)/rekam demo

# Debian packages Rekam and its tests need (installed as root; otherwise the exact command is
# printed).
system:
	sh .ci/setup-system

test: system $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

proto: $(STAMP)
	$(BIN)/python -m station.protogen

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
