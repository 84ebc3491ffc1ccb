"""Helpers for libgate's own tests and benchmarks. libgate itself never imports this."""
