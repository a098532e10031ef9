#!/usr/bin/env bash
# Train on NGPUS processes of this node with torchrun (one per GPU; on a machine without a
# GPU, CPU processes on the gloo backend).
#
#   tools/dist_train.sh CONFIG NGPUS [tools/train.py options]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# PYTHON (python). The repository root is put on PYTHONPATH, so configs under projects/
# can import their code with custom_imports.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NGPUS [tools/train.py options]" >&2
    exit 2
fi
CONFIG=$1
NGPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NGPUS" \
    "$REPO_ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
