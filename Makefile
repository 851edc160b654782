# bnnkit: two commands do everything on a fresh Debian machine.
#   make demo   the shipped lenet_bin3 through convert, gen-firmware and the
#               emulated Cortex-M4 on the real test set, then the report
#   make test   the test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BNNKIT := $(VENV)/bin/bnnkit
APT_PACKAGES := dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi \
                qemu-system-arm qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross clang \
                cppcheck gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc \
                chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt venv demo test bench fuzz docs clean help

help:
	@echo "make demo   - run the shipped lenet_bin3 end to end on the emulated Cortex-M4"
	@echo "make test   - run the tests"
	@echo "make bench  - the benchmarks (full test sets, host vs LCE, devices)"
	@echo "make fuzz   - 5,000 mutated models and sidecars through gen-firmware (FUZZ_CASES=N)"
	@echo "make docs   - regenerate docs/cli.md and docs/ops.md from --help and the op modules"
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

# larq-zoo (public binary architectures for tests and benchmarks) pins versions of
# its dependencies that conflict with TensorFlow 2.16's, and imports
# tensorflow_datasets at import time for its training recipes: these install
# without their own dependencies, at versions checked to import together.
ZOO_PACKAGES := larq-zoo==2.4.0 zookeeper==1.4.0 typeguard==4.6.0 tensorflow-datasets==4.9.10 \
                etils==1.15.0 promise==2.3 tensorflow-metadata==1.15.0 immutabledict==4.3.1 \
                toml==0.10.2

$(VENV)/.installed: pyproject.toml Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	$(VENV)/bin/pip install -q --no-deps $(ZOO_PACKAGES)
	@touch $@

demo: setup
	$(PY) -m bnnkit.demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

FUZZ_CASES ?= 5000
fuzz: setup
	$(PY) tests/fuzz.py --cases $(FUZZ_CASES)

docs: venv
	$(PY) -m bnnkit.docgen docs

clean:
	rm -rf build .pytest_cache
