"""The simulator: virtual devices behind real transports, synthetic residents, a central registry."""
