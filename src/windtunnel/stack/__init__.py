"""The Stack API: what tests and the CLI use to load, drive and reset an application."""
