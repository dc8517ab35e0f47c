# CenterTrack's 3D tracking (tracking,ddd) on KITTI tracking: DLA-34 with deformable nodes, head_conv 256, input
# 384 x 1280, previous image and heatmap, the depth / rotation / size / amodal-offset heads beside the tracking head,
# regression losses averaged over the objects; CenterTrack's KITTI recipe (experiments/kitti_half.sh): same
# augmentation for both frames, heatmap disturbances 0.05 / 0.2 / 0.1, batch 16, Adam 1.25e-4, 70 epochs with x0.1
# at epoch 60, tracked with track_thresh 0.4, scored with TrackEval's KITTI protocol (Car, Pedestrian at IoU 0.5).
# KITTI tracking train half: 21 sequences, 3,999 of their 8,008 frames -> 250 iterations per epoch at batch 16,
# 17,500 iterations, drop at 15,000. CenterTrack starts its KITTI models from a 3D detector:
# --cfg-options model.init_from=PATH (e.g. a configs/kitti_3dop_ddd_dla34.py checkpoint).
# Data: the benchmark's data_tracking_image_2, label_2 and calib zips unpacked into data/kitti_tracking
# (training/{image_02/<seq>/, label_02/<seq>.txt, calib/<seq>.txt}).
model = dict(
    task="track3d",
    backbone="dla34",
    num_classes=3,
    node="dcn",
    head_conv=256,
    pretrained=True,
    pre_hm=True,
    amodal_offset=True,
    init_from=None,
)
data = dict(
    dataset="kitti_tracking",
    root="data/kitti_tracking",
    train_split="train_half",
    val_split="val_half",
    crop_size=(384, 1280),
    crop_scale_range=(0.6, 1.4),
    hflip=True,
    color_aug=True,
    max_objs=50,
    max_frame_dist=3,
    same_aug=True,
    hm_disturb=0.05,
    lost_disturb=0.2,
    fp_disturb=0.1,
    batch_size=16,
)
optim = dict(name="adam", lr=1.25e-4, weight_decay=0.0, schedule="step", steps=(15000,), gamma=0.1, warmup_iters=0)
train = dict(max_iters=17500, val_interval=2500, checkpoint_interval=1250, log_interval=20, amp="none")
evaluation = dict(input_size=(384, 1280), tracker="centertrack", track_thresh=0.4, pre_thresh=0.5, max_age=-1)
