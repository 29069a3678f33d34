"""Benchmarks run by ``make bench``; each module's ``run()`` returns its results."""
