#!/usr/bin/env bash
# Everything a GPU session runs, in one command (GPU time is short: run this once, then give the machine back):
#   1. the CUDA tests (tests/test_gpu.py: mixed precision, checkpoints, CPU-equal features, compile=True vs
#      eager) and the model benchmark on the GPU (FCN vs LSTM, eager and captured in CUDA graphs, the
#      training step, 2,000 steps extrapolated to the paper's schedule), while the CPU renders the data;
#   2. the ablation table of bench_accuracy.py on synthetic DATA (degraded and clean) and the shipped
#      weights (make weights), as parallel processes sharing the one GPU (small models: one process
#      alone cannot fill it);
#   3. the results files (reidlib/results/*.json) and the RESULTS.md sections; everything ends up in
#      OUT/gpu_run.tgz, with the logs.
# Runs still going at DEADLINE seconds are stopped; finished ones keep their result.json in runs/gpu, so a
# second call continues.
# Usage: bash benchmarks/gpu_run.sh OUT [DEADLINE_S=500] [JOBS=24] [DATA=standard]
#   (WEIGHTS=0 skips the shipped weights; PYTHON=... and DEVICE=cpu run it elsewhere, e.g.
#    `DEVICE=cpu bash benchmarks/gpu_run.sh /tmp/o 300 2 tiny`)
set -u
out=$(realpath -m "${1:?usage: gpu_run.sh OUT [DEADLINE_S] [JOBS] [DATA]}")
deadline=${2:-500} jobs=${3:-24} data=${4:-standard}
py=${PYTHON:-python3} dev=${DEVICE:-cuda} work=runs/gpu
log=$work/out
mkdir -p "$out" "$log"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export REIDLIB_CACHE=${REIDLIB_CACHE:-/tmp/reidlib-cache}
left() { local t=$((deadline - SECONDS)); echo $((t > 1 ? t : 1)); }  # (timeout 0 would mean no limit)
stamp() { echo "[$SECONDS s] $*" | tee -a "$log/timeline.txt"; }
machine=$($py -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU')")

stamp "start on $(hostname), $(nproc --all) CPUs, $machine"
{ nvidia-smi -L 2>&1; $py -c "import torch, cv2, scipy; print('torch', torch.__version__)"; } | tee "$log/env.txt"

# 1. the data of both conditions on the CPU | the GPU tests, then the GPU benchmark
for preset in "$data" "${data}_clean"; do
  $py -c "
import sys
from reidlib.experiments import DataConfig, load_data
for use_flow in (True, False):
    load_data(DataConfig(preset=sys.argv[1], use_flow=use_flow), progress=False)
print(sys.argv[1], 'ready')" "$preset" >>"$log/data.txt" 2>&1 &
done
if [ "$dev" = cuda ]; then
  timeout 240 $py -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_models.py >"$log/tests_gpu.txt" 2>&1
  stamp "GPU tests: $(tail -n 1 "$log/tests_gpu.txt")"
  timeout 180 $py benchmarks/bench_models.py --device cuda >"$log/bench_models_cuda.txt" 2>&1
  stamp "bench_models on cuda: exit $?"
fi
wait
stamp "data ready: $(tr '\n' ' ' <"$log/data.txt")"

# 2. training: the shipped weights first (one process per head), then the ablation's runs
{
  [ "${WEIGHTS:-1}" = 1 ] && for h in $($py -c "from reidlib.experiments import SHIPPED_HEADS; print(*SHIPPED_HEADS)"); do
    echo "-m reidlib weights --heads [$h] --device $dev --out $work/weights --work $work/weights_runs"
  done
} >"$log/weights_jobs.txt"
timeout "$(left)" xargs -P 4 -L 1 $py <"$log/weights_jobs.txt" >"$log/weights_log.txt" 2>&1 &
timeout "$(left)" $py benchmarks/bench_accuracy.py --data "$data" --device "$dev" --jobs "$jobs" \
  --work "$work/accuracy" --machine "$machine" --out "$out/accuracy.json" >"$log/accuracy_log.txt" 2>&1
stamp "ablation ended (exit $?: 124 = stopped at the deadline)"
wait
stamp "weights ended"
pkill -f bench_accuracy.py; pkill -f "reidlib weights"; sleep 1

# 3. what finished: the results file and its RESULTS.md section, then one archive
$py benchmarks/bench_accuracy.py --data "$data" --device "$dev" --work "$work/accuracy" --report \
  --machine "$machine" --out "$out/accuracy.json" >"$log/accuracy_report.md" 2>&1
cp reidlib/results/speed_cuda.json "$out/" 2>/dev/null
cp -r "$work/weights" "$out/" 2>/dev/null
stamp "done"
cp "$log"/*.txt "$log"/*.md "$out/" 2>/dev/null
tar czf "$out/gpu_run.tgz" --exclude=checkpoint.pt "$work"
