"""The deep-learning layer: torch models retrained generation after generation, through the same
workflows, generational driver, catalog, results store, sweeps and statistics as the numpy simulators.

* ``deep.replica``: seeds as a replica axis (R independent models as one batched model);
* ``deep.train``: the trainer (a recorded budget: fixed steps or epochs over what the workflow hands over);
* ``deep.chain``: model families on numerics.driver, checkpointed after every generation, resumed exactly;
* ``deep.data``: scikit-learn's 8x8 digits, IDX files (MNIST, Fashion-MNIST from the Debian package);
* ``deep.models``: image VAEs and autoencoders, and the bridge models (an affine Gaussian, a linear VAE)
  whose optimum is a closed-form maximum-likelihood fit;
* ``deep.metrics``, ``deep.teacher``: per-generation metrics and a frozen Gaussian-mixture truth;
* ``deep.language``: language models on a known-truth Markov language and on real text;
* ``deep.simulators``: all of these registered in numerics.catalog (run by ``collapse sweep`` and
  ``collapse verify``).

torch is an optional dependency: ``pip install torch==2.13.0`` (the CPU build) then
``pip install -e '.[deep]'``.
"""
