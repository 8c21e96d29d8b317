#!/bin/bash
# Fixture runner (test double of actions/runner): run the listener until it stops.
#   ./run.sh [--jitconfig ENCODED]     (or ACTIONS_RUNNER_INPUT_JITCONFIG)
# Like the real one, each (re)start copies run-helper.sh.template to run-helper.sh and runs it;
# exit code 2 from the helper means "restart". SIGTERM/SIGINT are passed on (as SIGINT) to the
# helper's process group, so the listener goes offline and exits 0.

SOURCE="${BASH_SOURCE[0]}"
while [ -h "$SOURCE" ]; do
    DIR="$(cd -P "$(dirname "$SOURCE")" && pwd)"
    SOURCE="$(readlink "$SOURCE")"
    [[ $SOURCE != /* ]] && SOURCE="$DIR/$SOURCE"
done
DIR="$(cd -P "$(dirname "$SOURCE")" && pwd)"

# Job control: the helper gets its own process group, which the trap signals as a whole.
set -m
signaled=0
PID=""
_trap() {
    signaled=1
    if [ -n "$PID" ]; then
        kill -INT -"$PID" 2>/dev/null
    fi
}
trap _trap INT TERM

while :; do
    cp -f "$DIR"/run-helper.sh.template "$DIR"/run-helper.sh
    "$DIR"/run-helper.sh "$@" &
    PID=$!
    wait "$PID"
    returnCode=$?
    if [ "$signaled" -eq 1 ]; then
        # The trap interrupted wait: wait again for the helper's own exit code.
        wait "$PID"
        returnCode=$?
    fi
    if [ "$returnCode" -eq 2 ] && [ "$signaled" -eq 0 ]; then
        echo "Restarting runner..."
    else
        echo "Exiting runner..."
        trap - INT TERM
        exit "$returnCode"
    fi
done
