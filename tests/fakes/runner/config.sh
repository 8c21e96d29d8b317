#!/bin/bash
# Fixture runner (test double of actions/runner): configure or remove the runner.
#   ./config.sh --url URL --token T [--name N] [--labels a,b] [--runnergroup G] [--work _work]
#               [--unattended] [--replace] [--ephemeral] [--disableupdate]
#   ./config.sh remove --token T | --local
# Options may come from ACTIONS_RUNNER_INPUT_<NAME> variables instead (the command line wins).

user_id=$(id -u)

# Like the real one: root only when explicitly allowed (the environment is snapshotted below).
if [ "$user_id" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
    echo "Must not run with sudo"
    exit 1
fi

# Work from the runner root, wherever we are called from (symlinks resolved).
SOURCE="${BASH_SOURCE[0]}"
while [ -h "$SOURCE" ]; do
    DIR="$(cd -P "$(dirname "$SOURCE")" && pwd)"
    SOURCE="$(readlink "$SOURCE")"
    [[ $SOURCE != /* ]] && SOURCE="$DIR/$SOURCE"
done
DIR="$(cd -P "$(dirname "$SOURCE")" && pwd)"
cd "$DIR" || exit 1

# shellcheck source=env.sh
source ./env.sh

shopt -s nocasematch
if [[ "$1" == "remove" ]]; then
    ./bin/Runner.Listener "$@"
else
    ./bin/Runner.Listener configure "$@"
fi
