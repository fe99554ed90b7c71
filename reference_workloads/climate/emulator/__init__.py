"""The neural emulator of the climate workload: a Fourier neural operator and its training."""
