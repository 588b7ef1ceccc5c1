"""dctwin.perf"""
