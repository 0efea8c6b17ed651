#!/usr/bin/env bash
# Regenerate the README's figures from the shipped sweep configurations, then the full report
# (report.html from every store in results/). About a quarter of an hour on 2 cores with torch installed,
# from empty results; a rerun reuses finished stores (5 min 17 s, with three of them recomputed). Without
# torch the deep configurations are skipped, with a line. Run with the package installed:
# bash docs/figures/make.sh. Results of the same configurations in results/ are reused (an interrupted
# run resumes); those of edited configurations are replaced. Not run here: configs/deep-fashion.toml
# (sized for a GPU), configs/deep-kjv.toml (needs kjv.txt: apt-get install bible-kjv, then
# bible -f "Gen1:1-Rev22:21" > kjv.txt), configs/deep-markov-transformer.toml (about 7 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
collapse sweep configs/kazdan-gaussian.toml --overwrite
collapse plot results/kazdan-gaussian.parquet --where d=10 -o docs/figures/kazdan-gaussian
collapse sweep configs/survey-fig6.toml --overwrite
collapse plot results/survey-fig6.parquet -o docs/figures/survey-fig6
collapse sweep configs/categorical.toml --overwrite
collapse plot results/categorical.parquet -o docs/figures/categorical

if python -c "import torch" 2>/dev/null; then
    collapse sweep configs/deep-bridge.toml --overwrite
    collapse plot results/deep-bridge.parquet --metric mean_sq_error trace_ratio -o docs/figures/deep-bridge
    collapse sweep configs/deep-digits.toml --overwrite
    collapse plot results/deep-digits.parquet --metric train_loss train_excess test_loss frechet class_entropy \
        --hue workflow --facet model -o docs/figures/deep-digits
    for c in deep-survey-fig9 deep-latent-spread deep-teacher deep-markov deep-lm-bridge; do
        collapse sweep configs/$c.toml --overwrite
    done
    collapse plot results/deep-latent-spread.parquet -o docs/figures/deep-latent-spread
    collapse plot results/deep-markov.parquet --metric kl_rate ce_real entropy_rate -o docs/figures/deep-markov
    collapse plot results/deep-lm-bridge.parquet -o docs/figures/deep-lm-bridge
    collapse sweep configs/deep-scarce-real.toml --overwrite
    collapse plot results/deep-scarce-real.parquet --hue synthetic --facet n --metric kl_rate ce_real \
        -o docs/figures/deep-scarce-real
else
    echo "make.sh: torch is not installed; the deep figures are left as they are (pip install -e '.[deep]')" >&2
fi
collapse report --output report.html
