"""dctwin.facility"""
