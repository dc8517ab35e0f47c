# CenterTrack's MOT17-half recipe (configs/mot17_half_centertrack_dla34.py) with plain 3x3 nodes in the DLA-up
# instead of deformable ones: the real-time variant for CPUs. On 2 cores (Intel Xeon with AMX) a 544x960 frame takes
# about a third of the deformable network's time through OpenVINO int8, tracker included, and on the synthetic demo
# videos the same change cost 1.5 HOTA points (docs/speed.md, "Real-time video on two CPU cores"). Run it with
# `tools/test.py ... --backend openvino --int8` or `Predictor(..., backend="openvino", int8=True)`. The nodes have
# FairMOT's plain-node layout, not that of the deformable checkpoints (CenterTrack's releases): initialise from a
# conv-node CrowdHuman run (configs/crowdhuman_centertrack_dla34.py with --cfg-options model.node=conv) or from
# the ImageNet backbone alone.
# Launch: torchrun --nproc_per_node=2 tools/train_track.py configs/mot17_half_centertrack_lite_dla34.py
_base_ = "mot17_half_centertrack_dla34.py"
model = dict(node="conv")
