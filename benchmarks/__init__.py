"""Benchmarks of the BPM runtime (engine throughput/latency, timers); see benchmarks/README.md."""
