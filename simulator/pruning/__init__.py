"""Pruning (seeds 000/001/003): masks as first-class state and the seeds' pruning methods."""
