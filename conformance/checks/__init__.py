"""Checks, one module per catalogue category; each registers functions under catalogue ids."""
