"""Digits serving: preprocessing, the onnxruntime engine, the gRPC service, its client; no torch."""
