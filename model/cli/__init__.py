"""The ``nines`` command line and the plumbing the study scripts share (top layer: composes everything).
"""
