"""dctwin.results"""
