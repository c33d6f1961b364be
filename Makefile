# Two commands on a fresh clone: `make demo` and `make test`. Each creates .venv and installs what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.koe-installed

.PHONY: demo test lint typecheck unit bench install browser clean

$(STAMP): pyproject.toml
	@echo "==> 仮想環境を準備しています ($(VENV))…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> 依存パッケージを入れています（初回は1〜2分かかります）…"
	@$(BIN)/python -m pip install --progress-bar on -e '.[dev]' | grep -v '^Requirement already satisfied' || true
	@$(BIN)/python -c "import koe, fastapi, rq, linebot" || { echo "インストールに失敗しました。上のエラーを確認してください。"; exit 1; }
	@$(BIN)/koe triage vectors || echo "（単語ベクトルなしで続けます。あとで 'koe triage vectors' で取得できます）"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/koe demo

lint: $(STAMP)
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: $(STAMP)
	@echo "==> mypy"
	@$(BIN)/mypy .

browser:
	@scripts/install-browser

unit: $(STAMP) browser
	@echo "==> pytest"
	@$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	@$(BIN)/python benchmarks/webhook.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
