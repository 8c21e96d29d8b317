#!/bin/bash
# Sleep $1 seconds, with sleep(1) when there is one, else a busy wait.
if [ -x "$(command -v sleep)" ]; then
    sleep "$1"
    exit 0
fi
SECONDS=0
while [[ $SECONDS -lt $1 ]]; do
    :
done
