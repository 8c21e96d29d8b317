#!/bin/bash
# Sourced by config.sh (and runsvc.sh) from the runner root: saves PATH into .path and a few
# well-known variables of the configuring user into .env, keeping values already there.

varCheckList=(LANG JAVA_HOME ANT_HOME M2_HOME ANDROID_HOME GRADLE_HOME NVM_BIN NVM_PATH LD_LIBRARY_PATH PERL5LIB)

envContents=""
if [ -f ".env" ]; then
    envContents=$(cat .env)
else
    touch .env
fi

function writeVar() {
    local checkVar="$1"
    if [[ "$envContents" != *"${checkVar}="* ]] && [ -n "${!checkVar}" ]; then
        echo "${checkVar}=${!checkVar}" >> .env
    fi
}

echo "$PATH" > .path

for var_name in "${varCheckList[@]}"; do
    writeVar "${var_name}"
done
