"""``crazycall eval``: cases x models x repeats through the run engine, checked, reported, resumable, sharded.

cases.py reads the cases file, assertions.py checks a conversation, scheduler.py runs the rows, report.py
shapes the report, run.py puts them in order.
"""
