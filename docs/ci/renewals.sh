#!/usr/bin/env bash
# Scheduled renewal quotes: create (or regenerate) the draft renewal quote of every contract
# ending within cpq.toml's [renewal] notice_days, commit quotes/ and push.
#
# Called by renewals.yml (copied to .github/cpq/renewals.sh) and run verbatim by
# tests/test_ci_recipes.py. Run at the root of the data repository, on the branch to commit
# to, with a git identity in the environment (GIT_AUTHOR_NAME, GIT_COMMITTER_NAME, …).
#
#   CPQ_AS_OF             the date to run on (default: today)
#   GITHUB_STEP_SUMMARY   the job summary file (set by GitHub); the table is appended to it
set -euo pipefail

day="${CPQ_AS_OF:-$(date +%F)}"
export CPQ_AS_OF="$day"   # one date for every command below

# Idempotent: a contract whose draft is up to date is "unchanged", an accepted renewal is
# skipped, a draft edited by hand is left alone (the message names it).
cpqctl renew --due --format md | tee -a "${GITHUB_STEP_SUMMARY:-/dev/null}"

if [ -z "$(git status --porcelain -- quotes/)" ]; then
  echo "cpq: no renewal quote to create or regenerate as of $day"
  exit 0
fi
git add -- quotes/
git commit -q -m "Renewal quotes due as of $day" -m "cpqctl renew --due --as-of $day"
git push -q origin HEAD
echo "cpq: committed and pushed $(git show --name-only --format= HEAD | wc -l) renewal quote file(s)"
