"""The ai4s-kit platform as Pulumi code, in three rooms:

- `infra.components`: what builds the platform, one ComponentResource per module;
- `infra.config`: the typed stack config those components are wired from;
- `infra.verify`: what checks it offline (render under mocks, schemas, policies, chart
  contracts, tenancy and quota properties).

`infra.program` is the one program every stack runs; `infra.outputs` holds the output
keys; `infra.versions` every pinned chart, image and API version.
"""
