#!/usr/bin/env bash
# Serve Qwen3.5-9B for deskhand with vLLM's OpenAI-compatible server.
#   deploy/vllm/serve.sh                 # settings from qwen35-9b.env beside this script
#   VLLM_PRECISION=fp8 deploy/vllm/serve.sh
#   deploy/vllm/serve.sh --dry-run       # print the command without running it
# Then point deskhand at it: DESKHAND_LLM_BASE_URL=http://<host>:8000 DESKHAND_LLM_MODEL=qwen3.5-9b
# Readiness: GET /v1/models (not /health, which only says the engine process lives).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
env_file="${VLLM_ENV_FILE:-$here/qwen35-9b.env}"
# Values already in the environment win over the file.
while IFS='=' read -r key value; do
  [[ -z "$key" || "$key" == \#* ]] && continue
  [[ -z "${!key:-}" ]] && export "$key=$value"
done < "$env_file"

args=(
  serve "$VLLM_MODEL"
  --served-model-name "$VLLM_SERVED_MODEL_NAME"
  --host "$VLLM_HOST" --port "$VLLM_PORT"
  # Thinking arrives in the response's `reasoning` field, never mixed into `content`.
  --reasoning-parser qwen3
  # Let the model decide when to call tools; Qwen3.5 writes Qwen3-Coder-style XML calls.
  --enable-auto-tool-choice
  --tool-call-parser qwen3_coder
  # Text only: skip the vision encoder and give its memory to the KV cache.
  --language-model-only
  # Context per request (prompt + answer); longer requests get a 400.
  --max-model-len "$VLLM_MAX_MODEL_LEN"
  --gpu-memory-utilization "$VLLM_GPU_MEMORY_UTILIZATION"
  # Overload answers 503 instead of queueing without bound (vLLM >= 0.29).
  --max-num-queued-reqs "$VLLM_MAX_NUM_QUEUED_REQS"
  # The model card's weights need the model's own code.
  --trust-remote-code
)

case "$VLLM_SPEEDUP" in
  # deskhand keeps the system prompt and tool schemas byte-identical per tenant, so
  # every turn shares a long cached prefix.
  prefix) args+=(--enable-prefix-caching) ;;
  # One multi-token-prediction draft token: lower latency at low concurrency.
  mtp) args+=(--no-enable-prefix-caching --speculative-config '{"method":"mtp","num_speculative_tokens":1}') ;;
  none) args+=(--no-enable-prefix-caching) ;;
  *) echo "VLLM_SPEEDUP must be prefix, mtp or none (got $VLLM_SPEEDUP)" >&2; exit 2 ;;
esac

case "$VLLM_PRECISION" in
  bf16) args+=(--dtype bfloat16) ;;
  # Online FP8 quantisation of the bf16 checkpoint: half the weight memory.
  fp8) args+=(--dtype bfloat16 --quantization fp8) ;;
  *) echo "VLLM_PRECISION must be bf16 or fp8 (got $VLLM_PRECISION)" >&2; exit 2 ;;
esac

if [[ "${1:-}" == "--dry-run" ]]; then
  printf '%q ' vllm "${args[@]}"; echo
  exit 0
fi

command -v vllm >/dev/null || { echo "vllm is not installed: pip install 'deskhand[serve]'" >&2; exit 1; }
installed="$(python -c 'import vllm; print(vllm.__version__)')"
python - "$installed" "$VLLM_MIN_VERSION" <<'PY' || { echo "vLLM $installed is older than $VLLM_MIN_VERSION" >&2; exit 1; }
import sys
from packaging.version import Version
sys.exit(0 if Version(sys.argv[1].split("+")[0]) >= Version(sys.argv[2]) else 1)
PY
export HF_HOME
exec vllm "${args[@]}"
