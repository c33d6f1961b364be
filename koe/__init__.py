"""Wiring for Koe: settings, database and Redis connections, queues, the web app and the command line.

Domain packages (`bot`, `triage`, `counsellor_console`, `models`) never read the environment; they receive
what they need from here.
"""
