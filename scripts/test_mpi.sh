#!/usr/bin/env bash
# Runs the tests marked `mpi` under mpirun with several real ranks (3 and 4, oversubscribed on small
# machines). Every rank runs the same tests in the same order (they call collectives); rank 0 reports,
# the other ranks' output goes to a log that is shown when the run fails.
# Usage: scripts/test_mpi.sh "MPIRUN COMMAND" PYTHON
set -euo pipefail
MPIRUN=${1:-mpirun --oversubscribe --allow-run-as-root}
PY=${2:-.venv/bin/python}
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
status=0
for n in 3 4; do
    echo "== MPI tests on $n ranks"
    # shellcheck disable=SC2086,SC2016  # word-split MPIRUN; $vars expand in the ranks, not here
    if ! timeout 900 $MPIRUN -n "$n" bash -c '
        if [ "${OMPI_COMM_WORLD_RANK:-0}" = 0 ]; then exec "$0" -m pytest tests -m mpi -q -p no:cacheprovider --color=no
        else exec "$0" -m pytest tests -m mpi -q -p no:cacheprovider --color=no > "$1/rank$OMPI_COMM_WORLD_RANK.log" 2>&1; fi
    ' "$PY" "$logdir"; then
        status=1
        for f in "$logdir"/rank*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
    fi
done
exit $status
