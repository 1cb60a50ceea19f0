"""What every Rekam package shares: the domain vocabulary, resident-category policies, the
operator message catalogue, and durable file writes. It imports no other Rekam package."""
