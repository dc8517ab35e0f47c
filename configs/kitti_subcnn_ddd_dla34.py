# CenterNet's ddd_sub experiment (experiments/ddd_sub.sh): DLA-34 with deformable nodes, ImageNet-pretrained,
# KITTI SubCNN split (data/kitti/ImageSets_subcnn/{train,val}.txt), input 384 x 1280, Adam at 1.25e-4 for batch 32
# scaled to batch 16, 70 epochs with steps at 45 and 60; the iterations below count 232 per epoch (3712 images, the
# 3DOP train split's size): set them from the line count of your train.txt.
model = dict(task="ddd", backbone="dla34", num_classes=3, node="dcn", head_conv=256, pretrained=True)
data = dict(
    dataset="kitti",
    root="data/kitti",
    image_sets="ImageSets_subcnn",
    crop_size=(384, 1280),
    aug=0.5,
    scale=0.4,
    shift=0.1,
    batch_size=16,
    num_workers=4,
)
optim = dict(name="adam", lr=6.25e-5, weight_decay=0.0, schedule="step", steps=(10440, 13920), gamma=0.1)
train = dict(max_iters=16240, val_interval=2320, checkpoint_interval=2320, log_interval=50, seed=0)
evaluation = dict(input_size=(384, 1280), max_dets=100, score_thresh=0.2)
