# chargen: every command a newcomer needs. Only Python 3.11+ is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install constraints demo seed test browser postgres lint typecheck check dev bench clean

# deploy/constraints.txt: the versions the production image installs, so the tests run on them.
$(STAMP): pyproject.toml deploy/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c deploy/constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Pin what `.[deploy]` resolves to today (after changing dependencies in pyproject.toml): a
## fresh virtualenv, unconstrained, frozen into deploy/constraints.txt.
constraints:
	rm -rf /tmp/chargen-constraints && $(PYTHON) -m venv /tmp/chargen-constraints
	/tmp/chargen-constraints/bin/python -m pip install --quiet ".[deploy]"
	{ sed -n '1,2p' deploy/constraints.txt; /tmp/chargen-constraints/bin/python -m pip freeze \
		--exclude-editable | grep -v '^chargen @'; } > deploy/constraints.new
	mv deploy/constraints.new deploy/constraints.txt && rm -rf /tmp/chargen-constraints

## Materialize every bundled sample character end to end (emulator + local storage).
## ./inbox (the folder `make dev` watches) gets the samples while it holds nothing yet.
demo: $(STAMP) seed
	$(BIN)/python -m chargen_assets.demo --inbox inbox

## Copy the bundled samples into ./inbox when it is missing or empty (as `make dev` leaves it);
## an inbox with anything in it is never touched.
seed:
	@if [ -z "$$(ls -A inbox 2>/dev/null)" ]; then \
		mkdir -p inbox && cp -R samples/inbox/. inbox/ && echo "seeded ./inbox with samples/inbox"; \
	fi

## The whole test suite (what CI runs). The gallery test opens a page in headless Chromium and
## the production-profile tests use a PostgreSQL server: Debian's packages are installed first
## when the machine lacks them, and the server is started on loopback.
test: $(STAMP) browser postgres
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q

browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser test"; \
		$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo) \
			apt-get install -y -qq chromium >/dev/null; }

# CHARGEN_TEST_POSTGRES_URL names a server of your own: then nothing is installed or started.
postgres:
	@[ -n "$$CHARGEN_TEST_POSTGRES_URL" ] || .ci/postgres >/dev/null

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Everything CI checks: lint, types, tests.
check: lint typecheck test

## The Dagster UI (webserver + daemon) with the inbox sensor running, on http://127.0.0.1:3000
## (`make dev PORT=3311` for another port)
# Run from the instance folder: `dagster dev` warns about any dagster.yaml in its working folder
# other than DAGSTER_HOME's (the repository's own is the template copied there). The paths the
# definitions read are therefore made absolute here (an s3:// location is kept as it is).
# FutureWarning: Dagster 1.13 announces that `dagster dev` is superseded by `dg dev`, on every
# start; nothing a user of chargen can act on.
HOME_DIR := $(CURDIR)/.chargen/dagster_home
# `make dev PORT=3311` overrides it; a PORT in the environment does not.
PORT := 3000
absolute = $(if $(filter s3://%,$(1)),$(1),$(abspath $(1)))
dev: $(STAMP)
	mkdir -p inbox $(HOME_DIR) && cp dagster.yaml $(HOME_DIR)/dagster.yaml
	cd $(HOME_DIR) && \
	CHARGEN_INBOX=$(call absolute,$(or $(CHARGEN_INBOX),inbox)) \
	CHARGEN_STORAGE=$(call absolute,$(or $(CHARGEN_STORAGE),.chargen/storage)) \
	CHARGEN_EMULATOR_STATE=$(call absolute,$(or $(CHARGEN_EMULATOR_STATE),.chargen/emulator)) \
	$(if $(CHARGEN_PROMPT_TEMPLATE),CHARGEN_PROMPT_TEMPLATE=$(abspath $(CHARGEN_PROMPT_TEMPLATE))) \
	DAGSTER_HOME=$(HOME_DIR) PYTHONWARNINGS=ignore::FutureWarning \
		$(CURDIR)/$(BIN)/dagster dev -w $(CURDIR)/workspace.yaml -h 127.0.0.1 -p $(PORT)

## Streaming vs naive batch-output reading: peak RSS and throughput; a cast of 200 through the
## pipeline, then its catalog alone (README "Scale" has the 10,000-character commands).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.batch_output
	rm -rf .chargen/bench-cast
	$(BIN)/python -m benchmarks.pipeline_run --characters 200 --keep .chargen/bench-cast
	$(BIN)/python -m benchmarks.catalog .chargen/bench-cast

clean:
	rm -rf .chargen
