#!/usr/bin/env bash
# Issue #8: train the seeds' CIFAR-10 networks (workloads/gpu/) on a CUDA GPU, prune them to the
# seeds' densities and export every pruned network as a compact checkpoint to ship.
#
# Usage, from the repository root, on a machine with an NVIDIA GPU and a CUDA build of torch:
#   scripts/train_gpu_checkpoints.sh [DATA_DIR] [NAME ...]
# DATA_DIR  data directory with cifar10/cifar10.npz, or with cifar10-parts/ from
#           `resim data split` (default ../shared/data); a parts folder itself works too.
# NAME      only these workloads of workloads/gpu/ (default: all, each dense parent before its
#           pruned variants), e.g. vgg16_cifar vgg16_cifar_sparse_4.
#
# Writes checkpoints/<name>.pt for every pruned workload, one log per workload and
# accuracy.tsv (dense and sparse test accuracies) in $LOG_DIR (default results/gpu_training).
# Every training is cached by resim (RESIM_CACHE, default ~/.cache/resim) and finished exports
# are skipped, so running the script again resumes where it stopped.
set -euo pipefail

DATA_DIR=${1:-../shared/data}
shift || true
LOG_DIR=${LOG_DIR:-results/gpu_training}
DEVICE=${DEVICE:-cuda}

# Dense parents first: their pruned variants start from the dense checkpoint they cache.
ALL=(
  vgg16_cifar vgg16_cifar_sparse_7.5 vgg16_cifar_sparse_4 vgg16_cifar_sparse_2 vgg16_cifar_sparse_1
  vgg19_cifar vgg19_cifar_sparse_4 vgg19_cifar_sparse_2 vgg19_cifar_sparse_1
  vgg11_cifar vgg11_cifar_sparse_4
  resnet18_cifar resnet18_cifar_sparse_25 resnet18_cifar_sparse_4
  alexnet_cifar alexnet_cifar_sparse_4
)
if [ "$#" -gt 0 ]; then NAMES=("$@"); else NAMES=("${ALL[@]}"); fi

mkdir -p "$LOG_DIR" checkpoints
for name in "${NAMES[@]}"; do
  workload=workloads/gpu/$name.yaml
  if [ ! -f "$workload" ]; then
    echo "no workload $workload; names: ${ALL[*]}" >&2
    exit 2
  fi
  args=(train "$workload" --device "$DEVICE" --data-dir "$DATA_DIR")
  export_path=-
  if [[ $name == *_sparse_* ]]; then
    export_path=checkpoints/$name.pt
    if [ -f "$export_path" ]; then
      echo "$name: $export_path exists, skipped"
      continue
    fi
    args+=(--export "$export_path")
  fi
  echo "== $name: resim ${args[*]}"
  started=$SECONDS
  resim "${args[@]}" 2>&1 | tee "$LOG_DIR/$name.log"
  accuracy=$(sed -n 's/^\(trained\|reused\): .*(test accuracy \(.*\))$/\2/p' "$LOG_DIR/$name.log" | tail -n 1)
  printf '%s\t%s\t%s\t%ss\n' "$name" "${accuracy:-?}" "$export_path" "$((SECONDS - started))" \
    > "$LOG_DIR/$name.accuracy"
done

{
  printf 'workload\ttest_accuracy\tcheckpoint\tseconds\n'
  for name in "${ALL[@]}"; do
    if [ -f "$LOG_DIR/$name.accuracy" ]; then cat "$LOG_DIR/$name.accuracy"; fi
  done
} > "$LOG_DIR/accuracy.tsv"
echo "accuracies: $LOG_DIR/accuracy.tsv"
