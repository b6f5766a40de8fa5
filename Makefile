# The README's commands. Everything a fresh machine needs is installed by these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DASHBOARD_BIND ?= 127.0.0.1
DASHBOARD_PORT ?= 8000
LAB_DOCKER_HOST := unix:///run/dl/n1.sock

.PHONY: run test check lint types demo bench lab-up lab-down venv dev-venv clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.base
dev-venv: $(VENV)/.dev

## run: serve the dashboard on $(DASHBOARD_BIND):$(DASHBOARD_PORT) against $$DOCKER_HOST
run: venv
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py ensure_admin
	@echo "Dashboard on http://$(DASHBOARD_BIND):$(DASHBOARD_PORT)/ (engine: $${DOCKER_HOST:-unix:///var/run/docker.sock})"
	$(BIN)/daphne -b $(DASHBOARD_BIND) -p $(DASHBOARD_PORT) dashboard.asgi:application

## test: install what the tests need, start the lab engine if none runs, run the whole suite
test: dev-venv
	./lab/engine-lab deps
	./lab/engine-lab with -- $(BIN)/python tests/split_run.py $(PYTEST_ARGS)

## demo: the lab engine with sample containers, and the dashboard pointed at it
demo: venv
	./lab/engine-lab with -- $(MAKE) --no-print-directory _demo

# The demo's project editor uses the lab's compose v2 unless DASHBOARD_COMPOSE_BIN says otherwise.
_demo:
	DOCKER_HOST=$(LAB_DOCKER_HOST) $(BIN)/python lab/demo.py
	DOCKER_HOST=$(LAB_DOCKER_HOST) \
	DASHBOARD_COMPOSE_BIN="$${DASHBOARD_COMPOSE_BIN:-$$(./lab/engine-lab env | sed -n 's/^export LAB_COMPOSE=//p')}" \
	$(MAKE) --no-print-directory run

## bench: one benchmark, with the test extras it needs (websockets, playwright...):
##        make bench BENCH=log_throughput ARGS="--lines 200000"
bench: dev-venv
	@if [ -z "$(BENCH)" ]; then \
	    echo "Which benchmark? make bench BENCH=<name> [ARGS=\"...\"], <name> one of:"; \
	    ls bench/*.py | xargs -n1 basename | sed -e 's/\.py$$//' -e '/^common$$/d' -e 's/^/  /'; \
	    exit 2; \
	fi
	$(BIN)/python bench/$(BENCH).py $(ARGS)

lab-up:
	./lab/engine-lab up

lab-down:
	./lab/engine-lab down

## check: lint, formatting, types and the tests that need no engine (under a minute)
check: lint types
	$(BIN)/pytest -q -m "not engine" -n 2 $(PYTEST_ARGS)

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: dev-venv
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
