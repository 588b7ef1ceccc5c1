"""dctwin.sweep"""
