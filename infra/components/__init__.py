"""What builds the platform: one Pulumi ComponentResource per module.

Components take typed, flat args and never read stack config or the environment;
`infra.program` wires them from `infra.config.compute`.
"""
