"""EventBridge emulation: the event-pattern engine shared with SNS and Lambda filtering."""
