"""Readers that turn every supported application definition into one CloudFormation model."""
