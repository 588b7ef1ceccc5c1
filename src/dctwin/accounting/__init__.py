"""dctwin.accounting"""
