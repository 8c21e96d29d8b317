#!/bin/bash
# mlcops fleet runner bootstrap (EC2 user data, rendered by mlcops.fleet.userdata).
# The AMI carries the GitHub Actions runner (in runner_dir) and the AWS CLI. This script holds
# no secret: it fetches this instance's one-time runner secret from SSM Parameter Store, deletes the
# parameter, and starts the runner with the secret in its environment (never on a command line).
set -euo pipefail
umask 077
exec > >(logger -t mlcops-runner) 2>&1

region='@@region@@'
parameter_root='@@parameter_root@@'
runner_dir='@@runner_dir@@'
runner_user='@@runner_user@@'
ephemeral='@@ephemeral@@'

give_up() {
  echo "mlcops: $1; shutting down (the instance terminates on shutdown)"
  shutdown -h now
  exit 1
}

# IMDSv2 only: a session token first, then the metadata (the launch requires tokens).
imds_token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') || give_up "no IMDSv2 token"
instance_id=$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" \
  http://169.254.169.254/latest/meta-data/instance-id) || give_up "no instance id"
parameter="$parameter_root/$instance_id/runner"

# The controller writes the parameter right after RunInstances returns, which may be a little
# after this boots: wait for it, up to ten minutes.
secret=''
for _ in $(seq 1 60); do
  if secret=$(aws ssm get-parameter --region "$region" --name "$parameter" --with-decryption \
      --query Parameter.Value --output text 2>/dev/null); then
    break
  fi
  secret=''
  sleep 10
done
[ -n "$secret" ] || give_up "parameter $parameter never appeared"
aws ssm delete-parameter --region "$region" --name "$parameter" || give_up "cannot delete $parameter"

# The secret is JSON; printf is a builtin, so the value never shows in a process list.
field() { printf '%s' "$secret" | python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
kind=$(field kind)
cd "$runner_dir"
if [ "$kind" = jit ]; then
  ACTIONS_RUNNER_INPUT_JITCONFIG=$(field jit_config)
  export ACTIONS_RUNNER_INPUT_JITCONFIG
  unset secret
  # Whatever the runner's exit status, an ephemeral instance must still shut down below:
  # failing here would leave a GPU instance running that nobody uses.
  runuser -u "$runner_user" -- ./run.sh || true
  # An ephemeral runner serves one job; then the instance goes away.
  [ "$ephemeral" = true ] && shutdown -h now
  exit 0
fi
ACTIONS_RUNNER_INPUT_TOKEN=$(field token)
ACTIONS_RUNNER_INPUT_URL=$(field url)
ACTIONS_RUNNER_INPUT_NAME=$(field name)
ACTIONS_RUNNER_INPUT_LABELS=$(field labels)
ACTIONS_RUNNER_INPUT_RUNNERGROUP=$(field runner_group)
export ACTIONS_RUNNER_INPUT_TOKEN ACTIONS_RUNNER_INPUT_URL ACTIONS_RUNNER_INPUT_NAME
export ACTIONS_RUNNER_INPUT_LABELS ACTIONS_RUNNER_INPUT_RUNNERGROUP
unset secret
runuser -u "$runner_user" -- ./config.sh --unattended --replace
unset ACTIONS_RUNNER_INPUT_TOKEN
./svc.sh install "$runner_user"
./svc.sh start
