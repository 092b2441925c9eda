"""ESG and climate: company metrics with units, methodology and provenance, linked to the securities master."""
