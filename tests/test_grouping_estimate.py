"""The corpus-level estimate of the grouping's precision and recall (benchmarks/grouping.py, ``weighted``):
each judged pair weighs one over its chance of having been drawn from the cells that hold it."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parent.parent / "benchmarks"))  # after the repository
import grouping as bench  # noqa: E402 - benchmarks/grouping.py, not search.grouping

BIG = ("ant", "lsh", 0)  # a large band drawn thinly: each judged pair stands for 50
SMALL = ("ant", "lsh", 6)  # a small band drawn whole: each stands for itself
WIRE = ("ant", "wire", 0)


def _pair(cell, grouped, label, stratum=None, also=()):
    return {"corpus": cell[0], "stratum": stratum or cell[1], "cells": [cell, *also], "grouped": grouped,
            "adjudicated": label}


def test_a_thin_band_counts_for_the_pairs_it_stands_for():
    rows = ([_pair(BIG, False, "same")] + [_pair(BIG, False, "different")] * 3
            + [_pair(SMALL, True, "same")] * 10 + [_pair(SMALL, True, "different")] * 2)
    population = collections.Counter({BIG: 200, SMALL: 12})
    estimate = bench.weighted(rows, population, rounds=50)["both corpora"]
    # one missed copy of 4 drawn from 200 stands for 50 missed copies; 10 grouped ones of 12 for 10
    assert estimate["recall"] == pytest.approx(10 / 60, abs=1e-4)
    assert estimate["precision"] == pytest.approx(10 / 12, abs=1e-4)
    assert estimate["same_missed"] == 50
    # unweighted, the same pairs give recall 10/11: the weighting is what changes it
    assert estimate["recall"] < 10 / 11


def test_a_pair_two_strata_could_draw_has_both_chances():
    # drawn from the wire band (4 of 8), it is also in the LSH band (1 of 100 drawn): chance 0.5 + 0.01
    rows = [_pair(WIRE, False, "same", also=(BIG,))] + [_pair(WIRE, True, "same")] * 3 + [_pair(BIG, True, "same")]
    population = collections.Counter({WIRE: 8, BIG: 100})
    estimate = bench.weighted(rows, population, rounds=50)["both corpora"]
    missed, grouped = 1 / (4 / 8 + 1 / 100), 3 / (4 / 8) + 1 / (1 / 100)
    assert estimate["recall"] == pytest.approx(grouped / (grouped + missed), abs=1e-4)


def test_a_pair_in_no_cell_is_left_out_and_counted():
    rows = [_pair(SMALL, True, "same"), {**_pair(SMALL, False, "same"), "cells": []}]
    estimate = bench.weighted(rows, collections.Counter({SMALL: 1}), rounds=50)
    assert estimate["judged"] == 2 and estimate["in the frame"] == 1
    assert estimate["both corpora"]["recall"] == 1.0


def test_the_interval_holds_the_estimate():
    rows = ([_pair(BIG, True, "same")] * 5 + [_pair(BIG, False, "same")] * 2 + [_pair(BIG, True, "different")]
            + [_pair(SMALL, True, "same")] * 6 + [_pair(SMALL, False, "different")] * 3)
    estimate = bench.weighted(rows, collections.Counter({BIG: 400, SMALL: 9}), rounds=400)["ant"]
    low, high = estimate["recall_interval"]
    assert low <= estimate["recall"] <= high and low < high
    low, high = estimate["precision_interval"]
    assert low <= estimate["precision"] <= high
