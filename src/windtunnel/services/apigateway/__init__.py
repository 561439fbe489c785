"""API Gateway's data plane: requests to REST and HTTP APIs, answered as AWS answers them."""
