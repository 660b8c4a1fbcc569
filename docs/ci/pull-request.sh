#!/usr/bin/env bash
# cpqctl on a pull request: validate the data, then say what the change does.
#
# Called by pull-request.yml (copied to .github/cpq/pull-request.sh) and run verbatim by
# tests/test_ci_recipes.py. Run at the root of the data repository, after a checkout with
# the base branch fetched (fetch-depth: 0).
#
#   GITHUB_BASE_REF       the pull request's target branch (set by GitHub); compared as origin/<it>
#   GITHUB_STEP_SUMMARY   the job summary file (set by GitHub); the diff is appended to it
#   RUNNER_TEMP           where cpq-diff.md is written for the comment step (default: .)
#   CPQ_AS_OF             the date ARR is measured on (default: today)
set -euo pipefail

base="origin/${GITHUB_BASE_REF:?the target branch of the pull request (GitHub sets it on pull_request events)}"
out="${RUNNER_TEMP:-.}/cpq-diff.md"
rm -f "$out"

# 1. Every finding becomes an `::error file=…,line=…,col=…::` annotation on the changed line;
#    exit 1 on errors (warnings exit 0), which fails the job here (set -e).
cpqctl check --format github

# 2. Contracts and quotes changed, ARR per account, contract value, invoices: base vs. the
#    pull request's merge commit.
cpqctl diff "$base" HEAD --format md > "$out"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out" >> "$GITHUB_STEP_SUMMARY"
fi
