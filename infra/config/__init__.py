"""Typed stack config: `ai4s:compute` (compute.py) and `ai4s:services` (services.py),
parsed and validated before any resource is declared; errors name the config key."""
