# The two commands a fresh machine needs: `make demo` and `make test`.
# Each creates .venv on first use and installs what it needs from the project's own files.
PYTHON ?= python3
AGENT_PYTHONS ?= 3.9 3.13
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-agent-pythons venv clean

$(STAMP): setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[server,postgres,openstack,watch,yaql,test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m cli.demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The agent-side suites on the oldest and newest Python the agent supports (3.9 and 3.13 by
# default; AGENT_PYTHONS="3.10 3.12" for others), each in its own venv with no server extras.
test-agent-pythons:
	AGENT_PYTHONS="$(AGENT_PYTHONS)" PYTEST_ARGS="$(PYTEST_ARGS)" .ci/agent-pythons

clean:
	rm -rf $(VENV) .venv-agent-* build *.egg-info
