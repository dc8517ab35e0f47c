"""Adapters that plug DLA backbones into other frameworks.

- :mod:`dla_dense.adapters.torchvision`: :func:`~dla_dense.adapters.torchvision.dla_fpn_backbone`, a DLA + FPN
  backbone for torchvision's FasterRCNN, MaskRCNN, KeypointRCNN, RetinaNet and FCOS.
- :mod:`dla_dense.adapters.mmlab`: ``type='DLABackbone'`` for OpenMMLab (mmdet / mmseg) configs; needs the
  optional extra ``pip install 'dla_dense[mmlab]'`` and is only imported when asked for
  (``custom_imports=dict(imports=['dla_dense.adapters.mmlab'])``).

- :mod:`dla_dense.adapters.smp`: importing it registers ``dla_dense-dla34`` (and every other variant) as
  segmentation_models_pytorch encoders with output strides 8/16/32, for all of smp's decoders (DeepLabV3,
  DeepLabV3+, PAN, Unet, FPN, ...); smp's own ``tu-dla34`` serves Unet/FPN only.
"""
