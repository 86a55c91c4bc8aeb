# Digits: every entry point people use. The virtual environment is made on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

PRESET ?= default
RUNS_DIR ?= runs
RUN_DIR := $(RUNS_DIR)/$(PRESET)
CHECKPOINT ?= $(RUN_DIR)/best.pt
EXPORT_DIR ?= exported
ONNX ?= $(EXPORT_DIR)/model.onnx
ARGS ?=
NUMBER_ARGS ?=
DATA_DIR ?=  # a local MNIST folder for both trainers (or set $$MNIST_DIR)

.PHONY: help venv browser train train-digits train-numbers export export-digits export-numbers \
	evaluate evaluate-onnx plots test lint bench bench-train protos serve bench-serve bench-preprocess bench-real bench-colour bench-small bench-circled bench-batch demo bench-demo proxy clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

$(STAMP): pyproject.toml serving/_imagecore.c  # the C loops are built by the install
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install Digits with its dependencies

train: train-digits train-numbers  ## train the digit classifier, then the number reader

train-digits: $(STAMP)  ## train the classifier (PRESET=default|fast|smoke, ARGS="--resume ...")
	$(PY) -m training.train --preset $(PRESET) --runs-dir $(RUNS_DIR) \
		$(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(ARGS)

train-numbers: $(STAMP)  ## train the number reader (preset PRESET; ARGS' --resume/--restart, NUMBER_ARGS)
	$(PY) -m training.train_numbers --preset $(PRESET) --runs-dir $(RUNS_DIR) \
		$(filter --resume --restart,$(ARGS)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(NUMBER_ARGS)

export: export-digits export-numbers  ## export both models of PRESET to exported/, verified

export-digits: $(STAMP)  ## export the classifier's best checkpoint as verified ONNX
	$(PY) -m training.export --checkpoint $(CHECKPOINT) --out-dir $(EXPORT_DIR)

export-numbers: $(STAMP)  ## export the number reader's best checkpoint as verified ONNX
	$(PY) -m training.export_numbers --checkpoint $(RUNS_DIR)/numbers/$(PRESET)/best.pt \
		--out-dir $(EXPORT_DIR)

evaluate: $(STAMP)  ## test-set report for the checkpoint of PRESET
	$(PY) -m training.evaluate --checkpoint $(CHECKPOINT)

evaluate-onnx: $(STAMP)  ## the same report for the exported ONNX model
	$(PY) -m training.evaluate --onnx $(ONNX)

plots: $(STAMP)  ## PNG figures of the run of PRESET, and hard cases of the exported model, into plots/
	$(PY) -m training.plots --run-dir $(RUN_DIR) --out-dir plots
	$(PY) -m benchmarks.gallery --model $(ONNX) --out plots/hard_cases.png

browser:  ## Debian's Chromium for the browser tests (installed with apt-get when run as root)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq chromium; } || { echo "the browser tests need Debian's chromium:" \
		"sudo apt-get install chromium" >&2; exit 1; }

test: $(STAMP) browser  ## the whole test suite
	$(PY) -m pytest -q

proxy:  ## Debian's haproxy, bench-serve's L7 proxy in front of two replicas (apt-get as root)
	@command -v haproxy >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq haproxy; } || { echo "bench-serve needs Debian's haproxy:" \
		"sudo apt-get install haproxy" >&2; exit 1; }

lint: $(STAMP)  ## ruff over the code
	$(PY) -m ruff check .

bench: bench-train bench-serve bench-preprocess bench-real bench-colour bench-small bench-circled bench-batch bench-demo  ## every benchmark

bench-train: $(STAMP)  ## time to 99 % test accuracy: fast preset vs the classic PyTorch example
	$(PY) -m benchmarks.bench_train

protos: $(STAMP)  ## regenerate the gRPC/protobuf stubs in serving/generated/
	$(PY) -m serving.protogen

serve: $(STAMP)  ## run the gRPC service on port 50051 with the exported model
	$(PY) -m serving $(ARGS)

bench-serve: $(STAMP) proxy  ## service latency/throughput; one vs two replicas (ARGS=--replicas-only)
	$(PY) -m benchmarks.bench_serve $(ARGS)

bench-preprocess: $(STAMP)  ## accuracy on realistic photos/drawings made from MNIST test digits
	$(PY) -m benchmarks.bench_preprocess $(ARGS)

bench-real: $(STAMP)  ## real paper per kind, numbers, non-digits, outside checks: Digits vs first version
	$(PY) -m benchmarks.bench_real $(ARGS)

bench-colour: $(STAMP)  ## digits in ink as bright as the paper: Digits vs brightness only
	$(PY) -m benchmarks.colour_ink $(ARGS)

bench-small: $(STAMP)  ## digits small in large photos, by size: Digits vs one look
	$(PY) -m benchmarks.small_digits $(ARGS)

bench-circled: $(STAMP)  ## digits with a ring drawn around them: Digits vs no rings
	$(PY) -m benchmarks.circled_digits $(ARGS)

bench-batch: $(STAMP)  ## offline batch jobs, 20k and 200k images: plain loop, local engine, Ray engine
	$(PY) -m benchmarks.bench_batch $(ARGS)

demo: $(STAMP)  ## browser demo on http://127.0.0.1:8000 (starts the service unless one answers)
	$(PY) -m demo $(ARGS)

bench-demo: $(STAMP)  ## browser demo: stroke end → prediction shown latency (needs chromium)
	$(PY) -m benchmarks.bench_demo $(ARGS)

clean:  ## remove runs, plots and caches (keeps .venv, data/ and exported/)
	rm -rf $(RUNS_DIR) plots .pytest_cache .ruff_cache
