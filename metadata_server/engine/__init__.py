"""The compact orchestration engine (HOT templates, dependency walker, stacks).

It imports neither Flask nor HTTP libraries: it takes a store and a clock.
"""
