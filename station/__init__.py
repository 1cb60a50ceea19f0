"""Rekam station daemon: the gRPC API, authentication, configuration and the CLI."""
