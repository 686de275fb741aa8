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

.PHONY: setup run test lint bench bench-large bench-relevance chromium clean messages messages-init messages-compile

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

# The development data folder, as `make run` serves it: a secret made once and the organisation's
# name ("Harbourline" unless DEBRIEF_ORG_NAME says otherwise) kept in it, where debrief/config.py
# reads them when the variables are unset (so `.venv/bin/debrief ...` works in a shell as written);
# then the store, the search index and the demo data.
setup: $(VENV)/.installed messages-compile
	@mkdir -p $(DATA_DIR)
	@test -s $(DATA_DIR)/secret_key || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(DATA_DIR)/secret_key)
	@printf '%s\n' "$${DEBRIEF_ORG_NAME:-Harbourline}" > $(DATA_DIR)/org_name
	@DEBRIEF_DATA_DIR=$(DATA_DIR) $(BIN)/debrief init
	@DEBRIEF_DATA_DIR=$(DATA_DIR) $(BIN)/debrief demo

# The buyer's languages: gettext catalogs in debrief/translations/<lang>/LC_MESSAGES. The .po
# files are the source (kept in git); the .mo files the app reads are built from them here, by
# `make run` and `make test`, so a fresh clone needs no extra step. pybabel comes with Babel.
TRANSLATIONS := debrief/translations
CATALOGS := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -l $* -i $< -o $@

messages-compile: $(CATALOGS)

# After marking or changing a buyer's string: extract the template and merge it into each
# catalog; then translate the new or changed (fuzzy) entries (tests/test_i18n.py checks).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k N_ --no-location --sort-output \
		--add-comments=Translators: --project=Debrief --version=0.1.0 --copyright-holder=Debrief \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap --ignore-obsolete

# A new language: make messages-init LOCALE=it (then translate debrief/translations/it/...).
messages-init: $(VENV)/.installed
	$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(LOCALE) --no-wrap

# Serve the site with demo data.
# MALLOC_ARENA_MAX=2: fewer glibc malloc arenas for the 8 threads (README, production recipe).
run: setup
	@echo "Serving Debrief on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	@MALLOC_ARENA_MAX=2 DEBRIEF_DATA_DIR=$(DATA_DIR) \
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

# One worker per core (pytest-xdist), at most four: the load and fault tests start servers of
# their own, and more workers than cores only slows them. Plain `pytest` runs in one process.
test: $(VENV)/.installed-test messages-compile chromium tests/browser/node_modules/.installed
	$(BIN)/python -m pytest -q --numprocesses=auto --maxprocesses=4

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# SPEC 4's 250,000-entry row (a 500-rep team over five years): the first build takes about 20 min.
bench-large: $(VENV)/.installed-test
	$(BIN)/python -m bench --sizes 250000 --only rebuild,search,dashboard,startup,throughput

# Search relevance (issue 15): top-3 hit rate and mean reciprocal rank per kind of query.
bench-relevance: $(VENV)/.installed-test
	$(BIN)/python -m bench.relevance

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
