"""Identity in three levels (issuer, security, listing): building the master and resolving identifiers."""
