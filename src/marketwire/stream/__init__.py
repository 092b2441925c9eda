"""The realtime vertical: feed normalisers to one columnar event model (:mod:`.events`), in-stream verification
(:mod:`.verify`), a durable segment log (:mod:`.log`), derived live state (bars, books, last-value cache) and the
end-of-day roll of the log into the lake's ``trades``, ``quotes`` and ``bars_intraday`` tables. The service
(:class:`~marketwire.stream.service.StreamService`) is ``mw.stream``."""
