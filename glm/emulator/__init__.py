"""A local GLM-compatible HTTP server for tests, benchmarks and the offline demo.

Run it with `python -m glm.emulator`; use it from tests through `glm.emulator.testing.RunningEmulator`.
docs/emulator.md describes every flag, reply rule and trigger.
"""
