"""Convolution shapes over thousands of random configurations, invalid ones included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dlverify import registry
from dlverify.crosscheck import agreement

GENERAL = registry.get("conv.out_shape_general")


@settings(max_examples=1500)
@given(st.integers(0, 2**31))
def test_every_conv_configuration_matches_pytorch(seed: int) -> None:
    # 1-3 spatial axes, per-axis kernel/stride/dilation, asymmetric padding and groups:
    # the derived shape, or "invalid" exactly where PyTorch raises
    for prop in GENERAL.properties:
        for m in prop.measure({"seed": seed}):
            assert m.ok, m.check


@settings(max_examples=300)
@given(GENERAL.cases())
def test_the_catalog_formula_matches_pytorch(case: dict) -> None:
    for m in agreement(GENERAL, case):
        assert m.ok, m.check


def test_a_reversed_gradient_shape_says_why() -> None:
    from dlverify.checking.judge import judge

    v = judge("conv1d.dl_dW_shape", "3x5x1")
    assert v.verdict == "incorrect" and "wrong order" in v.message and "gradient has the shape of W" in v.message
