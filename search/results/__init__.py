"""A study's results: the schema of its columns, the tables, their analysis and plots.

``from search import results`` is the pandas API: ``results.load(study)``, ``results.pareto(df)``,
``results.grouping_table(df)`` and the rest of ``tables.__all__``.
"""

from search.results.tables import *  # noqa: F401,F403 (the public API)
from search.results.tables import __all__  # noqa: F401
