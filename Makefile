# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DATA_DIR := $(or $(DEBRIEF_DATA_DIR),instance)
# Links in mail point at the site as served, unless DEBRIEF_BASE_URL says otherwise.
export DEBRIEF_BASE_URL ?= http://$(HOST):$(PORT)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench chromium clean

# The virtualenv with the app installed (editable, so templates/ and entries/ stay in place).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test tools on top (pytest, hypothesis, aiosmtpd, Playwright, ruff).
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Buyers are told who asks: the demo speaks for "Harbourline" unless DEBRIEF_ORG_NAME says otherwise.
DEMO_ORG = DEBRIEF_ORG_NAME="$${DEBRIEF_ORG_NAME:-Harbourline}"

# Serve the site with demo data; a development secret is made once and kept in the data folder.
# MALLOC_ARENA_MAX=2: fewer glibc malloc arenas for the 8 threads (README, production recipe).
run: $(VENV)/.installed
	@mkdir -p $(DATA_DIR)
	@test -s $(DATA_DIR)/secret_key || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(DATA_DIR)/secret_key)
	@DEBRIEF_SECRET_KEY=$${DEBRIEF_SECRET_KEY:-$$(cat $(DATA_DIR)/secret_key)} DEBRIEF_DATA_DIR=$(DATA_DIR) $(DEMO_ORG) $(BIN)/debrief init
	@DEBRIEF_SECRET_KEY=$${DEBRIEF_SECRET_KEY:-$$(cat $(DATA_DIR)/secret_key)} DEBRIEF_DATA_DIR=$(DATA_DIR) $(DEMO_ORG) $(BIN)/debrief demo
	@echo "Serving Debrief on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	@MALLOC_ARENA_MAX=2 DEBRIEF_SECRET_KEY=$${DEBRIEF_SECRET_KEY:-$$(cat $(DATA_DIR)/secret_key)} DEBRIEF_DATA_DIR=$(DATA_DIR) $(DEMO_ORG) \
		$(BIN)/waitress-serve --host=$(HOST) --port=$(PORT) --threads=8 --call debrief:create_app

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
chromium:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "Chromium is missing: install Debian's 'chromium' package (as root) for the browser tests."; exit 1; fi; }

# axe-core for the accessibility checks in the browser tests, pinned by the lock file.
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --silent
	touch $@

test: $(VENV)/.installed-test chromium tests/browser/node_modules/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
