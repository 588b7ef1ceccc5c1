"""dctwin.site"""
