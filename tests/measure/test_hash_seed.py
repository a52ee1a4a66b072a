"""The one PYTHONHASHSEED both bundled stores of an A/B run start with."""

from __future__ import annotations

import random

import pytest

from dhakacart_bench.measure.ab import shared_hash_seed


@pytest.mark.parametrize("value", ["0", "1234", "4294967295", " 42 "])
def test_a_seed_set_in_the_environment_is_the_one_both_stores_get(value: str) -> None:
    assert shared_hash_seed({"PYTHONHASHSEED": value}) == int(value)


@pytest.mark.parametrize("value", [None, "", "random", "-1", "4294967296", "12x"])
def test_otherwise_each_run_draws_a_fresh_valid_seed(value: str | None) -> None:
    environ = {} if value is None else {"PYTHONHASHSEED": value}
    drawn = [shared_hash_seed(environ, random.Random(n)) for n in range(50)]
    assert all(0 <= seed < 2**32 for seed in drawn)
    assert len(set(drawn)) == 50  # runs stay independent of each other
    assert shared_hash_seed(environ, random.Random(7)) == drawn[7]  # the rng decides
