# The embedded default for 3D tracking: CenterTrack's tracking,ddd on DLA-34 (conv nodes, 64-channel heads) on
# synthetic KITTI tracking videos written on first use into data/demo_kitti_tracking: 8 videos of 40 frames, each one
# camera watching cuboids of cars, pedestrians and cyclists move along their heading (the cameras and distances of
# configs/demo_ddd_dla34.py, so that most objects are at least 25 px tall). Trained on the first half of every video
# and tracked on the second (CenterTrack's KITTI halves), scored with TrackEval's KITTI protocol (Car, Pedestrian).
# As CenterTrack's KITTI models start from a 3D detector, start from the 3D demo's checkpoint:
#   python tools/train.py configs/demo_track3d_dla34.py --cfg-options model.init_from=work_dirs/demo_ddd_dla34/best.pth
model = dict(
    task="track3d",
    backbone="dla34",
    num_classes=3,
    node="conv",
    head_conv=64,
    pretrained=False,
    pre_hm=True,
    amodal_offset=True,
    init_from=None,
)
data = dict(
    dataset="kitti_tracking",
    root="data/demo_kitti_tracking",
    synthetic=dict(videos=8, frames=40, size=(96, 320), seed=0, focal_range=(0.9, 1.1), depth_range=(10.0, 24.0)),
    train_split="train_half",
    val_split="val_half",
    crop_size=(96, 320),
    crop_scale_range=(0.8, 1.2),
    hflip=True,
    max_objs=16,
    max_frame_dist=3,
    batch_size=8,
    num_workers=0,
)
optim = dict(name="adam", lr=5e-4, weight_decay=0.0, schedule="poly", power=0.9, warmup_iters=20)
train = dict(
    max_iters=600,
    val_interval=300,
    checkpoint_interval=300,
    log_interval=25,
    seed=0,
    amp="auto",
    channels_last=True,
)
evaluation = dict(
    input_size=(96, 320), max_dets=50, tracker="centertrack", track_thresh=0.4, compare_trackers=("byte",)
)
