"""dctwin.plan"""
