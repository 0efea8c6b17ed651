"""A model-collapse plugin: a Poisson rate refitted by its sample mean on samples of itself.

Installed (``pip install -e examples/poisson``), its quantities and claims appear in ``collapse list``,
``collapse verify`` holds them against its simulator, ``collapse sweep poisson`` runs its configuration
and ``collapse report`` shows it: the toolkit finds all three through entry points (its
``pyproject.toml``), and no toolkit file names it.

* ``collapse_poisson.theory``: the quantities and the closed forms (SymPy), with their checks;
* ``collapse_poisson.simulator``: the family on the toolkit's generational driver, its settings schema,
  metrics, and which quantities its metrics measure;
* ``collapse_poisson/configs/poisson.toml``: a sweep with its report section, figure and demo size.
"""
