# The README's two commands: `make demo` and `make test`. Both set up first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup:
	@./scripts/setup.sh

demo: setup
	$(BIN)/pixelnet demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/pixelnet bench

clean:
	rm -rf build .pytest_cache
