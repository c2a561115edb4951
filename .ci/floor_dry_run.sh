#!/usr/bin/env bash
# CI leg: the lowest Snakemake that pyproject.toml declares dry-runs the demo and the paper
# configuration (generated dataset folders, a stand-in weights file), in a fresh venv that has
# only Snakemake: the workflow imports nothing else while it builds the DAG.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(sed -n 's/.*"snakemake\[reports\]>=\([0-9.]*\)".*/\1/p' pyproject.toml)
[ -n "$floor" ] || { echo "no snakemake floor found in pyproject.toml" >&2; exit 1; }
venv=${FLOOR_VENV:-.venv-floor}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$(cd "$venv" && pwd)/bin/python"
"$py" -m pip install --quiet "snakemake[reports]==$floor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$work"  # a clean copy of the workflow
mkdir -p "$work/data/ILSVRC2012/train/n00000001" "$work/data/SUN397/a/abbey"
touch "$work/data/ILSVRC2012/train/n00000001/x.JPEG" "$work/data/weights.pth"
cat >"$work/data/roots.yaml" <<YAML
data: {root: $work/data/ILSVRC2012}
test: {root: $work/data/SUN397}
model: {backbone_weights: $work/data/weights.pth}
YAML
cd "$work"
echo "snakemake $("$py" -m snakemake --version)"
run() {
    "$py" -m snakemake -n --quiet rules "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
    grep -E "^total" "$work/out.txt"
}
run
run --configfile config/demo-study.yaml
run --configfile config/paper.yaml data/roots.yaml
echo "snakemake $floor: the demo, demo-study and paper configurations dry-run"
