"""Stochastic processes of the network: duration distributions, call profiles, outage processes, failover.
"""
