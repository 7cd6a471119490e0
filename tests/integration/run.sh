#!/usr/bin/env bash
# Runs every integration suite against one sluiced binary:
#   pytest (Debian's python3 with boto3 1.26 and the AWS CLI; AWS Query protocol), then
#   node's test runner (@aws-sdk/client-sqs v3; AWS JSON 1.0 protocol).
# Each suite starts its own servers (free ports, temporary data dirs).
# Usage: SLUICED=build/sluiced tests/integration/run.sh [extra pytest args]
# Environment: SLUICED (default build/sluiced), SLUICE_SANITIZED=1 for a sanitized build
# (timing slack x3), PYTEST_WORKERS (default 2 when pytest-xdist is installed).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export SLUICED=$(realpath -m "${SLUICED:-$root/build/sluiced}")
if [ ! -x "$SLUICED" ]; then
  echo "run.sh: no executable sluiced at $SLUICED (build it, or set SLUICED)" >&2
  exit 2
fi
py=/usr/bin/python3
rc=0

echo "== pytest (boto3, AWS CLI) against $SLUICED"
xdist=()
if "$py" -c 'import xdist' 2>/dev/null; then
  xdist=(-n "${PYTEST_WORKERS:-2}" --dist loadfile)
fi
(cd "$here" && "$py" -m pytest -q -p no:cacheprovider "${xdist[@]}" "$@")
prc=$?
# 5 = no tests collected: that is a failure here too.
[ $prc -eq 0 ] || rc=1

echo "== node --test (@aws-sdk v3 clients) against $SLUICED"
if [ ! -d "$here/node/node_modules/@aws-sdk/client-sqs" ]; then
  echo "run.sh: @aws-sdk/client-sqs is not installed: run 'scripts/install-deps.sh test' (npm ci in tests/integration/node)" >&2
  rc=1
else
  (cd "$root" && node --test --test-timeout=240000 tests/integration/node/)
  [ $? -eq 0 ] || rc=1
fi

exit $rc
