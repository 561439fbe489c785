"""Lambda execution environments that run Python handlers in process."""
