"""The cart service: a pure domain module and the Lambda handlers of its REST API."""
