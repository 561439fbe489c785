"""AppSync emulation: resolver mapping templates and the EvaluateMappingTemplate API."""
