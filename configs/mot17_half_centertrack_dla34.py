# CenterTrack's MOT17-half recipe (experiments/mot17_half.sh): DLA-34 with deformable nodes, 544x960 input,
# previous image and previous heatmap, amodal boxes, the same augmentation for both frames of a pair, heatmap
# disturbances 0.05 / 0.4 / 0.1; trained on the first half of each MOT17 training sequence (FRCNN set) and tracked
# on the second half with track_thresh 0.4 and pre_thresh 0.5. Adam lr 1.25e-4 at batch 32 (linear scaling rule:
# lr = 1.25e-4 * global_batch / 32), 70 epochs with x0.1 at epoch 60. MOT17 train half: 7 sequences, 2,664
# frames -> 83 iterations per epoch at batch 32, 5,810 iterations, drop at 4,980. Initialise from a CrowdHuman
# (configs/crowdhuman_centertrack_dla34.py) or COCO tracking checkpoint with --cfg-options model.init_from=PATH.
# Launch: torchrun --nproc_per_node=2 tools/train_track.py configs/mot17_half_centertrack_dla34.py
# Data: data/MOT17/train/MOT17-XX-FRCNN/{img1,gt/gt.txt,seqinfo.ini} (the MOT Challenge download, unchanged).
model = dict(
    task="track",
    backbone="dla34",
    num_classes=1,
    node="dcn",
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
