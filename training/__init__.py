"""Digits training: MNIST data, the CNN, the training loop, evaluation, plots and ONNX export."""
