#!/usr/bin/env bash
# A Redis Cluster on this machine for the cluster suites and for users who want to try one:
# 6 redis-server processes (3 primaries, 3 replicas) on their own ports and data dirs, AOF on,
# noeviction. It never touches the shared Redis on 6379.
#
#   scripts/redis-cluster.sh up               start what is not running, create the cluster once, wait until it is ok
#   scripts/redis-cluster.sh down             stop every node and remove the data dirs
#   scripts/redis-cluster.sh status           CLUSTER NODES as one live node sees it
#   scripts/redis-cluster.sh kill-primary N   SIGKILL the Nth primary (1-3, by slot order); prints its port
#   scripts/redis-cluster.sh restart          start nodes that are down (they rejoin as replicas), wait until ok
#
# REDIS_CLUSTER_BASE_PORT (default 7000): nodes listen on BASE..BASE+5.
# REDIS_CLUSTER_DIR (default /tmp/events-redis-cluster-BASE): one data dir per node below it.
set -euo pipefail

BASE=${REDIS_CLUSTER_BASE_PORT:-7000}
DIR=${REDIS_CLUSTER_DIR:-/tmp/events-redis-cluster-$BASE}
HOST=127.0.0.1
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done

die() { printf 'redis-cluster: %s\n' "$*" >&2; exit 1; }
cli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" "$@"; }
answers() { cli "$1" ping 2>/dev/null | grep -q PONG; }

nodes_list() { local IFS=,; local all=(); for p in "${PORTS[@]}"; do all+=("$HOST:$p"); done; echo "${all[*]}"; }

live_port() {
  for p in "${PORTS[@]}"; do if answers "$p"; then echo "$p"; return 0; fi; done
  return 1
}

start_node() {
  local port=$1 dir="$DIR/$1"
  mkdir -p "$dir"
  redis-server --port "$port" --bind "$HOST" --daemonize yes \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000 --cluster-replica-validity-factor 0 \
    --appendonly yes --appendfsync everysec --save "" \
    --maxmemory-policy noeviction >/dev/null \
    || die "redis-server on port $port did not start (log: $dir/redis.log)"
}

wait_until() { # description deadline-seconds command...
  local what=$1 deadline=$2; shift 2
  local end=$((SECONDS + deadline))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || die "$what within ${deadline}s (logs: $DIR/*/redis.log)"
    sleep 0.5
  done
}

all_ok() {
  for p in "${PORTS[@]}"; do
    cli "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || return 1
    # every node must see all 6 nodes connected (a restarted node has rejoined)
    [ "$(cli "$p" cluster nodes 2>/dev/null | grep -c ' connected')" -eq 6 ] || return 1
    [ "$(cli "$p" cluster nodes 2>/dev/null | grep -Ec 'fail|handshake|noaddr')" -eq 0 ] || return 1
  done
}

start_missing() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  for p in "${PORTS[@]}"; do
    if ! answers "$p"; then start_node "$p"; fi
  done
  for p in "${PORTS[@]}"; do wait_until "node $HOST:$p did not answer PING" 20 answers "$p"; done
}

up() {
  start_missing
  local first=${PORTS[0]}
  if [ "$(cli "$first" cluster info | grep -o 'cluster_slots_assigned:[0-9]*' | cut -d: -f2)" = 0 ]; then
    local addrs=()
    for p in "${PORTS[@]}"; do addrs+=("$HOST:$p"); done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
      || die "redis-cli --cluster create failed (see $DIR/create.log)"
  fi
  wait_until "the cluster did not reach cluster_state:ok on all 6 nodes" 60 all_ok
  echo "REDIS_CLUSTER_NODES=$(nodes_list)"
}

down() {
  for p in "${PORTS[@]}"; do
    local pidfile="$DIR/$p/redis.pid"
    if [ -f "$pidfile" ]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  for p in "${PORTS[@]}"; do
    local end=$((SECONDS + 10))
    while answers "$p"; do
      [ "$SECONDS" -lt "$end" ] || die "node on port $p is still answering after down"
      sleep 0.2
    done
  done
  rm -rf "$DIR"
  echo "redis cluster on ports ${PORTS[0]}-${PORTS[5]} is down"
}

kill_primary() {
  local n=${1:-}
  [[ "$n" =~ ^[1-3]$ ]] || die "kill-primary takes N in 1..3"
  local port
  port=$(live_port) || die "no node answers"
  # primaries that hold slots, in the order of their first slot
  local victim
  victim=$(cli "$port" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { split($2, a, "[:@]"); split($9, s, "-"); print s[1], a[2] }' \
    | sort -n | sed -n "${n}p" | awk '{ print $2 }')
  [ -n "$victim" ] || die "no primary number $n"
  local pidfile="$DIR/$victim/redis.pid"
  [ -f "$pidfile" ] || die "no pid file for port $victim ($pidfile)"
  kill -9 "$(cat "$pidfile")"
  echo "$victim"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) cli "$(live_port || die 'no node answers')" cluster nodes ;;
  kill-primary) kill_primary "${2:-}" ;;
  restart) start_missing; wait_until "the cluster did not heal (cluster_state:ok, 6 nodes connected)" 60 all_ok; echo "REDIS_CLUSTER_NODES=$(nodes_list)" ;;
  *) die "usage: $0 up|down|status|kill-primary N|restart" ;;
esac
