"""The station.v1 service implementations."""
