"""Fundamentals and estimates: SEC facts point in time, standardised statements, ratios, consensus."""
