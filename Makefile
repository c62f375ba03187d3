# perfkit developer tasks. `make test` on a fresh clone sets everything up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
FUZZTIME ?= 10s
TEST_WORKERS ?= 2

VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.perfkit-installed

# Go's official tarball installs to /usr/local/go/bin, often not on PATH in
# non-interactive shells.
GO_DIR := /usr/local/go/bin
ifneq ($(wildcard $(GO_DIR)/go),)
export PATH := $(GO_DIR):$(PATH)
endif

# Fast inner loop: lint and the tests marked neither slow nor oracle (no notebooks, long fuzzing or Go-tool oracles).
check: setup
	$(VENV_PY) -m ruff check lib tests bench wordgame/wordgame_lab
	$(VENV_PY) -m pytest -q -m 'not slow and not oracle' -n 2 -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: check setup test report bench clean distclean wordgame tools lab

setup: $(STAMP)
	@bash scripts/check-tools.sh
	@if [ -f wordgame/go.mod ]; then \
		bash scripts/make-dictionary.sh bin/words.txt; \
		echo "building bin/wordgame"; \
		cd wordgame && go build -o ../bin/wordgame ./cmd/wordgame; \
	fi
	@if [ -f lab/tls/go.mod ]; then \
		echo "building bin/tlsserver bin/hostsim"; \
		cd lab/tls && go build -o ../../bin/ ./cmd/tlsserver ./cmd/hostsim; \
	fi
	@if [ ! -f tools/slides/node_modules/reveal.js/dist/reveal.js ]; then \
		echo "installing reveal.js (tools/slides) for the slide decks"; \
		cd tools/slides && npm ci --no-audit --no-fund --loglevel=error; \
	fi

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml wordgame/pyproject.toml lab/tls/pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e '.[dev,lab,slides]' -e ./wordgame -e ./lab/tls
	touch $@

tools:
	@bash scripts/check-tools.sh

test: setup
	@if [ -f wordgame/go.mod ]; then \
		cd wordgame && go vet ./... && go test -race -count=1 ./... && \
		go test -run='^$$' -fuzz=FuzzGuessHandler -fuzztime=$(FUZZTIME) ./internal/server; \
	fi
	@if [ -f lab/tls/go.mod ]; then \
		cd lab/tls && go vet ./... && go test -race -count=1 ./...; \
	fi
	@# two parts: everything else on $(TEST_WORKERS) workers (one test file per worker), then the tests marked
	@# serial (they measure CPU, rates or latency) alone; both always run, and either failing fails the target
	@rc=0; \
	$(VENV_PY) -m pytest -q -ra -m 'not serial' -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || rc=$$?; \
	[ $$rc -eq 5 ] && rc=0; \
	echo "== serial tests"; \
	$(VENV_PY) -m pytest -q -ra -m serial $(PYTEST_ARGS) || { r=$$?; [ $$r -eq 5 ] || rc=$$r; }; \
	exit $$rc

# JupyterLab on 127.0.0.1 with notebooks/ open and this .venv as the "perfkit (.venv)" kernel; prints the URL.
LAB_PORT ?=
lab: setup
	$(VENV_PY) -m ipykernel install --sys-prefix --name perfkit --display-name "perfkit (.venv)" >/dev/null
	@port="$(LAB_PORT)"; [ -n "$$port" ] || port=$$($(VENV_PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	token=$$($(VENV_PY) -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "JupyterLab: http://127.0.0.1:$$port/lab?token=$$token"; \
	exec $(VENV)/bin/jupyter lab --no-browser --ip 127.0.0.1 --port "$$port" --ServerApp.port_retries=0 --allow-root \
		--ServerApp.root_dir=notebooks --IdentityProvider.token="$$token" \
		--MultiKernelManager.default_kernel_name=perfkit

report: setup
	$(VENV_PY) -m perfkit.report --config notebooks/reports.toml

bench: setup
	$(VENV_PY) bench/run_all.py

clean:
	rm -rf reports/ build/ dist/ bin/ .pytest_cache/ .hypothesis/
	find . -path ./$(VENV) -prune -o \( -name '*.egg-info' -o -name __pycache__ \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)

wordgame:
	@bash scripts/make-dictionary.sh bin/words.txt
	@cd wordgame && go build -o ../bin/wordgame ./cmd/wordgame
	exec bin/wordgame -addr 127.0.0.1 -dict bin/words.txt
