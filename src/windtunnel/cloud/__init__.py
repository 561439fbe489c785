"""The embedded cloud: one request pipeline behind an in-process and an HTTP transport."""
