"""Services that windtunnel implements itself, beside the ones moto provides."""
