"""The bus's message layout (JSON lines grouped by listing) and the hub's encoded chunks: what a server fans out
from the bus is byte for byte what it would send for the same rows, and any consumer gets the rows back."""

from __future__ import annotations

import math

import msgpack
import pytest

from marketwire.errors import InvalidInput
from marketwire.stream.bus import JSONL, decode_sections, encode_message, message_rows
from marketwire.stream.hub import Chunk, EncodedChunk, Hub

ROWS = [
    {"listing_id": "XNYS:BAC", "ts_event": 1_381_152_600_123_000_000, "ts_recv": 1_733_300_000_000_000_001,
     "price": 15.27, "size": 100.0, "conditions": "@ F\t\n\"\\", "trade_id": None, "venue": "NYSE"},
    {"listing_id": "binance:BTC/USDT", "ts_event": 2, "ts_recv": 3, "price": 1e-9, "size": 0.5, "venue": "Bînance",
     "trade_id": "9007199254740993"},
    {"listing_id": "XNYS:BAC", "ts_event": 4, "ts_recv": 5, "bid_price": float("nan"), "ask_price": 15.28},
]


def test_a_message_round_trips_grouped_by_listing() -> None:
    data = encode_message([("XNYS:BAC", [ROWS[0], ROWS[2]]), ("binance:BTC/USDT", [ROWS[1]])])
    assert data.startswith(JSONL) and data.endswith(b"\n")
    assert data.count(b"\n") == 1 + 2 + 3  # marker, two section lines, three events: no raw line break inside one
    sections = decode_sections(data)
    assert [(li, len(e)) for li, e in sections] == [("XNYS:BAC", 2), ("binance:BTC/USDT", 1)]
    back = message_rows(data)
    assert back[0][1][0] == ROWS[0] and back[1][1][0] == ROWS[1]
    assert back[0][1][1]["bid_price"] is None and back[0][1][1]["ask_price"] == 15.28  # NaN goes as null, as in frames
    assert back[0][1][0]["ts_event"] == 1_381_152_600_123_000_000  # nanoseconds exact


def test_messages_of_earlier_versions_are_still_read() -> None:
    rows = [{"listing_id": "A", "seq": 1}, {"listing_id": "B", "seq": 2}]
    assert message_rows(msgpack.packb(rows)) == [(None, rows)]
    assert message_rows(msgpack.packb(rows[:1]), "A") == [("A", rows[:1])]


def test_a_listing_that_cannot_be_framed_and_a_malformed_message_are_named() -> None:
    with pytest.raises(InvalidInput) as e:
        encode_message([("XNYS:\tBAC", ROWS[:1])])
    assert e.value.fields["param"] == "listing_id" and "tab or a line break" in str(e.value)
    good = encode_message([("XNYS:BAC", ROWS[:1])])
    for bad in (good.replace(b"\t1\n", b"\t2\n"), good.replace(b"\t1\n", b"\tx\n"), JSONL + b"XNYS:BAC\n{}\n"):
        with pytest.raises(InvalidInput) as e:
            decode_sections(bad)
        assert "JSON-lines layout" in str(e.value) and e.value.fields["param"] == "message"


def test_encoded_chunks_frame_exactly_as_rows_do_and_decode_on_demand() -> None:
    rows = [ROWS[0], ROWS[2]]
    (li, enc), = decode_sections(encode_message([("XNYS:BAC", rows)]))
    encoded, plain = EncodedChunk("trades", li, enc), Chunk("trades", li, rows)
    assert encoded.json() == plain.json()
    assert EncodedChunk("trades", li, enc[:1]).json() == Chunk("trades", li, rows[:1]).json()
    head, rest = encoded.split(1)
    assert (head.n, rest.n) == (1, 1) and rest.json() == Chunk("trades", li, rows[1:]).json()
    events = encoded.events()
    assert [e.row["ts_event"] for e in events] == [ROWS[0]["ts_event"], 4] and events[0].channel == "trades"
    assert events[1].row["bid_price"] is None and not (isinstance(events[1].row["bid_price"], float)
                                                       and math.isnan(events[1].row["bid_price"]))


def test_the_hub_fans_encoded_sections_out_like_rows() -> None:
    by_rows, by_encoded = Hub(), Hub()
    subs = []
    for hub in (by_rows, by_encoded):
        subs.append((hub.subscription(["trades"], ["XNYS:BAC"]), hub.subscription(["trades"], ["*"])))
    by_rows.publish_rows("trade", ROWS)
    by_encoded.publish_encoded("trade", decode_sections(encode_message(
        [("XNYS:BAC", [ROWS[0], ROWS[2]]), ("binance:BTC/USDT", [ROWS[1]])])))
    assert by_rows.published == by_encoded.published == {"trades": 3}
    assert by_rows.fanned_out == by_encoded.fanned_out == 5
    (one_r, all_r), (one_e, all_e) = subs
    assert one_r.drain_json() == one_e.drain_json()
    assert sorted(all_r.drain_json()[0].split(b"},{")) == sorted(all_e.drain_json()[0].split(b"},{"))
    with pytest.raises(KeyError):
        by_encoded.publish_encoded("nonsense", [])
