#!/bin/bash
# The fixture runner needs only bash, coreutils and python3: nothing to install.
user_id=$(id -u)
if [ "$user_id" -ne 0 ]; then
    echo "Need to run with sudo privilege"
    exit 1
fi
echo "The fixture runner (test double of actions/runner) has no dependencies to install."
exit 0
