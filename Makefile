# One entry point for everything: each target builds .venv itself when missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/default.json
BOARD ?= emu

.PHONY: upy-tests run test golden lint bench bench-flash detect-bench fuzz clean venv typecheck build bench-memory \
	mcu bench-mcu

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(BIN)/python -c "" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@echo "Installing pinned dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	@$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

run: $(STAMP)
	$(BIN)/pumpctl run $(SCENARIO)

test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --dist worksteal

# Rewrite the golden event logs (tests/golden/*.events) after a change MEANT to alter them;
# refuses when CPython and the Unix port disagree. Review `git diff tests/golden` and say why.
golden: $(STAMP)
	$(BIN)/python tools/golden.py

lint: $(STAMP)
	$(BIN)/ruff check firmware host tests tools

bench: $(STAMP) bench-memory
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_flash.py

bench-flash: $(STAMP)
	$(BIN)/python tools/bench_flash.py

# long property runs as one campaign (tools/fuzz.py, docs/campaigns.md): shards by seed over
# a Dask cluster, their example databases merged into .hypothesis/; FUZZ_ARGS="--workers N",
# "--scheduler tcp://HOST:PORT", "--seed N" (new ground), "--scale 0.1"
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py $(FUZZ_ARGS)

# detection latency, missed insulin and false alarms on the plant model (docs/detection.md);
# DETECT_BENCH_ARGS=--quick for the small profile, "--workers N", "--scheduler tcp://HOST:PORT"
# (a campaign: docs/campaigns.md; results in build/detect-bench.csv, --tabulate reprints them)
detect-bench: $(STAMP)
	$(BIN)/python tools/detect_bench.py $(DETECT_BENCH_ARGS)

# glucose cost of line faults on the 30 virtual patients, clinical validation (docs/patients.md);
# 1 seed by default (about 15 CPU-min); the README's full run: PATIENT_BENCH_ARGS="--seeds 3";
# PATIENT_BENCH_ARGS="--patients adult#001,child#001" for a small run
patient-bench: $(STAMP)
	$(BIN)/python tools/patient_bench.py $(PATIENT_BENCH_ARGS)

# Smallest heap for the 72 h scenario and bytes allocated per scheduler step (Unix port).
bench-memory: $(STAMP)
	$(BIN)/python tools/bench_memory.py

# Board code and firmware/pump against each port's pinned MicroPython stubs (docs/boards.md).
typecheck: $(STAMP)
	$(BIN)/python tools/typecheck.py

# .mpy bundle for BOARD=rp2|esp32|stm32|emu in build/$(BOARD)/ with manifest.json.
build: $(STAMP)
	$(BIN)/python tools/build.py $(BOARD)

# The firmware on an emulated Cortex-M3 (MicroPython qemu port, MPS2_AN385), cached in build/mcu/;
# MCU_HEAP=64K for another heap. Needs gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm.
mcu: $(STAMP)
	$(BIN)/python tools/mcu.py $(if $(MCU_HEAP),--heap $(MCU_HEAP))

# Instructions per control tick on the emulated Cortex-M3 (QEMU icount) over the default day, and
# the smallest heap for the 72 h run; long (the board runs 50-200x real time).
# BENCH_MCU_ARGS=--no-heap-search for the instruction figures only.
bench-mcu: $(STAMP)
	$(BIN)/python tools/bench_mcu.py $(BENCH_MCU_ARGS)

clean:
	rm -rf $(VENV) build .hypothesis

# MicroPython's tests/basics (run-tests.py of the pinned source) through the vboard's serial
# port and directly on the Unix port: every test that passes directly must pass on the board.
# UPY_TESTS_ARGS=--mcu for the qemu board, --dir DIR for another directory.
upy-tests: $(STAMP)
	$(BIN)/python tools/upy_tests.py $(UPY_TESTS_ARGS)
