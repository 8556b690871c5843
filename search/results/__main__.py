"""``python -m search.results > docs/results.md``: the columns' documentation, from the schema."""

import sys

from search.results.schema import markdown

sys.stdout.write(markdown())
