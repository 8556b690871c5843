"""The results schema: one declaration that the docs, the table and the stored columns follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from blocks import NetSpec, StageSpec
from search.results import schema
from search.config.study import StudyConfig
from search.config.resources import Placement
from search.training.plan import make_plan, plan_columns

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def test_docs_results_md_is_generated_from_the_schema():
    assert DOCS.read_text() == schema.markdown(), "docs/results.md is stale: python -m search.results > docs/results.md"


@pytest.mark.parametrize("column", schema.COLUMNS, ids=schema.NAMES)
def test_each_column_has_a_known_type_and_source_and_a_meaning(column):
    assert column.dtype in schema.DTYPES and column.source in schema.SOURCES and column.meaning
    assert schema.NAMES.count(column.name) == 1 and column.source != "epoch"


@pytest.mark.parametrize("column", schema.EPOCH_COLUMNS, ids=schema.EPOCH_NAMES)
def test_each_epoch_column_is_declared_once_as_an_epoch_column(column):
    assert column.dtype in schema.DTYPES and column.source == "epoch" and schema.EPOCH_NAMES.count(column.name) == 1


def test_the_plan_computes_exactly_the_plan_columns():
    spec = NetSpec((StageSpec(1, 16, 1, "bottleneck", 0.5, 4), StageSpec(1, 32, 2, "bottleneck", 0.5, 8)), stem_width=16)
    assert set(plan_columns(make_plan(StudyConfig(), Placement(1, 0, 2), 3, spec), 16)) == set(schema.names(source="plan"))


def test_names_filter_by_source_and_type_in_table_order():
    result = schema.names(source="result")
    assert "accuracy" in result and "macs" not in result and list(result) == [n for n in schema.NAMES if n in result]
    assert set(schema.names(dtype="datetime")) == {"datetime_start", "datetime_complete"}


@pytest.mark.parametrize("name", sorted(schema.VIEWS))
def test_every_view_names_declared_columns_once(name):
    columns = schema.view(name)
    assert len(columns) == len(set(columns)) and set(columns) <= set(schema.NAMES) | set(schema.RETRAIN_NAMES)
