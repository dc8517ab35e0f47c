"""Training engine shared by segmentation and classification: loop, checkpoints, logging, DDP."""
