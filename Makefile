# Two commands from a fresh clone:  make book   and   make test
# Only python3 (>= 3.10) and make are assumed; everything else goes into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: help setup sync lint book book-strict test test-fast test-unit test-notebooks test-browser bench weights assignments teacher sandbox grade clean

help:
	@echo "make book          build the HTML book (quick profile) -> _build/html/index.html"
	@echo "make test          lint, unit tests + every notebook under nbval (quick profile); not the browser tests"
	@echo "make test-fast     the unit tests to run on every change (not slow, course, browser or gpu): < 2 min"
	@echo "make sync          pair every notebook with its MyST text twin (the newer side wins)"
	@echo "make lint          ruff (lint + format check) and the layering contract (import-linter)"
	@echo "make test-browser  open every page of the built book in headless Chromium"
	@echo "make assignments   sealed masters (course secret) -> student notebooks in book/assignments (otter assign)"
	@echo "make teacher       the same, with solutions and rubrics in _build/teacher/ (never in the book)"
	@echo "make sandbox       install Debian's bubblewrap (when missing) and check that submissions can be sandboxed"
	@echo "make grade ASSIGNMENT=a3_cmc_ablation SUBMISSIONS=dir   grade a class in sandboxes -> dir-graded/"
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

# The test tiers are pytest marks (pyproject.toml): slow, course, browser, gpu. `make test` runs all but the
# browser tests, which need the built book (`make test-browser`, after `make book-strict`).
test: $(STAMP) lint
	@echo ">>> test: unit tests and every notebook under nbval (REIDLIB_PROFILE=quick, $(JOBS) workers)"
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests book --ignore=book/assignments \
		-m "not browser" --nbval-lax --nbval-cell-timeout=600 -n $(JOBS) --dist loadscope -p no:cacheprovider

# What a contributor runs on every change: the unit tests that take well under a second each.
test-fast: $(STAMP)
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -m "not slow and not course and not browser and not gpu" \
		-n $(JOBS) -q -p no:cacheprovider

test-unit: $(STAMP)
	REIDLIB_PROFILE=quick $(BIN)/python -m pytest tests -m "not browser" -n $(JOBS) -p no:cacheprovider

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
	REIDLIB_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -m browser -q -p no:cacheprovider

# The course: the masters are sealed in course/sealed/ and opened with the course secret
# ($$REIDLIB_COURSE_SECRET_FILE, else ../shared/course-secret.txt). `otter assign` makes the student
# notebooks in book/assignments/ (committed: the book and its Colab links show them) and the teacher's
# material in _build/teacher/ (masters in clear, solution notebooks, rubrics), never under _build/html.
assignments: $(STAMP)
	$(BIN)/python tools/course.py build

teacher: assignments

# Every submission runs in a bubblewrap sandbox (tools/grading/sandbox.py): Debian's bubblewrap is
# installed here when missing (as test-browser installs chromium), then the sandbox is tried.
sandbox: $(STAMP)
	@if ! command -v bwrap >/dev/null && command -v apt-get >/dev/null; then \
		echo ">>> sandbox: installing Debian's bubblewrap"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends bubblewrap; \
	fi
	$(BIN)/python tools/course.py sandbox

# Grade a class: the assignment is named, never guessed. GRADE_FLAGS adds options (--manual FILE, --out DIR,
# --cell-s 60 ...; --no-sandbox only for code you trust: see README).
ASSIGNMENT ?=
SUBMISSIONS ?=
GRADE_FLAGS ?=
grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade ASSIGNMENT=a3_cmc_ablation SUBMISSIONS=folder (one notebook or folder per student)"; exit 1; }
	@command -v bwrap >/dev/null || case "$(GRADE_FLAGS)" in *--no-sandbox*) ;; *) $(MAKE) --no-print-directory sandbox;; esac
	$(BIN)/python tools/course.py grade $(ASSIGNMENT) $(SUBMISSIONS) --jobs $(JOBS) $(GRADE_FLAGS)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo ">>> bench: $$b"; $(BIN)/python $$b || exit 1; done

# Train the shipped models (paper's "combined", "mean", "rnn_attention") on synthetic data -> reidlib/weights/.
# Runs resume from runs/weights/ when interrupted; delete that folder to train afresh.
weights: $(STAMP)
	@echo ">>> weights: training the shipped models (see reidlib/experiments/shipped.py for the recipe)"
	$(BIN)/python -m reidlib weights --work runs/weights

clean:
	rm -rf $(VENV) _build .pytest_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
