#!/bin/bash
# The 10-split protocol on a SLURM cluster: one array task per split, then `collect`.
#
#   sbatch --export=ALL,DATASET=ilidsvid scripts/slurm_train.sh        # splits 0-9, 1 GPU each
#   GPUS=4 sbatch --gres=gpu:4 --export=ALL,DATASET=prid2011 scripts/slurm_train.sh   # 4 GPUs per split (DDP)
#   (when every task is done)  python -m reidlib collect "$RUNS/$DATASET" --splits 0-9
#
# Each task trains and tests one split into $RUNS/$DATASET/split<i>/ (shared storage).
# `experiment --split` always resumes from that folder's checkpoint, so a pre-empted,
# requeued task continues where it stopped. With GPUS > 1 the task runs torchrun, and
# --train.batch_size is the global batch, shared by the GPUs (use a multiple of GPUS).
#SBATCH --job-name=reid
#SBATCH --array=0-9
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=reid-%A_%a.log
set -euo pipefail

DATASET=${DATASET:-ilidsvid}            # ilidsvid, prid2011, sduvid, mars or synthetic
DATA=${DATA:-$HOME/reid-data}           # folder holding the official archives
RUNS=${RUNS:-$HOME/runs}                # shared storage for checkpoints and results
GPUS=${GPUS:-1}
SPLIT=${SLURM_ARRAY_TASK_ID:-0}
SCHEDULE=${SCHEDULE:-$DATASET}           # a name of reidlib.training.SCHEDULES
BATCH=${BATCH:-$GPUS}                   # the paper: 1 pair per step; DDP needs >= 1 pair per GPU

if [ "$GPUS" -gt 1 ]; then
    LAUNCH=(torchrun --standalone --nproc_per_node="$GPUS" -m reidlib)
else
    LAUNCH=(python -m reidlib)
fi
srun "${LAUNCH[@]}" experiment --data.dataset "$DATASET" --data.root "$DATA" --schedule "$SCHEDULE" \
     --train.batch_size "$BATCH" --split "$SPLIT" --out "$RUNS/$DATASET"
