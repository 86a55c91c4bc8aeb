"""Digits demo: a browser front end that draws digits and classifies them through the gRPC client."""
