"""The news wire: feeds, guarded fetching, extraction and storage of news items."""
