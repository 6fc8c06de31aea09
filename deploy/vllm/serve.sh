#!/usr/bin/env bash
# Serve Qwen3.5-9B for deskhand with vLLM's OpenAI-compatible server.
#   deploy/vllm/serve.sh                                          # BF16, qwen35-9b.env beside this script
#   VLLM_ENV_FILE=deploy/vllm/qwen35-9b-fp8.env deploy/vllm/serve.sh   # the FP8 variant
#   deploy/vllm/serve.sh --dry-run                                # print the command, run nothing
# Precedence: the environment, then VLLM_ENV_FILE (a variant), then qwen35-9b.env (the base).
# Then point deskhand at it: DESKHAND_LLM_BASE_URL=http://<host>:8000 DESKHAND_LLM_MODEL=qwen3.5-9b
# Readiness: GET /v1/models (ready.py), not /health, which only says the engine process lives.
# The image deploy/vllm/Dockerfile runs this script; compose and Kubernetes set its variables.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
load_env_file() {
  # Values already set (non-empty, by the environment or an earlier file) win.
  while IFS='=' read -r key value; do
    [[ -z "$key" || "$key" == \#* ]] && continue
    [[ -z "${!key:-}" ]] && export "$key=$value"
  done < "$1"
  return 0
}
[[ -n "${VLLM_ENV_FILE:-}" ]] && load_env_file "$VLLM_ENV_FILE"
load_env_file "$here/qwen35-9b.env"

args=(
  serve "$VLLM_MODEL"
  # The name clients ask for; deskhand's DESKHAND_LLM_MODEL must be this (or an adapter's name).
  --served-model-name "$VLLM_SERVED_MODEL_NAME"
  --host "$VLLM_HOST" --port "$VLLM_PORT"
  # Thinking arrives in the response's `reasoning` field, never mixed into `content`.
  --reasoning-parser qwen3
  # Let the model decide when to call tools; Qwen3.5 writes Qwen3-Coder-style XML calls.
  --enable-auto-tool-choice
  --tool-call-parser qwen3_coder
  # Thinking off unless a request asks for it: deskhand sends enable_thinking on every
  # request anyway; this keeps other clients (curl, a smoke test) from thinking for minutes.
  --default-chat-template-kwargs '{"enable_thinking":false}'
  # Text only: skip the vision encoder and give its memory to the KV cache.
  --language-model-only
  # Context per request (prompt + answer); longer requests get a 400.
  --max-model-len "$VLLM_MAX_MODEL_LEN"
  # Share of the GPU's memory vLLM takes: weights, then KV cache with what is left.
  --gpu-memory-utilization "$VLLM_GPU_MEMORY_UTILIZATION"
  # Sequences decoded together; more waits in the queue below (deskhand capacity sizes it).
  --max-num-seqs "$VLLM_MAX_NUM_SEQS"
  # Overload answers 503 instead of queueing without bound (vLLM >= 0.29); deskhand's client
  # retries with backoff and then serves the turn on its degraded path.
  --max-num-queued-reqs "$VLLM_MAX_NUM_QUEUED_REQS"
  # The model card's weights need the model's own code.
  --trust-remote-code
)

case "$VLLM_SPEEDUP" in
  # deskhand keeps the system prompt and tool schemas byte-identical per tenant, so
  # every turn shares a long cached prefix (watch vllm:prefix_cache_hits on the dashboard).
  prefix) args+=(--enable-prefix-caching) ;;
  # One multi-token-prediction draft token: lower latency at low concurrency. Prefix
  # caching is switched off explicitly: both together corrupt the GDN recurrent state on
  # builds without vLLM PR #48375.
  mtp) args+=(--no-enable-prefix-caching --speculative-config '{"method":"mtp","num_speculative_tokens":1}') ;;
  none) args+=(--no-enable-prefix-caching) ;;
  *) echo "VLLM_SPEEDUP must be prefix, mtp or none (got $VLLM_SPEEDUP)" >&2; exit 2 ;;
esac

case "$VLLM_PRECISION" in
  bf16) args+=(--dtype bfloat16) ;;
  # Online FP8 quantisation of the bf16 checkpoint: about half the weight memory.
  fp8) args+=(--dtype bfloat16 --quantization fp8) ;;
  # A checkpoint quantised ahead of time (e.g. an FP8 build): its own config says how.
  checkpoint) args+=(--dtype auto) ;;
  *) echo "VLLM_PRECISION must be bf16, fp8 or checkpoint (got $VLLM_PRECISION)" >&2; exit 2 ;;
esac

# Per-tenant LoRA adapters, "name=path name=path": each is served under its name beside the
# base model, and a tenant's bot file picks one with `model: {name: <adapter name>}`.
if [[ -n "${VLLM_LORA_MODULES// /}" ]]; then
  read -r -a adapters <<< "$VLLM_LORA_MODULES"
  for adapter in "${adapters[@]}"; do
    [[ "$adapter" =~ ^[A-Za-z0-9._-]+=.+$ ]] || {
      echo "VLLM_LORA_MODULES: '$adapter' is not name=path" >&2; exit 2; }
  done
  # Adapters share the base weights; max-loras of them sit on the GPU at once, each up to
  # max-lora-rank (the rank the adapters were trained with).
  args+=(--enable-lora --max-loras "$VLLM_MAX_LORAS" --max-lora-rank "$VLLM_MAX_LORA_RANK"
         --lora-modules "${adapters[@]}")
fi

# Lower it when vLLM stops on the Mamba cache assertion (num_cache_lines >= batch, PR #34571).
if [[ -n "${VLLM_MAX_CUDAGRAPH_CAPTURE_SIZE:-}" ]]; then
  args+=(--max-cudagraph-capture-size "$VLLM_MAX_CUDAGRAPH_CAPTURE_SIZE")
fi

if [[ "${1:-}" == "--dry-run" ]]; then
  printf '%q ' vllm "${args[@]}"; echo
  exit 0
fi

command -v vllm >/dev/null || { echo "vllm is not installed: pip install 'deskhand[serve]'" >&2; exit 1; }
python="${PYTHON:-python3}"
installed="$("$python" -c 'import vllm; print(vllm.__version__)')"
"$python" - "$installed" "$VLLM_MIN_VERSION" <<'PY' || { echo "vLLM $installed is older than $VLLM_MIN_VERSION" >&2; exit 1; }
import sys
from packaging.version import Version
sys.exit(0 if Version(sys.argv[1].split("+")[0]) >= Version(sys.argv[2]) else 1)
PY
export HF_HOME
exec vllm "${args[@]}"
