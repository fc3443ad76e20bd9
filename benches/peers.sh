#!/usr/bin/env bash
# Run our `ann` bench and the peers (hnswlib, faiss-cpu) on the same data and
# parameters, collect all JSON lines in benches/results/<timestamp>.jsonl and print
# the comparison (benches/compare.py).
#
#   benches/peers.sh                                  # defaults below
#   BASE=/d/base.fvecs QUERIES=/d/q.fvecs GT=/d/gt.ivecs benches/peers.sh
#   benches/peers.sh --metric euclidean --ef 32,64 --precisions f32,int8 --skip-peers
#
# Settings (env variable or flag; flags win):
#   BASE/--base, QUERIES/--queries, GT/--gt   data (default ../shared/data/* from the repo root;
#                                             relative paths you pass are taken from your cwd)
#   K/--k 10, M/--m 16, EFC/--ef-construction 200, EF/--ef 16,32,64,128,256,
#   METRIC/--metric cosine, THREADS/--threads 2 (build threads for the peers and for our
#   sharded run), SHARDS/--shards 2 (our sharded run), PRECISIONS/--precisions f32
#   (comma list of our precisions), ENGINES/--engines hnswlib,faiss,
#   OUT/--out benches/results/<UTC timestamp>.jsonl, --skip-ours, --skip-peers
#
# Our binary runs twice per precision: `--shards $SHARDS --threads $THREADS` (build time
# comparable with the peers' $THREADS-thread build) and `--shards 1 --threads 1`
# (single-thread search, comparable with the peers' single-thread search loop).
# Exits 0 with a message when the data is absent; exits 1 if any step failed (the
# comparison of whatever did run is still printed).
set -euo pipefail

orig_pwd=$PWD
cd "$(dirname "$0")/.."
root=$PWD

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "${orig_pwd%/}/$1" ;; esac; }

base=${BASE:+$(abspath "$BASE")}
queries=${QUERIES:+$(abspath "$QUERIES")}
gt=${GT:+$(abspath "$GT")}
k=${K:-10}
m=${M:-16}
efc=${EFC:-200}
ef=${EF:-16,32,64,128,256}
metric=${METRIC:-cosine}
threads=${THREADS:-2}
shards=${SHARDS:-2}
precisions=${PRECISIONS:-f32}
engines=${ENGINES:-hnswlib,faiss}
out=${OUT:+$(abspath "$OUT")}
skip_ours=0
skip_peers=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --base) base=$(abspath "$2"); shift 2 ;;
        --queries) queries=$(abspath "$2"); shift 2 ;;
        --gt) gt=$(abspath "$2"); shift 2 ;;
        --k) k=$2; shift 2 ;;
        --m) m=$2; shift 2 ;;
        --ef-construction) efc=$2; shift 2 ;;
        --ef) ef=$2; shift 2 ;;
        --metric) metric=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --shards) shards=$2; shift 2 ;;
        --precisions|--precision) precisions=$2; shift 2 ;;
        --engines) engines=$2; shift 2 ;;
        --out) out=$(abspath "$2"); shift 2 ;;
        --skip-ours) skip_ours=1; shift ;;
        --skip-peers) skip_peers=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "peers.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

base=${base:-$root/../shared/data/base.fvecs}
queries=${queries:-$root/../shared/data/queries.fvecs}
gt=${gt:-$root/../shared/data/gt.ivecs}

for f in "$base" "$queries" "$gt"; do
    if [ ! -f "$f" ]; then
        echo "peers.sh: skipping: data file not found: $f (set BASE/QUERIES/GT or --base/--queries/--gt)"
        exit 0
    fi
done

mkdir -p benches/results
out=${out:-$root/benches/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl}
mkdir -p "$(dirname "$out")"
: >"$out"

failed=()
common=(--base "$base" --queries "$queries" --gt "$gt" --k "$k" --m "$m"
        --ef-construction "$efc" --ef "$ef" --metric "$metric")

# Keep only JSON lines from a command's stdout (echoing them), append them to $out.
collect() {
    local tmp rc=0
    tmp=$(mktemp)
    "$@" >"$tmp" || rc=$?
    grep '^{' "$tmp" | tee -a "$out" || true
    grep -v '^{' "$tmp" >&2 || true
    rm -f "$tmp"
    return "$rc"
}

if [ "$skip_ours" = 0 ]; then
    echo "peers.sh: building kektordb-benches (release)" >&2
    if cargo build --release -p kektordb-benches --bin ann >&2; then
        IFS=, read -r -a precision_list <<<"$precisions"
        for p in "${precision_list[@]}"; do
            for st in "$shards $threads" "1 1"; do
                read -r s t <<<"$st"
                echo "peers.sh: kektordb precision=$p shards=$s threads=$t" >&2
                collect cargo run --release -q -p kektordb-benches --bin ann -- "${common[@]}" \
                    --precision "$p" --shards "$s" --threads "$t" \
                    || failed+=("kektordb $p shards=$s threads=$t")
            done
        done
    else
        failed+=("cargo build of kektordb-benches")
    fi
fi

if [ "$skip_peers" = 0 ]; then
    venv=$root/benches/.venv
    py=$venv/bin/python
    peers_ready=1
    if [ ! -x "$py" ]; then
        echo "peers.sh: creating virtualenv $venv" >&2
        python3 -m venv "$venv" || { failed+=("python3 -m venv"); peers_ready=0; }
    fi
    if [ "$peers_ready" = 1 ] && ! "$py" -c 'import numpy, hnswlib, faiss' 2>/dev/null; then
        echo "peers.sh: pip install numpy hnswlib faiss-cpu (hnswlib compiles from source, ~1 min)" >&2
        if ! "$py" -m pip install -q --disable-pip-version-check numpy hnswlib faiss-cpu >&2; then
            # Whatever did install is still used; peers.py reports the engines it cannot import.
            failed+=("pip install numpy hnswlib faiss-cpu")
            "$py" -c 'import numpy' 2>/dev/null || peers_ready=0
        fi
    fi
    if [ "$peers_ready" = 1 ]; then
        echo "peers.sh: peers ($engines), build threads=$threads, search 1 thread" >&2
        collect "$py" benches/peers.py "${common[@]}" --threads "$threads" --engines "$engines" \
            || failed+=("peers.py")
    fi
fi

echo >&2
echo "peers.sh: results in $out" >&2
echo
py_cmp=python3
[ -x benches/.venv/bin/python ] && py_cmp=benches/.venv/bin/python
"$py_cmp" benches/compare.py "$out"

if [ "${#failed[@]}" -gt 0 ]; then
    echo >&2
    for f in "${failed[@]}"; do echo "peers.sh: FAILED: $f" >&2; done
    exit 1
fi
