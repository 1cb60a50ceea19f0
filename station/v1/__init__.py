"""Generated station.v1 protobuf and gRPC modules (do not edit; run `make proto`)."""
