# CenterTrack's MOT17-half recipe (configs/mot17_half_centertrack_dla34.py) with plain 3x3 nodes in the DLA-up
# instead of deformable ones: the real-time variant for CPUs. On 2 cores (Intel Xeon with AMX) a 544x960 frame takes
# about a third of the deformable network's time through OpenVINO int8, tracker included, and on the synthetic demo
# videos the same change cost 1.5 HOTA points (docs/speed.md, "Real-time video on two CPU cores"). Run it with
# `tools/test.py ... --backend openvino --int8` or `Predictor(..., backend="openvino", int8=True)`. The nodes have
# FairMOT's plain-node layout, not that of the deformable checkpoints (CenterTrack's releases): initialise from a
# conv-node CrowdHuman run (configs/crowdhuman_centertrack_dla34.py with --cfg-options model.node=conv) or from
# the ImageNet backbone alone.
# Launch: torchrun --nproc_per_node=2 tools/train_track.py configs/mot17_half_centertrack_lite_dla34.py
model = dict(
    task="track",
    backbone="dla34",
    num_classes=1,
    node="conv",
    head_conv=256,
    pretrained=True,
    pre_hm=True,
    ltrb_amodal=True,
    init_from=None,
)
data = dict(
    dataset="mot",
    root="data/MOT17",
    train_split="train_half",
    val_split="val_half",
    mot_classes=(1,),
    mot_sequences="*FRCNN",
    min_visibility=0.25,
    crop_size=(544, 960),
    crop_scale_range=(0.6, 1.4),
    hflip=True,
    color_aug=True,
    max_objs=256,
    max_frame_dist=3,
    same_aug=True,
    hm_disturb=0.05,
    lost_disturb=0.4,
    fp_disturb=0.1,
    batch_size=16,
)
optim = dict(name="adam", lr=1.25e-4, weight_decay=0.0, schedule="step", steps=(4980,), gamma=0.1, warmup_iters=0)
train = dict(max_iters=5810, val_interval=830, checkpoint_interval=415, log_interval=20, amp="none")
evaluation = dict(input_size=(544, 960), tracker="centertrack", track_thresh=0.4, pre_thresh=0.5, max_age=-1)
