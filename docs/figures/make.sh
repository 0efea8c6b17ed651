#!/usr/bin/env bash
# Regenerate the README's figures from the shipped sweep configurations (about 90 s on 2 cores).
# Run with the package installed: bash docs/figures/make.sh. Results of the same configurations in
# results/ are reused (an interrupted run resumes); those of edited configurations are replaced.
set -euo pipefail
cd "$(dirname "$0")/../.."
collapse sweep configs/kazdan-gaussian.toml --overwrite
collapse plot results/kazdan-gaussian.parquet --where d=10 -o docs/figures/kazdan-gaussian
collapse sweep configs/survey-fig6.toml --overwrite
collapse plot results/survey-fig6.parquet -o docs/figures/survey-fig6
