"""Local deployment: provision a template's resources in the embedded cloud."""
