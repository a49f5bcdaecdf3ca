# Fast targets for working on onetui; CI runs `make test` (= scripts/test.sh, the README's
# test command). Every target sets up .venv first if it is missing or out of date.
.PHONY: setup lint test-fast test demo bench lock clean

PY := .venv/bin/python

setup:
	bash scripts/setup.sh dev

lint: setup
	bash scripts/lint.sh

# No root, no test beds (no libvirtd/QEMU, SGE, nginx), nothing slow: under a minute.
test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not (qemu or sge or nginx or slow)"

# Everything, on real parts: what CI runs.
test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Re-pin the dev environment after changing pyproject.toml's dependencies.
lock: setup
	.venv/bin/pip freeze --exclude-editable | \
	  { printf '%s\n' "# Every package of the dev environment, pinned: scripts/setup.sh installs with this as a" \
	    "# constraints file. Remake it with \`make lock\` after changing pyproject.toml's dependencies."; cat; } \
	  > requirements/dev.lock

clean:
	rm -rf .venv .pytest_cache .ruff_cache .mypy_cache
