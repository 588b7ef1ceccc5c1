"""dctwin.report"""
