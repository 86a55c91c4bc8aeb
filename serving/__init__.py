"""Digits serving: preprocessing, the onnxruntime engine, the gRPC service and its client (no torch)."""
