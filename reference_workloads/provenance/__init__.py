"""Publishing a run: results folders with an RO-Crate (Workflow Run Crate) that a validator
accepts, content identifiers, verification from the published files alone, and reruns."""
