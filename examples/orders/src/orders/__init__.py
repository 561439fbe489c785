"""Lambda handlers of the orders example application."""
