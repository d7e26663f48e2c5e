"""The time engine: time model, routing, capacity (Erlang), callers, simulated years and incident replays;
incident counterfactuals (:mod:`~model.sim.incidents`), the conditional failover-window estimator
(:mod:`~model.sim.failover_windows`) and the event-by-event reference simulator (:mod:`~model.sim.reference`).
"""
