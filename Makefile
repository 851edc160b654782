# bnnkit: two commands do everything on a fresh Debian machine.
#   make demo   the shipped lenet_bin3 through convert, gen-firmware and the
#               emulated Cortex-M4 on the real test set, then the report
#   make test   the test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BNNKIT := $(VENV)/bin/bnnkit
APT_PACKAGES := dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi \
                qemu-system-arm qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt venv demo test bench clean help

help:
	@echo "make demo   - run the shipped lenet_bin3 end to end on the emulated Cortex-M4"
	@echo "make test   - run the tests"
	@echo "make bench  - the benchmarks (full test sets, host vs LCE, devices)"
	@echo "make setup  - only install what is missing (apt packages, $(VENV))"

setup: apt venv

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $@

demo: setup
	$(PY) -m bnnkit.demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build .pytest_cache
