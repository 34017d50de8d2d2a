# shellcheck shell=bash
# Sourced by the batch scripts: `run_requeueable COMMAND [ARGS...]` runs a landcover command (or its srun /
# mpirun launcher) so that a stop signal makes it stop at a resume point and the job come back:
# - USR1 or TERM to the batch shell (#SBATCH --signal=B:USR1@SECONDS before the time limit; TERM on
#   preemption or scancel) is passed on to the command as USR1, which srun and mpirun forward to every rank;
#   the landcover command stops after its current batch (training) or window (prediction), writes its resume
#   record and exits with EXIT_REQUEUE;
# - on that exit code the job is requeued (scontrol requeue; the job needs #SBATCH --requeue), and also when
#   the signal came before the command could catch it (it died of it, status > 128): the rerun runs the same
#   command, which resumes (landcover-train --resume, landcover-predict's window record).
# Any other exit code is returned as it is.

# landcover_hpc.cli._common.EXIT_REQUEUE (99: stopped by a signal at a resume point; 75, another run owns the output, is not requeued)
EXIT_REQUEUE=99

_requeue_pid=""
_requeue_stop=""
_requeue_trapped=""

_requeue_forward() {
    _requeue_stop=1 _requeue_trapped=1
    if [ -n "$_requeue_pid" ]; then
        echo "stop signal: asking the job to stop at its next resume point"
        kill -USR1 "$_requeue_pid" 2>/dev/null || true
    fi
}

run_requeueable() {
    local code status=127
    trap _requeue_forward USR1 TERM
    "$@" &
    _requeue_pid=$!
    if [ -n "$_requeue_stop" ]; then _requeue_forward; fi  # a signal that came while it was starting
    # `wait` also returns (status > 128) when a trapped signal arrives: then wait again for the exit status
    # (127: the previous wait had returned it already)
    while :; do
        _requeue_trapped=""
        wait "$_requeue_pid" && code=0 || code=$?
        [ "$code" -eq 127 ] || status=$code
        if [ -z "$_requeue_trapped" ] || [ "$code" -eq 127 ]; then break; fi
    done
    trap - USR1 TERM
    if [ -n "${SLURM_JOB_ID:-}" ] && { [ "$status" -eq "$EXIT_REQUEUE" ] ||
                                       { [ -n "$_requeue_stop" ] && [ "$status" -gt 128 ]; }; }; then
        echo "stopped at a resume point (exit code $status): requeueing job $SLURM_JOB_ID"
        scontrol requeue "$SLURM_JOB_ID"
    fi
    return "$status"
}
