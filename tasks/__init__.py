"""Domain service-task operators and the worker/scheduler entry points.

Importing this package registers every operator of the product in engine.operators.
"""
