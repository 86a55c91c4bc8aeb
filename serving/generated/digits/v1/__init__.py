"""Generated protobuf/gRPC stubs (`make protos`); never edit by hand."""
