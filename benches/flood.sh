#!/usr/bin/env bash
# Hostile-connection flood (issue 16's resource figures): the release server on 2
# shards, 10,000 hostile connections held open (idle, slowloris, 500 MB body claims;
# reopened when the server closes them) for 30 s, while a legitimate client asks
# /healthz. Without and with a token, and each two ways: attacker and client in one
# process at the same priority (the attacker's own CPU competes with the server on
# this 2-core machine), and the attacker as a separate process under `nice -n 19`
# (closer to a remote attacker). Prints one JSON line per run.
# Goal on this machine: server RSS < 256 MB and /healthz p99 < 50 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-19290}
HOSTILE=${HOSTILE:-10000}
SECS=${SECS:-30}
ulimit -n "$(ulimit -Hn)"
cargo build --release -p kektordb --bin kektordb -p kektordb-benches --bin flood
for token in "" secret; do
  for mode in same niced; do
    args=(-http-addr 127.0.0.1:$PORT -shards 2 -in-memory)
    [ -n "$token" ] && args+=(-auth-token "$token")
    ./target/release/kektordb "${args[@]}" 2>/dev/null &
    pid=$!
    trap 'kill $pid 2>/dev/null' EXIT
    sleep 0.5
    extra=(--addr 127.0.0.1:$PORT --pid $pid --hostile "$HOSTILE" --seconds "$SECS")
    [ -n "$token" ] && extra+=(--token "$token")
    echo "# token=${token:-none} attacker=$mode"
    if [ "$mode" = same ]; then
      ./target/release/flood "${extra[@]}"
    else
      nice -n 19 ./target/release/flood "${extra[@]}" --role attack &
      attacker=$!
      sleep 3
      ./target/release/flood "${extra[@]}" --role measure
      wait $attacker || true
    fi
    kill $pid; wait $pid 2>/dev/null || true
    trap - EXIT
  done
done
