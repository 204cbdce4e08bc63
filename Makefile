# Two commands a newcomer needs (see README.md): `make demo` and `make test`.
# Both create .venv on first use and install the project into it.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test test-unit lint bench clean

# e2e tests mostly wait on servers and processes: more workers than cores pays off
TEST_WORKERS ?= 4

$(BIN)/gameday: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sandbox,test]'  # make demo needs the sandbox extra, make test both
	touch $@

# exit code 1 means the gameday ran and found deviations: the demo's expected result
demo: $(BIN)/gameday
	$(BIN)/gameday run plans/2024-05.yaml; code=$$?; \
	if [ $$code -eq 1 ]; then echo "(exit code 1: the gameday found deviations, as the demo expects)"; exit 0; fi; \
	exit $$code

# every tier: unit and end-to-end (tests/tiers.py), the folders side by side
test: $(BIN)/gameday
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# the fast tier alone: no server, no process, under a minute
test-unit: $(BIN)/gameday
	$(BIN)/python -m pytest -m unit -n 2

lint: $(BIN)/gameday
	$(BIN)/ruff check gamedays tests bench
	$(BIN)/mypy

bench: $(BIN)/gameday
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
