import pytest
from support import LARGE_BACKBONES, tiered

from dla_dense.analysis import count_macs
from dla_dense.cli.model_info import model_facts
from dla_dense.ops.dcn import ModulatedDeformConv2d

# timm's published table (results/benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv): params (M), GMACs@224.
TIMM_TABLE = {
    "dla34": (15.74, 3.07),
    "dla46_c": (1.30, 0.58),
    "dla46x_c": (1.07, 0.54),
    "dla60x_c": (1.32, 0.59),
    "dla60": (22.04, 4.26),
    "dla60x": (17.35, 3.54),
    "dla102": (33.27, 7.19),
    "dla102x": (26.31, 5.89),
    "dla102x2": (41.28, 9.34),
    "dla169": (53.39, 11.60),
    "dla60_res2net": (20.85, 4.15),
    "dla60_res2next": (17.03, 3.49),
}


@pytest.mark.parametrize("name", tiered(TIMM_TABLE, LARGE_BACKBONES))
def test_params_and_macs_match_timm_table(name):
    params, gmacs = TIMM_TABLE[name]
    facts = model_facts(name)
    assert facts["params_m"] == pytest.approx(params, rel=0.01)
    assert facts["gmacs"] == pytest.approx(gmacs, rel=0.01)


def test_macs_scale_with_resolution():
    small, large = model_facts("dla46_c", 128)["gmacs"], model_facts("dla46_c", 256)["gmacs"]
    assert large == pytest.approx(4 * small, rel=0.02)


@pytest.mark.parametrize("impl", ["sampling", "torchvision"])
def test_deformable_conv_counts_as_its_convolution(impl, monkeypatch):
    monkeypatch.setenv("DLA_DENSE_DCN", impl)
    dcn = ModulatedDeformConv2d(8, 16, 3, padding=1)
    products = 16 * 8 * 9 * 10 * 12  # weight products per output pixel x output pixels
    offsets = 27 * 8 * 9 * 10 * 12  # conv_offset_mask: 3 * 9 output channels
    assert count_macs(dcn, (8, 10, 12)) == products + offsets
