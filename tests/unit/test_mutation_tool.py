"""tools/mutation.py: a lost fork server never turns into made-up outcomes."""

import importlib.util
import socket
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("mw_mutation_tool", REPO / "tools" / "mutation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_client_without_a_server_writes_server_lost_instead_of_an_outcome(tmp_path):
    tool = _tool()
    sock = tmp_path / "server.sock"
    assert tool.client(sock, baseline=True) == 2
    assert "server-lost" in {p.name for p in tmp_path.iterdir()}
    assert "error" in (tmp_path / "server-lost").read_text()


def test_client_returns_the_servers_exit_code(tmp_path):
    tool = _tool()
    path = tmp_path / "s.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)

    def answer(code: bytes):
        conn, _ = srv.accept()
        conn.makefile().readline()
        conn.sendall(code)
        conn.close()

    for code, expected in ((b"1\n", 1), (b"0\n", 0), (b"124\n", 124)):
        t = threading.Thread(target=answer, args=(code,))
        t.start()
        assert tool.client(path, baseline=True) == expected
        t.join()
    assert not (tmp_path / "server-lost").exists()
    # a server that closes without an answer is lost, not a pass or a kill
    t = threading.Thread(target=answer, args=(b"",))
    t.start()
    assert tool.client(path, baseline=True) == 2
    t.join()
    assert (tmp_path / "server-lost").read_text().strip().endswith("no answer")


def test_cosmic_ray_timeout_is_above_the_servers_own_limit(monkeypatch):
    tool = _tool()
    monkeypatch.setattr(tool, "excluded_operators", lambda: [])
    cfg = tool.config("news/dedup.py", [], "/data", Path("/tmp/s.sock"))
    timeout = float(cfg.split("timeout = ")[1].split("\n")[0])
    assert timeout > tool.SERVER_LIMIT


def test_spacy_models_recorded_by_the_unmutated_run_are_handed_out_loaded_once_per_caller(tmp_path, monkeypatch):
    """The server's spaCy wrapper: calls of the recording run are written down, the server loads them, and a child's
    first call with the same arguments gets that loaded pipeline; a second call, or other arguments, load anew."""
    import spacy

    monkeypatch.setattr(spacy, "load", spacy.load)  # the wrapper replaces it; restored after the test
    model = tmp_path / "blank_en"
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(model)
    tool = _tool()
    models = tool._SpacyModels(tmp_path / "spacy-loads.json")
    assert spacy.load == models.load
    models.load(str(model))  # not recording: nothing written
    assert not (tmp_path / "spacy-loads.json").exists()
    models.recording = True
    first = spacy.load(str(model), exclude=["parser"])
    assert first.pipe_names == ["sentencizer"]
    models.recording = False
    models.preload()
    assert len(models.ready) == 1
    ready = next(iter(models.ready.values()))
    assert spacy.load(str(model), exclude=["parser"]) is ready  # handed out once
    again = spacy.load(str(model), exclude=["parser"])
    assert again is not ready and again.pipe_names == ["sentencizer"]
    other = spacy.load(str(model), exclude=["sentencizer"])  # other arguments (a mutant's): its own load
    assert other.pipe_names == []
