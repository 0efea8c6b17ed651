#!/usr/bin/env bash
# Regenerate the README's figures from the shipped sweep configurations (every configuration with a
# [figure] table, in numerics/configs/ and deep/configs/, and any installed package's), then the full
# report (report.html from every store in results/). Finished stores in results/ are reused and an
# interrupted run resumes; a store of an edited configuration is refused with the command that replaces
# it. Configurations whose [report] table says skip (sized for a GPU, needing a corpus, long) are left
# out with the reason, and so are the deep ones when torch is not installed. Run with the package
# installed: bash docs/figures/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
collapse sweep --shipped
collapse plot --shipped --output docs/figures
python -m numerics.workflow_figure --results results --output docs/figures/workflow-theory   # docs/derive.md
# the known-truth (lm-markov) figures again, with the truth's entropy rate on their entropy panels (needs torch)
if python -c 'import torch' 2>/dev/null; then python -m deep.language.figures --output docs/figures; fi
collapse report --output report.html
