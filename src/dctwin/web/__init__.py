"""dctwin.web"""
