"""Drug-discovery reference workload: MPI physics (RDKit ETKDG + MMFF94) over a molecule
library, a DDP-trained GNN surrogate with a random-forest baseline, and a KServe-served
screen of the whole library."""
