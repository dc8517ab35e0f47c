# DLA-34 + DLA-up on CamVid (11 classes), the ucbdrive/dla recipe: crop 448, batch 16, SGD lr 0.01 with a
# x0.1 step at 2/3 of training, random scale / rotate / colour. Folder pairs (class-index label PNGs):
#   data/camvid/images/{train,val}/<name>.png  and  data/camvid/labels/{train,val}/<name>.png
# (label value 11 or anything else outside the class list is ignored).
model = dict(task="seg", backbone="dla34", num_classes=11, down_ratio=2, pretrained=True)
data = dict(
    dataset="folder",
    root="data/camvid",
    classes=(
        "sky",
        "building",
        "pole",
        "road",
        "sidewalk",
        "tree",
        "sign",
        "fence",
        "car",
        "pedestrian",
        "bicyclist",
    ),
    palette=(
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (0, 0, 192),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
    crop_size=(448, 448),
    scale_range=(0.5, 2.0),
    rotate=10.0,
    color_jitter=0.3,
    batch_size=16,
    val_batch_size=1,
)
optim = dict(name="sgd", lr=0.01, momentum=0.9, weight_decay=1e-4, schedule="step", steps=(15000,), gamma=0.1)
train = dict(max_iters=22500, val_interval=1500, checkpoint_interval=1500, log_interval=50)
