"""Pulumi components of the ai4s-kit platform, one platform component per module.

Nothing here reads Pulumi config or the environment: stacks/*/__main__.py parse their
config with `infra.config` and pass typed args to the components.
"""
