# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP := $(VENV)/.installed-app
DEV := $(VENV)/.installed-dev

.PHONY: demo test check lint bench diagram clean

# The demo needs only the app; the tests add the dev tools, test photos and the face detector.
$(APP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(APP)

$(DEV): $(APP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV)

demo: $(APP)
	$(BIN)/replica-bot demo

# Style, the layer contracts, types, then every test (unit and end-to-end, SQLite and PostgreSQL). The
# in-process tests run on every core. The end-to-end ones mostly wait on app processes, so three run side
# by side; those that measure time (`timed`) then run one at a time, on a quiet machine.
test: check
	$(BIN)/pytest -m "e2e and not timed" -n 3
	$(BIN)/pytest -m "e2e and timed"

# The fast inner loop: the same checks, and only the in-process tests.
check: lint
	$(BIN)/pytest -m "not e2e" -n auto

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Every scenario of docs/benchmarks.md (~6 min; loopback only). ARGS="--quick" for a short run.
bench: $(DEV)
	$(BIN)/python -m bench $(ARGS)

# Redraw the lifecycle diagram in docs/architecture.md from bot/domain/lifecycle.py.
diagram: $(DEV)
	$(BIN)/python -m tests.architecture_doc

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .import_linter_cache replica_bot.db
