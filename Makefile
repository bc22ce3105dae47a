# make run   -- set up the environment (first time only) and run the whole experiment on the tiny preset
# make test  -- set up the environment (first time only) and run the test suite
# make bench -- benchmarks (print ratios; assert nothing about time)
# Extra arguments: make run ARGS="--preset small"   make test PYTEST_ARGS="-k monotone"

.PHONY: setup run test bench
PY = "$$(cat .envpython)"

setup:
	bash setup_conda_env.sh

run: setup
	$(PY) -m mono_s2s run $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
