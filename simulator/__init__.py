"""The simulator: virtual devices behind real transports, synthetic residents, a centre."""
