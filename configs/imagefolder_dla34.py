# Fine-tune ImageNet-pretrained DLA-34 on your own ImageFolder: data/my_images/{train,val}/<class>/*.jpg.
# Set model.num_classes to the number of class folders, e.g.
#   python tools/train_cls.py configs/imagefolder_dla34.py --cfg-options data.root=data/flowers model.num_classes=5
model = dict(task="cls", backbone="dla34", num_classes=10, pretrained=True)
data = dict(
    dataset="imagefolder",
    root="data/my_images",
    crop_size=(224, 224),
    area_range=(0.08, 1.0),
    color_jitter=0.4,
    batch_size=64,
    val_batch_size=64,
)
optim = dict(name="sgd", lr=0.01, momentum=0.9, weight_decay=1e-4, schedule="poly", warmup_iters=200)
train = dict(max_iters=5000, val_interval=1000, checkpoint_interval=1000, log_interval=50, amp="none")
