# The course's two commands: `make book` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.sha256

.PHONY: book book-instructor test venv lint clean

## book: create/update .venv, regenerate every derived file, build the book into _build/html
##       (works offline: MathJax is vendored from vendor/, npm; no page needs a widget manager)
book: venv
	$(BIN)/python -m autograder book

## book-instructor: the same book with every solution and hidden test (collapsed) in _build/instructor
book-instructor: venv
	$(BIN)/python -m autograder book --instructor

## test: the same set-up, then the whole test suite (browser tests need /usr/bin/chromium), in
##       TEST_WORKERS processes (pytest-xdist; tests that build the book share one of them)
TEST_WORKERS ?= 2
test: book
	@[ -x /usr/bin/chromium ] || echo "*** SKIPPED: the browser tests of the book need Chromium at /usr/bin/chromium" \
	  "(apt-get install chromium); with CI=true they fail instead ***"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

## venv: create .venv if missing and install requirements.txt (skipped when unchanged)
venv:
	@want=$$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16); \
	if [ -x $(BIN)/python ] && [ "$$(cat $(STAMP) 2>/dev/null)" = "$$want" ]; then \
	  echo "venv: reusing $(VENV) (requirements.txt and pyproject.toml unchanged)"; \
	else \
	  echo "venv: installing requirements.txt into $(VENV) (first run: a few minutes)"; \
	  { [ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); } && \
	  $(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt && \
	  $(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e . && \
	  echo "$$want" > $(STAMP) || exit 1; \
	fi

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf _build book
