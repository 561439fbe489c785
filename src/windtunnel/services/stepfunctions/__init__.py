"""Step Functions: the Amazon States Language engine, its integrations and its API."""
