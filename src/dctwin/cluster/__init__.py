"""dctwin.cluster"""
