# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP := $(VENV)/.installed-app
DEV := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean

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

test: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(DEV)
	$(BIN)/ruff check .

# Every scenario of docs/benchmarks.md (~6 min; loopback only). ARGS="--quick" for a short run.
bench: $(DEV)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache replica_bot.db
