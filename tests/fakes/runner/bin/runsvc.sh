#!/bin/bash
# ExecStart of the runner's systemd unit (svc.sh install copies it to the runner root).
# Runs ./run.sh from the runner root with the PATH saved at configuration and env.sh sourced;
# SIGTERM/SIGINT are passed on to run.sh (as SIGTERM: a background job ignores SIGINT).

if [ -f ".path" ]; then
    PATH=$(cat .path)
    export PATH
    echo ".path=${PATH}"
fi

# shellcheck source=../env.sh
source ./env.sh

trap 'kill -TERM $PID' TERM INT

./run.sh "$@" &
PID=$!
wait $PID
trap - TERM INT
wait $PID
