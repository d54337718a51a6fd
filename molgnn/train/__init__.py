"""Training engines: the training loop, metrics, plots and checkpoints."""
