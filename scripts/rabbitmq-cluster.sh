#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine for the cluster suites and for users who want to try
# one: nodes events-rmq-1..3@localhost, AMQP on 127.0.0.1:5681-5683, Erlang distribution on
# 127.0.0.1:25681-25683, each with its own config file, enabled-plugins file (none: no management
# listener), data and log dirs. It never touches the shared broker (rabbit@localhost on 5672):
# every rabbitmqctl call names its node with -n, and /etc/rabbitmq is not read.
#
#   scripts/rabbitmq-cluster.sh up         start the nodes that are not running, join 2 and 3 to 1 once, wait until all 3 run clustered
#   scripts/rabbitmq-cluster.sh down       stop the 3 nodes (SIGKILL past a deadline) and remove their dirs
#   scripts/rabbitmq-cluster.sh status     each node's pid and port, and the cluster as a live node sees it; exit 1 unless all 3 run clustered
#   scripts/rabbitmq-cluster.sh kill N     SIGKILL node N's Erlang VM (no clean shutdown)
#   scripts/rabbitmq-cluster.sh start N    start node N again and wait until it runs with every live node (it rejoins by itself)
#   scripts/rabbitmq-cluster.sh ctl N ...  rabbitmqctl -n events-rmq-N@localhost ... (e.g. list_queues name leader members)
#
# RABBITMQ_CLUSTER_DIR (default /tmp/events-rabbitmq-cluster): node-N/{mnesia,log,...} below it.
# RABBITMQ_CLUSTER_TIMEOUT (default 90): seconds a node has to start, a join to finish.
# The Erlang cookie is the user's own ($HOME/.erlang.cookie, made if missing), so the CLI of the
# same user reaches the nodes; the shared broker runs as another user with another cookie.
set -euo pipefail

DIR=${RABBITMQ_CLUSTER_DIR:-/tmp/events-rabbitmq-cluster}
TIMEOUT=${RABBITMQ_CLUSTER_TIMEOUT:-90}
NODES=(1 2 3)
# Debian's /usr/sbin wrappers switch to the rabbitmq user (another cookie, no access to our
# dirs): call the real scripts.
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then BIN=/usr/lib/rabbitmq/bin
else BIN=$(dirname "$(command -v rabbitmq-server || echo /nonexistent/rabbitmq-server)"); fi

die() { printf 'rabbitmq-cluster: %s\n' "$*" >&2; exit 1; }
say() { printf 'rabbitmq-cluster: %s\n' "$*"; }

node_name() { echo "events-rmq-$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
dist_port() { echo $((25680 + $1)); }
node_dir() { echo "$DIR/node-$1"; }
log_file() { echo "$(node_dir "$1")/log/$(node_name "$1").log"; }
startup_log() { echo "$(node_dir "$1")/log/startup.log"; }

check_node_arg() {
  case "${1:-}" in 1|2|3) ;; *) die "node number must be 1, 2 or 3, got '${1:-}'" ;; esac
}

# The environment of node N (server and CLI alike): nothing comes from /etc/rabbitmq.
node_env() {
  local n=$1 d
  d=$(node_dir "$n")
  export RABBITMQ_NODENAME; RABBITMQ_NODENAME=$(node_name "$n")
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT; RABBITMQ_NODE_PORT=$(amqp_port "$n")
  export RABBITMQ_DIST_PORT; RABBITMQ_DIST_PORT=$(dist_port "$n")
  export RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$d/mnesia"
  export RABBITMQ_LOG_BASE="$d/log"
  export RABBITMQ_PID_FILE="$d/beam.pid"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export ERL_EPMD_ADDRESS=127.0.0.1
  unset ERL_FLAGS
}

ctl() { # N rabbitmqctl-args...
  local n=$1; shift
  ( node_env "$n"; "$BIN/rabbitmqctl" -n "$(node_name "$n")" "$@" )
}

write_files() {
  local n=$1 d
  d=$(node_dir "$n")
  mkdir -p "$d/mnesia" "$d/log"
  : > "$d/rabbitmq-env.conf"
  echo '[].' > "$d/enabled_plugins"
  cat > "$d/rabbitmq.conf" <<EOF
# Node $n of the events-platform test cluster (scripts/rabbitmq-cluster.sh); the shared broker's
# /etc/rabbitmq/rabbitmq.conf pins its listener to 5672, so this node has a file of its own.
listeners.tcp.default = 127.0.0.1:$(amqp_port "$n")
loopback_users.guest = true
cluster_partition_handling = pause_minority
log.console = false
log.file.level = info
EOF
}

ensure_cookie() {
  local cookie="$HOME/.erlang.cookie"
  [ -f "$cookie" ] && return 0
  ( umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f0-9' 'A-P' > "$cookie" )
  chmod 400 "$cookie"
}

# The pid of node N's Erlang VM if it is alive (checked against its environment, so a stale pid
# file never names someone else's process).
beam_pid() {
  local n=$1 f pid
  f="$(node_dir "$n")/beam.pid"
  [ -f "$f" ] || return 1
  pid=$(tr -dc '0-9' < "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/environ" ] || return 1
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "RABBITMQ_NODENAME=$(node_name "$n")" || return 1
  echo "$pid"
}

running() { ctl "$1" -q await_startup --timeout 2 >/dev/null 2>&1; }

start_node() {
  local n=$1
  write_files "$n"
  : > "$(startup_log "$n")"
  # Its own session: a Ctrl-C in the calling terminal or the test's process group leaves it alone.
  # The launcher shell lives as long as the VM: its pid tells a VM that died on start.
  ( node_env "$n"; cd "$(node_dir "$n")"; setsid nohup "$BIN/rabbitmq-server" > "$(startup_log "$n")" 2>&1 < /dev/null &
    echo $! > "$(node_dir "$n")/launcher.pid" )
}

launcher_alive() {
  local f
  f="$(node_dir "$1")/launcher.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_running() {
  local n=$1 end=$((SECONDS + TIMEOUT))
  until running "$n"; do
    if [ "$SECONDS" -ge "$end" ]; then
      die "node $(node_name "$n") (AMQP 127.0.0.1:$(amqp_port "$n")) did not start within ${TIMEOUT}s; log: $(log_file "$n"), startup output: $(startup_log "$n")
$(tail -n 15 "$(startup_log "$n")" 2>/dev/null)"
    fi
    # A VM that died on start (port taken, bad config) is reported at once, not at the deadline.
    if ! launcher_alive "$n" && ! beam_pid "$n" >/dev/null; then
      die "node $(node_name "$n") exited during start; log: $(log_file "$n"), startup output: $(startup_log "$n")
$(tail -n 15 "$(startup_log "$n")" 2>/dev/null)"
    fi
    sleep 1
  done
}

# Running members of the cluster as node N sees them, one per line.
running_members() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null | jq -r '.running_nodes[]' 2>/dev/null
}
disk_members() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null | jq -r '.disk_nodes[]' 2>/dev/null
}

join_if_needed() {
  local n=$1 first
  first=$(node_name 1)
  if disk_members "$n" | grep -qx "$first"; then return 0; fi
  say "joining $(node_name "$n") to $first"
  ctl "$n" -q stop_app || die "stop_app on $(node_name "$n") failed; log: $(log_file "$n")"
  ctl "$n" -q join_cluster "$first" || die "join_cluster of $(node_name "$n") to $first failed; log: $(log_file "$n")"
  ctl "$n" -q start_app || die "start_app on $(node_name "$n") failed; log: $(log_file "$n")"
}

all_clustered() { # N: node N sees all three running
  local count
  count=$(running_members "$1" | grep -c '^events-rmq-[123]@localhost$' || true)
  [ "$count" -eq 3 ]
}

wait_clustered() {
  local n=$1 end=$((SECONDS + TIMEOUT))
  until all_clustered "$n"; do
    [ "$SECONDS" -lt "$end" ] || die "node $(node_name "$n") does not see all 3 nodes running within ${TIMEOUT}s (sees: $(running_members "$n" | tr '\n' ' ')); logs: $DIR/node-*/log/"
    sleep 1
  done
}

# Node N sees every node whose VM is alive among its running members (for `start N` while another
# node is down on purpose).
sees_all_alive() {
  local n=$1 m alive=0 seen
  for m in "${NODES[@]}"; do if beam_pid "$m" >/dev/null; then alive=$((alive + 1)); fi; done
  seen=$(running_members "$n" | grep -c '^events-rmq-[123]@localhost$' || true)
  [ "$seen" -ge "$alive" ]
}

wait_rejoined() {
  local n=$1 end=$((SECONDS + TIMEOUT))
  until sees_all_alive "$n"; do
    [ "$SECONDS" -lt "$end" ] || die "node $(node_name "$n") did not rejoin the running nodes within ${TIMEOUT}s (sees: $(running_members "$n" | tr '\n' ' ')); log: $(log_file "$n")"
    sleep 1
  done
}

cmd_up() {
  [ -x "$BIN/rabbitmq-server" ] || die "rabbitmq-server not found (looked in $BIN); install RabbitMQ 3.10+ (apt-get install rabbitmq-server)"
  command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
  ensure_cookie
  local n started=()
  for n in "${NODES[@]}"; do
    if beam_pid "$n" >/dev/null; then continue; fi
    if ss -ltn 2>/dev/null | grep -qE "127\.0\.0\.1:($(amqp_port "$n")|$(dist_port "$n"))\b"; then
      die "port $(amqp_port "$n") or $(dist_port "$n") is taken by another process; node $(node_name "$n") cannot start"
    fi
    say "starting $(node_name "$n") on 127.0.0.1:$(amqp_port "$n") (log: $(log_file "$n"))"
    start_node "$n"
    started+=("$n")
  done
  for n in "${NODES[@]}"; do wait_running "$n"; done
  for n in 2 3; do join_if_needed "$n"; done
  wait_clustered 1
  say "cluster up: $(running_members 1 | tr '\n' ' ')(AMQP 127.0.0.1:5681-5683)"
}

stop_node() { # N: graceful stop, SIGKILL past the deadline
  local n=$1 pid end
  pid=$(beam_pid "$n") || return 0
  ctl "$n" -q stop >/dev/null 2>&1 || true
  end=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.5
  done
}

cmd_down() {
  local n
  # Stop 2 and 3 first, then 1, each in turn: a clean shutdown of the whole cluster.
  for n in 3 2 1; do stop_node "$n"; done
  for n in "${NODES[@]}"; do
    if beam_pid "$n" >/dev/null; then die "node $(node_name "$n") is still running; not removing $(node_dir "$n")"; fi
  done
  case "$DIR" in /|"") die "refusing to remove '$DIR'" ;; esac
  rm -rf -- "$DIR"
  say "cluster down, $DIR removed"
}

cmd_status() {
  local n pid ok=0 live=""
  for n in "${NODES[@]}"; do
    if pid=$(beam_pid "$n"); then
      if running "$n"; then printf '%s  pid %s  amqp 127.0.0.1:%s  running\n' "$(node_name "$n")" "$pid" "$(amqp_port "$n")"; live=${live:-$n}
      else printf '%s  pid %s  amqp 127.0.0.1:%s  starting or app stopped\n' "$(node_name "$n")" "$pid" "$(amqp_port "$n")"; ok=1; fi
    else
      printf '%s  down\n' "$(node_name "$n")"; ok=1
    fi
  done
  if [ -n "$live" ]; then
    printf 'running members seen by %s: %s\n' "$(node_name "$live")" "$(running_members "$live" | tr '\n' ' ')"
    all_clustered "$live" || ok=1
  fi
  return "$ok"
}

cmd_kill() {
  local n=$1 pid end
  pid=$(beam_pid "$n") || die "node $(node_name "$n") is not running"
  kill -KILL "$pid"
  end=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || die "node $(node_name "$n") (pid $pid) survived SIGKILL for 10s"
    sleep 0.1
  done
  say "killed $(node_name "$n") (pid $pid)"
}

cmd_start() {
  local n=$1
  ensure_cookie
  if ! beam_pid "$n" >/dev/null; then
    say "starting $(node_name "$n") (log: $(log_file "$n"))"
    start_node "$n"
  fi
  wait_running "$n"
  wait_rejoined "$n"
  say "$(node_name "$n") running and clustered with: $(running_members "$n" | tr '\n' ' ')"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kill) check_node_arg "${2:-}"; cmd_kill "$2" ;;
  start) check_node_arg "${2:-}"; cmd_start "$2" ;;
  ctl) check_node_arg "${2:-}"; n=$2; shift 2; ctl "$n" "$@" ;;
  *) die "usage: $0 up|down|status|kill N|start N|ctl N rabbitmqctl-args..." ;;
esac
