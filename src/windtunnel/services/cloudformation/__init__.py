"""CloudFormation's read API for the stacks that windtunnel has deployed."""
