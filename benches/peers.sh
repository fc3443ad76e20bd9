#!/usr/bin/env bash
# Run our `ann` bench and the peers (hnswlib, faiss-cpu HNSWFlat, usearch, qdrant-edge)
# on the same data and parameters, collect all JSON lines in
# benches/results/<timestamp>.jsonl and print the comparison (benches/compare.py).
#
#   benches/peers.sh                                  # defaults below
#   BASE=/d/base.fvecs QUERIES=/d/q.fvecs GT=/d/gt.ivecs benches/peers.sh
#   benches/peers.sh --metric euclidean --ef 32,64 --precisions f32,int8 --skip-peers
#   benches/peers.sh --skip-ours --limit 5000 --ef 32,64 --filter-buckets 100
#
# Settings (env variable or flag; flags win):
#   BASE/--base, QUERIES/--queries, GT/--gt   data (default ../shared/data/* from the repo root;
#                                             relative paths you pass are taken from your cwd)
#   K/--k 10, M/--m 16, EFC/--ef-construction 200, EF/--ef 16,32,64,128,256,
#   METRIC/--metric cosine, THREADS/--threads 2 (build threads for the peers and for our
#   sharded run), SHARDS/--shards 2 (our sharded run), PRECISIONS/--precisions f32
#   (comma list of our precisions), ENGINES/--engines hnswlib,faiss,usearch,qdrant-edge,
#   SEARCH_THREADS/--search-threads 1,2 (peers: one row set per search thread count),
#   PASSES/--passes 3 (timed passes per ef, best kept; ours and peers),
#   LIMIT/--limit N (only the first N base vectors, ours and peers; the ground truth is
#   then computed by brute force, since GT is for the full base),
#   FILTER_BUCKETS/--filter-buckets B (peers: payload bucket = i % B, adds filtered rows
#   for hnswlib and qdrant-edge; off by default), FILTER_SELECTIVITIES/
#   --filter-selectivities 0.01,0.1,0.5 (filter bucket < round(s*B)),
#   OUT/--out benches/results/<UTC timestamp>.jsonl, --skip-ours, --skip-peers
#
# Our binary runs three times per precision: `--shards $SHARDS --threads $THREADS` (build
# time comparable with the peers' $THREADS-thread build, $THREADS search threads),
# `--shards 1 --threads 1` (single-thread search, comparable with the peers' 1-thread rows)
# and `--shards 1 --threads $THREADS` (one shard built on every thread, searched by them).
# The peers run in a virtualenv at ${KEKTOR_CACHE:-~/.cache/kektordb}/venvs/peers
# (created and filled from PyPI on first use: numpy hnswlib faiss-cpu usearch
# qdrant-edge-py; reused afterwards). See benches/peers.py for how each peer is measured.
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
engines=${ENGINES:-hnswlib,faiss,usearch,qdrant-edge}
search_threads=${SEARCH_THREADS:-1,2}
passes=${PASSES:-3}
limit=${LIMIT:-}
filter_buckets=${FILTER_BUCKETS:-}
filter_selectivities=${FILTER_SELECTIVITIES:-0.01,0.1,0.5}
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
        --search-threads) search_threads=$2; shift 2 ;;
        --passes) passes=$2; shift 2 ;;
        --limit) limit=$2; shift 2 ;;
        --filter-buckets) filter_buckets=$2; shift 2 ;;
        --filter-selectivities) filter_selectivities=$2; shift 2 ;;
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

data_files=("$base" "$queries")
[ -n "$limit" ] || data_files+=("$gt")  # with --limit the ground truth is computed
for f in "${data_files[@]}"; do
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
venv=${KEKTOR_CACHE:-$HOME/.cache/kektordb}/venvs/peers
py=$venv/bin/python
peer_pkgs=(numpy hnswlib faiss-cpu usearch qdrant-edge-py)

# Create the cached virtualenv and install the peers into it (once; later runs reuse it).
# Returns 1 only if there is no usable python with numpy.
venv_ready=
setup_venv() {
    [ -n "$venv_ready" ] && return "$venv_ready"
    venv_ready=1
    if [ ! -x "$py" ]; then
        echo "peers.sh: creating virtualenv $venv" >&2
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv" || { failed+=("python3 -m venv $venv"); return 1; }
    fi
    if ! "$py" -c 'import numpy, hnswlib, faiss, usearch, qdrant_edge' 2>/dev/null; then
        echo "peers.sh: pip install ${peer_pkgs[*]} (hnswlib may compile from source, ~1 min)" >&2
        if ! "$py" -m pip install -q --disable-pip-version-check "${peer_pkgs[@]}" >&2; then
            # One at a time, so that one failing package does not keep the others out;
            # peers.py reports the engines it cannot import.
            for pkg in "${peer_pkgs[@]}"; do
                "$py" -m pip install -q --disable-pip-version-check "$pkg" >&2 \
                    || failed+=("pip install $pkg")
            done
        fi
    fi
    "$py" -c 'import numpy' 2>/dev/null || return 1
    venv_ready=0
}

# With --limit the full-base ground truth does not apply: compute it by brute force
# (peers.py computes its own; this file is for our binary).
gt_ours=$gt
tmp_gt=
if [ -n "$limit" ] && [ "$skip_ours" = 0 ]; then
    if setup_venv; then
        tmp_gt=$(mktemp --suffix=.ivecs)
        trap 'rm -f "$tmp_gt"' EXIT
        "$py" benches/peers.py --base "$base" --queries "$queries" --limit "$limit" --k "$k" \
            --metric "$metric" --write-gt "$tmp_gt" || failed+=("peers.py --write-gt")
        gt_ours=$tmp_gt
    else
        failed+=("virtualenv for the brute-force ground truth")
        skip_ours=1
    fi
fi

common=(--base "$base" --queries "$queries" --k "$k" --m "$m"
        --ef-construction "$efc" --ef "$ef" --metric "$metric" --passes "$passes")
[ -n "$limit" ] && common+=(--limit "$limit")

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
        ours_extra=()
        # Our bench's buckets are id % 100: filtered rows only for 100 buckets.
        if [ "$filter_buckets" = 100 ]; then
            ours_extra+=(--filter-selectivities "$filter_selectivities")
        elif [ -n "$filter_buckets" ] && [ "$filter_buckets" != 0 ]; then
            echo "peers.sh: our filtered rows need --filter-buckets 100; skipped" >&2
        fi
        cold_dir=$(mktemp -d)
        for p in "${precision_list[@]}"; do
            runs=("$shards $threads" "1 1")
            # One shard built on every thread (batch linking), searched by them too.
            [ "$threads" -gt 1 ] && runs+=("1 $threads")
            for st in "${runs[@]}"; do
                read -r s t <<<"$st"
                echo "peers.sh: kektordb precision=$p shards=$s threads=$t" >&2
                # int8's rescoring copy is paged into a scratch file, as the server does.
                collect cargo run --release -q -p kektordb-benches --bin ann -- "${common[@]}" \
                    --gt "$gt_ours" --precision "$p" --shards "$s" --threads "$t" \
                    --cold-dir "$cold_dir" "${ours_extra[@]}" \
                    || failed+=("kektordb $p shards=$s threads=$t")
            done
        done
        rm -rf "$cold_dir"
    else
        failed+=("cargo build of kektordb-benches")
    fi
fi

if [ "$skip_peers" = 0 ]; then
    if setup_venv; then
        peer_args=("${common[@]}" --threads "$threads" --engines "$engines"
                   --search-threads "$search_threads")
        [ -n "$limit" ] || peer_args+=(--gt "$gt")
        if [ -n "$filter_buckets" ] && [ "$filter_buckets" != 0 ]; then
            peer_args+=(--filter-buckets "$filter_buckets" --filter-selectivities "$filter_selectivities")
        fi
        echo "peers.sh: peers ($engines), build threads=$threads, search threads=$search_threads" >&2
        collect "$py" benches/peers.py "${peer_args[@]}" || failed+=("peers.py")
    else
        failed+=("peers: no virtualenv with numpy at $venv")
    fi
fi

echo >&2
echo "peers.sh: results in $out" >&2
echo
py_cmp=python3
[ -x "$py" ] && py_cmp=$py
"$py_cmp" benches/compare.py "$out"

if [ "${#failed[@]}" -gt 0 ]; then
    echo >&2
    for f in "${failed[@]}"; do echo "peers.sh: FAILED: $f" >&2; done
    exit 1
fi
