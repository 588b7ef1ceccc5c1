"""dctwin.validate"""
