# The README's two commands: `make demo` and `make test`. Both set up first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench docs clean

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

# The README's picture of the HTML report: a fresh demo run, rendered by headless Chromium.
docs: setup
	$(BIN)/pixelnet demo --build-dir build/docs
	$(BIN)/pixelnet report --from build/docs/demo-report.json --html build/docs/demo-report.html --png docs/report.png

clean:
	rm -rf build .pytest_cache
