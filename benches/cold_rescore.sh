#!/usr/bin/env bash
# int8 search when its full-precision rescoring copy does not fit in memory.
#
#   sudo benches/cold_rescore.sh            # fractions 1,0.5,0.1 of the copy resident
#   FRACTIONS=1,0.25 EF=64 PASSES=1 benches/cold_rescore.sh
#   ANN=/path/to/another/ann benches/cold_rescore.sh   # compare binaries
#
# Runs `ann --precision int8 --cold-dir DIR` (DIR on disk, not tmpfs: target/cold-rescore)
# inside a memory cgroup (v2, or v1's memory controller). Once the build is done (ann
# says so on stderr), the cgroup's limit is lowered to its anonymous memory then plus
# FRACTION of the rescoring copy's bytes (and 8 MiB for the binary's own pages), so
# the kernel must drop the rest of the page cache the cgroup holds (the data files
# read at start first, being older, then the copy's rows) and read rows back from
# disk as rescoring asks for them. Anonymous memory cannot go (no swap here; it is
# what int8 keeps: codes and graph). Prints ann's JSON lines with "resident_fraction" added.
# Needs root (to make a cgroup); says so and exits 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data}
EF=${EF:-64}
PASSES=${PASSES:-3}
FRACTIONS=${FRACTIONS:-1,0.5,0.1}
if [ ! -f "$D/base.fvecs" ]; then
  echo "cold_rescore.sh: $D/base.fvecs is absent; skipped"; exit 0
fi
if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/kektordb-cold-$$
  limit_file=memory.limit_in_bytes; anon_key=rss
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup ]; then
  cg=/sys/fs/cgroup/kektordb-cold-$$
  limit_file=memory.max; anon_key=anon
else
  echo "cold_rescore.sh: no writable memory cgroup (run as root); skipped"; exit 0
fi
cargo build --release -q -p kektordb-benches --bin ann
dim=$(od -An -tu4 -N4 "$D/base.fvecs" | tr -d ' ')
n=$(( $(stat -c %s "$D/base.fvecs") / (4 + 4 * dim) ))
cold_bytes=$(( n * dim * 4 ))
cold_dir=target/cold-rescore
mkdir -p "$cold_dir"
mkdir "$cg"
trap 'rmdir "$cg" 2>/dev/null || true' EXIT
IFS=, read -r -a fractions <<<"$FRACTIONS"
for f in "${fractions[@]}"; do
  err=$(mktemp)
  # The child joins the cgroup before it execs ann, so everything ann touches is charged.
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" \
    "${ANN:-./target/release/ann}" --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" \
    --ef "$EF" --passes "$PASSES" --precision int8 --shards 1 --threads 1 --cold-dir "$cold_dir" \
    >"$err.out" 2>"$err" &
  pid=$!
  until grep -q "^ann: built" "$err" 2>/dev/null; do
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  anon=$(awk -v k="$anon_key" '$1 == k { print $2 }' "$cg/memory.stat")
  limit=$(awk -v a="$anon" -v c="$cold_bytes" -v f="$f" 'BEGIN { printf "%d", a + f * c + 8 * 1048576 }')
  shown=null
  if [ "$f" != 1 ]; then
    echo "$limit" > "$cg/$limit_file"
    shown=$limit
  fi
  wait $pid || { cat "$err" >&2; exit 1; }
  { echo max > "$cg/$limit_file" || echo -1 > "$cg/$limit_file"; } 2>/dev/null
  grep '^{' "$err.out" | sed "s/^{/{\"resident_fraction\":$f,\"cgroup_limit_bytes\":$shown,/"
  rm -f "$err" "$err.out"
done
