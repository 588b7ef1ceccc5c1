"""dctwin.workload"""
