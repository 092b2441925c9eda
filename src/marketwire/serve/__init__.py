"""Serving: one facade that the SDK, the CLI, the REST API and the web pages all call."""
