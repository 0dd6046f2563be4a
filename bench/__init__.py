"""Benchmarks (each ``bench/*.py`` runs as a script) and the hand-tuned floor
(``bench.floor``) the API is compared with."""
