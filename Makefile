# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test emulator bench clean

# requirements-dev.txt includes requirements.txt: one virtualenv runs the site and its tests.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m glmweb.launcher

test: install
	@test -x /usr/bin/chromium || { echo "The browser tests need Debian's Chromium: apt-get install chromium"; exit 1; }
	$(BIN)/python -m pytest $(PYTEST_ARGS)

emulator: install
	$(BIN)/python -m glm.emulator --host 127.0.0.1 --port 8765

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
