"""API Gateway's data plane: requests to REST and HTTP APIs, handled as AWS handles them."""
