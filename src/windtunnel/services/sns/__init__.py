"""Amazon SNS behavior that windtunnel owns: filter policies and subscription deliveries."""
