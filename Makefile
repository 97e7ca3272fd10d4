# One entry point for developers and CI. `make test` sets up a fresh Debian 12
# machine (apt + venv) and runs every test layer, cheapest first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
# Keep ansible's collection lookups inside the checkout: the collection is
# linked into .cache/collections/ansible_collections/securemail/gateway.
COLL_ROOT := $(CURDIR)/.cache/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
# The harness's own properties are checked by default's tests/test_harness.py.
SCENARIOS ?= $(shell ls -d molecule/*/ 2>/dev/null | xargs -r -n1 basename | grep -vE '^shared$$' | sort)

.PHONY: test setup host venv collection lint sanity unit integration packaging core-matrix checks-matrix tarball changelog molecule image demo bench reliability clean

test: setup lint unit integration packaging checks-matrix molecule
	$(PY) benchmarks/reliability_report

setup: host venv collection

host:
	bash scripts/setup-host.sh

$(VENV)/.stamp: requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

collection:
	mkdir -p $(COLL_ROOT)/ansible_collections/securemail
	ln -sfn $(CURDIR) $(COLL_ROOT)/ansible_collections/securemail/gateway

lint: venv collection
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

sanity: venv
	bash scripts/sanity.sh

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv host
	$(BIN)/pytest -q tests/integration

# The built tarball's file list, LICENSE, changelog release; execution-environment.yml.
packaging: venv
	$(BIN)/pytest -q tests/packaging

# Sanity and unit tests on ansible-core 2.16, 2.17 and 2.18 (2.19: sanity, unit).
core-matrix:
	bash scripts/core-matrix.sh

# What `make test` runs: sanity (as `make sanity`) beside the core matrix, as
# both spend most of a fresh clone's time in pip.
checks-matrix: venv
	CORE_LINES="dev 2.16 2.17 2.18" bash scripts/core-matrix.sh

# The collection as users get it: the built tarball installed into an empty
# path, which the default scenario runs from (its molecule.yml). Only that
# path is searched: otherwise the checkout's link counts as installed.
tarball: venv
	rm -rf .cache/tarball .cache/tarball-collections
	$(BIN)/ansible-galaxy collection build --output-path .cache/tarball
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/tarball-collections \
	  $(BIN)/ansible-galaxy collection install --offline -p .cache/tarball-collections .cache/tarball/*.tar.gz

# Adds new changelog fragments to the release galaxy.yml names (a new one after
# a version bump), re-reads edited ones (keep_fragments), writes CHANGELOG.rst.
changelog: venv
	$(BIN)/antsibull-changelog release --reload-plugins --refresh

# One image per Debian suite the scenarios run on (their molecule.yml names
# localhost/securemail-SUITE:latest): bookworm, and trixie for `trixie`.
IMAGE_SUITES = $(sort $(shell sed -n 's|^ *image: localhost/securemail-\([a-z]*\):.*|\1|p' \
	$(wildcard $(SCENARIOS:%=molecule/%/molecule.yml)) /dev/null))

image: host
	for suite in $(or $(IMAGE_SUITES),bookworm); do SUITE=$$suite bash scripts/build-image.sh; done

# Two lanes of about equal time, run side by side (scripts/molecule-lanes.sh).
# default and postfix_gateway share instance names, so they share a lane.
# SCENARIOS=... on the command line runs those one after another instead.
# Measured in lanes (clean-clone CI, 2026-12-06): reliability 1314 s,
# postfix_null_client 159, postfix_merge 148 | cluster 477, postgresql 178,
# quarantine_web 125, default 450, postfix_gateway 336, trixie 469: 1621 s
# against 2035 s, once MTA-STS (postfix_gateway) and freshclam (trixie) were
# added. postgresql (instances of its own) moves over: about 1800 s each.
# Then (clean clone of df01188): reliability 1444, null_client 126, merge 150,
# postgresql 221 = 1941 | cluster 539, quarantine_web 169, default 522,
# postfix_gateway 313, trixie 516 = 2059. The cluster's content filters and
# shared quarantine add about 100 s to cluster, so quarantine_web moves over.
# Measured (clean clone of b79cf2e, 2026-12-06): reliability 1315, null_client
# 151, merge 141, postgresql 181, quarantine_web 109 = 1897 | cluster 599,
# default 473, postfix_gateway 294, trixie 485 = 1851; whole CI 2285 s.
LANE_1 := reliability postfix_null_client postfix_merge postgresql quarantine_web
LANE_2 := cluster default postfix_gateway trixie
UNLANED := $(filter-out $(LANE_1) $(LANE_2),$(SCENARIOS))

molecule: venv collection image $(if $(filter default,$(SCENARIOS)),tarball)
ifeq ($(origin SCENARIOS),command line)
	MOLECULE=$(BIN)/molecule bash scripts/molecule-lanes.sh "$(SCENARIOS)"
else
	@[ -z "$(strip $(UNLANED))" ] || { echo "scenarios in no lane (Makefile LANE_*): $(UNLANED)"; exit 1; }
	MOLECULE=$(BIN)/molecule bash scripts/molecule-lanes.sh "$(LANE_1)" "$(LANE_2)"
endif

demo: setup image
	bash scripts/demo.sh

bench: venv host
	$(PY) benchmarks/postconf_batch

# Issue 6's figures: the reliability scenario alone, then its report.
reliability: venv collection image
	$(BIN)/molecule test -s reliability
	$(PY) benchmarks/reliability_report

clean:
	rm -rf .cache tests/output
