"""The ai4s-kit whitepaper: markdown source plus a build that fills generated tables."""
