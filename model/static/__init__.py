"""Static engines on a compiled network: crude Monte Carlo, exact, rare-event, cut sets, importance, N-k.
"""
