"""Lambda handlers of the checkout workflow."""
