"""Docking with AutoDock Vina against a real receptor: the drug-discovery screen's physics.

Layers, each its own module: ``receptor`` (the ProLIF tutorial receptor made preparable
offline, its pocket box and its origin), ``ligand`` (SMILES to Vina-ready conformers, with
every rejection named), ``vina_dock`` (one molecule's best score and pose), ``work_queue``
(dynamic distribution, pure Python) and ``mpi`` (the only module that touches MPI).
"""
