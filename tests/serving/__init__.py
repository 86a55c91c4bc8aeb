"""Tests of the serving side: engine, gRPC service, client, CLIs."""
