"""The suite's own layout rules: every test carries the marker of its tree (tests/unit, tests/integration),
so ``pytest -m unit`` and ``-m integration`` select all of them without anyone marking a file by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def test_every_collected_test_carries_the_marker_of_its_tree(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None
    for item in request.session.items:
        tree = item.path.resolve().relative_to(TESTS).parts[0]
        assert tree in ("unit", "integration"), item.nodeid  # a new tree needs a marker in pyproject and conftest
        assert item.get_closest_marker(tree) is not None, item.nodeid
