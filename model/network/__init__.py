"""The call network: a scenario built into a networkx graph, compiled arrays, packed trial bits,
the reachability kernel, benchmark graphs and graph readers.
"""
