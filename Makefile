# Two commands do all the set-up on a fresh machine:
#   make run    the portal on its embedded default (SQLite, sandbox LBaaS, broker in a folder);
#               ADDRESS=0.0.0.0:8080 serves elsewhere, and it prints where to sign in and what to try
#   make test   lint, dependency contracts and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ADDRESS ?= 127.0.0.1:8000

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint migrate seed system-packages octavia-env clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

migrate: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py runportal $(ADDRESS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium with Playwright (no browser download); the
# HAProxy adapter's tests run Debian's haproxy.
system-packages:
	@missing=""; test -x $(CHROMIUM) || missing="chromium"; test -x /usr/sbin/haproxy || command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from Debian's packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The octavia adapter's tests run the real OpenStack Octavia API and worker, from a virtual
# environment of its own (pinned in tests/octavia/requirements.txt, installed once into
# ~/.cache/lb-portal and found there by later runs).
octavia-env: $(INSTALLED)
	$(BIN)/python tests/octavia/env.py install

test: lint system-packages octavia-env
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
