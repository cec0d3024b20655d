"""Consensus glucose metrics and the AGP percentiles."""

import math

import pytest
from pumpctl.patient import agp, metrics


def test_ranges_mean_gmi_cv():
    m = metrics.compute([50, 65, 100, 150, 200, 300], 5)
    assert m.tir == pytest.approx(100 * 2 / 6)
    assert m.below_70 == pytest.approx(100 * 2 / 6)
    assert m.below_54 == pytest.approx(100 / 6)
    assert m.above_180 == pytest.approx(100 * 2 / 6)
    assert m.above_250 == pytest.approx(100 / 6)
    assert m.mean == pytest.approx(865 / 6)
    assert m.gmi == pytest.approx(3.31 + 0.02392 * 865 / 6)
    sd = math.sqrt(sum((v - 865 / 6) ** 2 for v in [50, 65, 100, 150, 200, 300]) / 6)
    assert m.cv == pytest.approx(100 * sd / (865 / 6))
    assert m.hours_above_250 == pytest.approx(5 / 60)
    assert (m.peak, m.nadir) == (300, 50)


def test_risk_indices_are_kovatchevs():
    assert metrics.risk(112.5) == pytest.approx((0.0, 0.0), abs=0.01)  # the risk minimum
    low, high = metrics.risk(50)
    assert high == 0 and low == pytest.approx(10 * (1.509 * (math.log(50) ** 1.084 - 5.381)) ** 2)
    assert metrics.risk(400)[1] > metrics.risk(250)[1] > 0
    assert metrics.risk(5) == metrics.risk(20)  # clipped to the fitted range


def test_agp_percentiles_by_time_of_day():
    # two days: the second 100 mg/dL above the first at every minute
    glucose = [100.0] * 1440 + [200.0] * 1440
    hours, table = agp.percentiles_by_time_of_day(glucose)
    assert len(hours) == 288 and hours[12] == 1.0
    assert table[2][0] == pytest.approx(150)  # median of 100 and 200
    assert table[0][0] == pytest.approx(105) and table[4][0] == pytest.approx(195)
