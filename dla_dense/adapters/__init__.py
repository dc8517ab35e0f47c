"""Adapters that plug DLA backbones into other frameworks.

- :mod:`dla_dense.adapters.torchvision`: :func:`~dla_dense.adapters.torchvision.dla_fpn_backbone`, a DLA + FPN
  backbone for torchvision's FasterRCNN, MaskRCNN, KeypointRCNN, RetinaNet and FCOS.
- :mod:`dla_dense.adapters.mmlab`: ``type='DLABackbone'`` for OpenMMLab (mmdet / mmseg) configs; needs the
  optional extra ``pip install 'dla_dense[mmlab]'`` and is only imported when asked for
  (``custom_imports=dict(imports=['dla_dense.adapters.mmlab'])``).

segmentation_models_pytorch needs no adapter: use its timm encoders, e.g. ``smp.Unet('tu-dla34')``.
"""
