# Sourced by .ci/run and by developers: start swtpm instances on loopback.
# swtpm_start DATAPORT CTRLPORT starts one with a fresh state directory and waits until it answers.
SWTPM_DIRS=()
swtpm_start() {
  local port=$1 ctrl=$2 dir
  dir=$(mktemp -d)
  SWTPM_DIRS+=("$dir")
  swtpm socket --tpm2 --server type=tcp,port="$port",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port="$ctrl",bindaddr=127.0.0.1 --tpmstate dir="$dir" \
    --flags not-need-init,startup-clear --pid file="$dir/pid" --daemon
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "swtpm on port $port did not start" >&2; return 1
}
swtpm_stop_all() {
  local d
  for d in "${SWTPM_DIRS[@]}"; do
    [ -f "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null || true
  done
}
