# Two commands from a fresh clone:  make book   and   make test
# Only python3 (>= 3.10) and make are assumed; everything else goes into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: help setup sync lint book book-strict test test-unit test-notebooks test-browser bench weights assignments teacher grade clean

help:
	@echo "make book          build the HTML book (quick profile) -> _build/html/index.html"
	@echo "make test          lint, unit tests + every notebook under nbval (quick profile)"
	@echo "make sync          pair every notebook with its MyST text twin (the newer side wins)"
	@echo "make lint          ruff (lint + format check) and the layering contract (import-linter)"
	@echo "make test-browser  open every page of the built book in headless Chromium"
	@echo "make assignments   course/ masters -> student notebooks in book/assignments + autograders (otter)"
	@echo "make teacher       autograder zips, solutions and rubrics -> _build/teacher/ (not in the book)"
	@echo "make grade SUBMISSIONS=dir   grade a folder of submissions -> dir/grades.csv"
	@echo "make bench         run the benchmarks in benchmarks/"
	@echo "make weights       train the shipped models into reidlib/weights/"
	@echo "make clean         remove .venv, _build and caches"

# Setup is idempotent: it reinstalls only when pyproject.toml or constraints.txt change.
setup: $(STAMP)
$(STAMP): pyproject.toml constraints.txt
	@echo ">>> setup: creating $(VENV) and installing reidlib with the pinned versions in constraints.txt"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed, found " + sys.version'
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[book,test,dev,course]"
	@touch $(STAMP)
	@echo ">>> setup: done ($$(du -sh $(VENV) | cut -f1) in $(VENV))"

# The book's kernels must not inherit MPLBACKEND=Agg: with it, plt.show() puts no figure in the page.
# --all rewrites every page (cheap: execution stays cached), so no page keeps an old sidebar
# after _toc.yml changes.
# The execution time of every notebook is printed after the build, also when it failed.
book: $(STAMP)
	@echo ">>> book: executing every notebook (REIDLIB_PROFILE=quick, cached) and building the HTML $(JB_FLAGS)"
	REIDLIB_PROFILE=quick env -u MPLBACKEND $(BIN)/jupyter-book build . --all $(JB_FLAGS) --keep-going; \
		status=$$?; $(BIN)/python tools/book_times.py; exit $$status
	@echo ">>> book: open $(CURDIR)/_build/html/index.html"

# The CI build: the same build with warnings as errors and references checked (nitpicky).
book-strict:
	@$(MAKE) --no-print-directory book JB_FLAGS="-W -n"

# The chapters are edited as MyST text (book/**/*.md) or as notebooks; this makes both agree and
# rewrites the Colab link and setup cell of each from _config.yml.
sync: $(STAMP)
	$(BIN)/python tools/nbtools.py sync

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: $(STAMP) lint
	@echo ">>> test: unit tests and every notebook under nbval (REIDLIB_PROFILE=quick, $(JOBS) workers)"
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests book --ignore=book/assignments \
		--nbval-lax --nbval-cell-timeout=600 -n $(JOBS) --dist loadscope -p no:cacheprovider

test-unit: $(STAMP)
	REIDLIB_PROFILE=quick $(BIN)/python -m pytest tests -n $(JOBS) -p no:cacheprovider

test-notebooks: $(STAMP)
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest book --ignore=book/assignments --nbval-lax \
		--nbval-cell-timeout=600 -n $(JOBS) --dist loadscope -p no:cacheprovider

# Every page of the built book, opened offline in headless Chromium (Debian's chromium and
# chromium-driver, installed here when missing), then the checker's own tests on a fixture book.
test-browser: $(STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo ">>> test-browser: installing Debian's chromium and chromium-driver"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi
	@test -f _build/html/index.html || { echo "test-browser: no book in _build/html; run make book-strict first"; exit 1; }
	$(BIN)/python tools/browser_check.py _build/html --screenshots _build/screenshots
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests/test_browser.py tests/test_links.py \
		tests/test_colab.py "tests/test_course.py::test_no_solution_in_the_built_book" -q -p no:cacheprovider

# The course (otter-grader): masters in course/ -> student notebooks in book/assignments/ (committed:
# the book and its Colab links show them) and the teacher's material in _build/teacher/ (autograder
# zips, solution notebooks, rubrics), never under _build/html. Student notebooks are graded by
# otter's local runner, in parallel, in the quick profile: one CSV row per student.
assignments: $(STAMP)
	$(BIN)/python tools/course.py build

teacher: assignments

SUBMISSIONS ?=
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder (one notebook or folder per student)"; exit 1; }
	@test -d _build/teacher || $(MAKE) --no-print-directory teacher
	$(BIN)/python tools/course.py grade $(SUBMISSIONS) --jobs $(JOBS)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo ">>> bench: $$b"; $(BIN)/python $$b || exit 1; done

# Train the shipped models (paper's "combined", "mean", "rnn_attention") on synthetic data -> reidlib/weights/.
# Runs resume from runs/weights/ when interrupted; delete that folder to train afresh.
weights: $(STAMP)
	@echo ">>> weights: training the shipped models (see reidlib/training/shipped.py for the recipe)"
	$(BIN)/python -m reidlib weights --work runs/weights

clean:
	rm -rf $(VENV) _build .pytest_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
