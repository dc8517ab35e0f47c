# CenterTrack's CrowdHuman pre-training (experiments/crowdhuman.sh): still images trained as a frame pair of the
# same image under two random affines (shift 0.05, scale 0.05), full-body boxes, ignore boxes as crowds,
# previous heatmap with disturbances 0.05 / 0.4 / 0.1; 512x512 input. Adam lr 1.25e-4 at batch 32 (linear scaling
# rule), 140 epochs with x0.1 at 90 and 120 as the script. CrowdHuman train: 15,000 images -> 469 iterations per
# epoch at batch 32, 65,660 iterations. Its checkpoint initialises configs/mot17_half_centertrack_dla34.py.
# Data: data/crowdhuman/annotation_{train,val}.odgt and data/crowdhuman/Images/*.jpg.
model = dict(
    task="track",
    backbone="dla34",
    num_classes=1,
    node="dcn",
    head_conv=256,
    pretrained=True,
    pre_hm=True,
    ltrb_amodal=True,
)
data = dict(
    dataset="crowdhuman",
    root="data/crowdhuman",
    train_split="train",
    val_split="val",
    odgt_file="annotation_{split}.odgt",
    odgt_img_dir="Images",
    crop_size=(512, 512),
    crop_scale_range=(0.6, 1.4),
    hflip=True,
    color_aug=True,
    max_objs=256,
    shift=0.05,
    scale=0.05,
    hm_disturb=0.05,
    lost_disturb=0.4,
    fp_disturb=0.1,
    batch_size=16,
)
optim = dict(name="adam", lr=1.25e-4, weight_decay=0.0, schedule="step", steps=(42210, 56280), gamma=0.1)
train = dict(max_iters=65660, val_interval=4690, checkpoint_interval=2345, log_interval=50, amp="none")
evaluation = dict(input_size=(512, 512), tracker="centertrack", track_thresh=0.4, pre_thresh=0.5, baseline=False)
