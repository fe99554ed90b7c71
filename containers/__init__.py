"""Container images of the kit: Containerfiles, the local base, the build and its SBOM."""
