"""Temporary AWS environments: one CloudFormation stack per application and Git branch."""
