"""Lambda's data plane: invocations run by windtunnel's runtime; the rest is moto's."""
