"""What checks the platform offline: render under mocks, validate against schemas
(crds/), policies, chart contracts and the tenancy and quota properties."""
