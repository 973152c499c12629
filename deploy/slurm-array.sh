#!/usr/bin/env bash
# tarjim batch as a Slurm job array: task K of N translates the documents of
# shard K/N (a stable hash of each document id) into one shared output
# directory. Tasks share nothing else; a task that is requeued or rerun resumes
# from the manifest under OUTPUT/.tarjim/, and rerunning the array later
# translates only new or changed documents.
#
#   sbatch --array=0-15 deploy/slurm-array.sh /data/archive /data/output /models/opus-mt-ar-en
#
# The array must start at 0 and cover 0..N-1; N is taken from the array size.
#SBATCH --job-name=tarjim
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --requeue
#SBATCH --output=tarjim-%A_%a.log
set -euo pipefail
archive=${1:?archive directory}
output=${2:?output directory}
model=${3:?model directory}
workers=${SLURM_ARRAY_TASK_COUNT:?run with sbatch --array=0-N}
task=${SLURM_ARRAY_TASK_ID:?run with sbatch --array=0-N}
export HF_HUB_OFFLINE=1
status=0
tarjim batch "$archive" --output "$output" --model "$model" \
    --threads "${SLURM_CPUS_PER_TASK:-2}" --shard "$task/$workers" || status=$?
# Exit code 3 means some glossary term could not be placed: the work is done.
if [ "$status" -eq 3 ]; then status=0; fi
exit "$status"
