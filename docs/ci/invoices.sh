#!/usr/bin/env bash
# The monthly billing run: issue every invoice billed on or before today, commit and push them,
# e-mail every invoice not sent yet, commit and push the `sent:` records.
#
# Called by invoices.yml (copied to .github/cpq/invoices.sh) and run verbatim by
# tests/test_ci_recipes.py. Run at the root of the data repository, on the branch to commit
# to, with a git identity in the environment (GIT_AUTHOR_NAME, GIT_COMMITTER_NAME, …) and the
# SMTP password in the variable cpq.toml's [smtp] password_env names.
#
#   CPQ_AS_OF             the date to run on (default: today); invoices through it are issued
#   GITHUB_STEP_SUMMARY   the job summary file (set by GitHub); the invoice table is appended to it
set -euo pipefail

day="${CPQ_AS_OF:-$(date +%F)}"
export CPQ_AS_OF="$day"   # one date for every command below, even across midnight

commit_invoices() {   # commit and push invoices/ if it changed: $1 is the commit message
  if [ -n "$(git status --porcelain -- invoices/)" ]; then
    git add -- invoices/
    git commit -q -m "$1"
    git push -q origin HEAD
  fi
}

# 1. Periods are invoiced in advance on their first day, so `--through` is the run date itself
#    (the default: --as-of): run on the 1st, it issues this month's invoices. Idempotent: what
#    invoices/ already holds is never issued again.
cpqctl invoice run --format md | tee -a "${GITHUB_STEP_SUMMARY:-/dev/null}"

# 2. Pushed before any e-mail leaves: if the push is refused (someone pushed meanwhile), the
#    job stops here, nothing was sent, and the next run numbers the invoices again.
commit_invoices "Invoices through $day"

# 3. KSeF (docs/einvoicing.md): submit every invoice due through KSeF that has no KSeF number yet
#    (needs [ksef] in cpq.toml and its token in the environment variable it names); `invoice send`
#    refuses such an invoice before it is in KSeF. The KSeF numbers are committed at once.
if grep -q '^\[ksef\]' cpq.toml; then
  cpqctl invoice submit --unsent || { commit_invoices "KSeF numbers on $day"; exit 1; }
  commit_invoices "KSeF numbers on $day"
fi

# 4. Send every issued invoice without a `sent:` record. The records of what did go out are
#    committed even if sending stops half-way, so a rerun never sends an invoice twice.
#    CPQ_SEND_SINCE (a date, optional): only invoices dated from then on, for a repository whose
#    older invoices went out another way before this job existed.
status=0
cpqctl invoice send --unsent ${CPQ_SEND_SINCE:+--since "$CPQ_SEND_SINCE"} || status=$?
commit_invoices "Invoices sent on $day"
exit "$status"
