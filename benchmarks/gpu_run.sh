#!/usr/bin/env bash
# Everything a GPU session runs, in one command (benchmarks/RESULTS.md gives the card, date and output):
#   1. the CUDA tests and the model benchmark on the GPU, while the CPU renders and preprocesses the data;
#   2. the shipped weights (make weights) and the accuracy table of bench_accuracy.py on synthetic DATA,
#      with and without occlusions (the `synthetic` preset), then the same heads with 3x the epochs,
#      as parallel processes sharing the one GPU (small models: one process alone cannot fill it);
#   3. the tables of the finished runs; everything ends up in OUT/gpu_run.tgz.
# Runs still going at DEADLINE seconds are stopped (finished ones keep their result.json in runs/gpu).
# Usage: bash benchmarks/gpu_run.sh OUT [DEADLINE_S=500] [JOBS=16] [DATA=standard]
#   (WEIGHTS=0 skips the shipped weights, LONG=0 the 3x-epochs runs)
#   (PYTHON=... and DEVICE=cpu run it elsewhere, e.g. `DEVICE=cpu bash benchmarks/gpu_run.sh /tmp/o 300 2 tiny`)
set -u
out=$(realpath -m "${1:?usage: gpu_run.sh OUT [DEADLINE_S] [JOBS] [DATA]}")
deadline=${2:-500} jobs=${3:-16} data=${4:-standard}
py=${PYTHON:-python3} dev=${DEVICE:-cuda} work=runs/gpu
log=$work/out
mkdir -p "$out" "$log"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export REIDLIB_CACHE=${REIDLIB_CACHE:-/tmp/reidlib-cache}
left() { local t=$((deadline - SECONDS)); echo $((t > 1 ? t : 1)); }  # (timeout 0 would mean no limit)
stamp() { echo "[$SECONDS s] $*" | tee -a "$log/timeline.txt"; }

stamp "start on $(hostname), $(nproc --all) CPUs"
{ nvidia-smi -L 2>&1; $py -c "import torch, cv2, scipy; print('torch', torch.__version__, '| cuda:', \
torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"; } | tee "$log/env.txt"

# 1. data on the CPU (occlusion 0.5 is also the shipped weights' recipe) | GPU tests, then the GPU benchmark
for occ in 0.5 0; do
  $py -c "
import sys
from reidlib.data import load_dataset
from reidlib.preprocess import cache_root, preprocess_dataset
ds = load_dataset('synthetic', preset=sys.argv[1], seed=0, occlusion=float(sys.argv[2]),
                  cache_dir=cache_root(kind='synthetic'))
preprocess_dataset(ds, progress=False)
print(f'occlusion {sys.argv[2]}: {len(ds.tracklets)} tracklets ready')" "$data" "$occ" >>"$log/data.txt" 2>&1 &
done
if [ "$dev" = cuda ]; then
  timeout 120 $py -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_models.py >"$log/tests_gpu.txt" 2>&1
  stamp "GPU tests: $(tail -n 1 "$log/tests_gpu.txt")"
  timeout 120 $py benchmarks/bench_models.py --device cuda >"$log/bench_models_cuda.txt" 2>&1
  stamp "bench_models on cuda: exit $?"
fi
wait
stamp "data ready: $(tr '\n' ' ' <"$log/data.txt")"

# 2. training runs, weights first; each line is one process
methods=("mean pooling" "RNN attention (LSTM scores + mean)" "FCN attention, sigmoid (Eq. 2)"
         "FCN attention, softmax" "FCN attention + mean (the paper)")
long="--epochs 60 --milestones 45"
{
  [ "${WEIGHTS:-1}" = 1 ] && for h in combined mean rnn_attention; do
    echo "-m reidlib weights --heads $h --device $dev --out $work/weights --work $work/weights_runs"
  done
  extras=("")
  [ "${LONG:-1}" = 1 ] && extras+=("$long")
  for extra in "${extras[@]}"; do
    occs="0.5 0"; [ -n "$extra" ] && occs="0.5"
    for occ in $occs; do for m in "${methods[@]}"; do for s in 0 1 2; do
      echo "benchmarks/bench_accuracy.py --data $data --device $dev --work $work/accuracy --occlusions $occ" \
           "--splits $s --methods '$m'${extra:+ $extra}"  # no trailing blank: xargs -L would join lines
    done; done; done
  done
} >"$log/jobs.txt"
stamp "$(wc -l <"$log/jobs.txt") training processes, $jobs at a time, $(left) s left"
timeout "$(left)" xargs -P "$jobs" -L 1 $py <"$log/jobs.txt" >"$log/jobs_log.txt" 2>&1
stamp "training processes ended (exit $?: 124 = stopped at the deadline)"
pkill -f bench_accuracy.py; pkill -f "reidlib weights"; sleep 1

# 3. tables of what finished, then one archive
report="benchmarks/bench_accuracy.py --data $data --device $dev --work $work/accuracy --report"
$py $report >"$log/accuracy_synthetic_preset.md" 2>&1
$py $report --occlusions 0.5 $long >"$log/accuracy_3x_epochs.md" 2>&1
stamp "done"
cp "$log"/accuracy_*.md "$log/timeline.txt" "$out/"
tar czf "$out/gpu_run.tgz" --exclude=checkpoint.pt "$work"
