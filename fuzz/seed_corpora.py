#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the project's own vectors.

Every frame, stream, identity and datagram in testvectors/vectors becomes a file in
corpus/<target>/ (named by its content's SHA-256, so reruns add nothing twice). libFuzzer starts
from these real inputs instead of from nothing. Run from anywhere: `python3 fuzz/seed_corpora.py`.
"""

import hashlib
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "testvectors" / "vectors"


def put(target, data):
    folder = FUZZ / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)


def walk_hex(value, found):
    """Every hex string under a key ending in `_hex`, `payload` or `data` (scenario inputs)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith("_hex") or key in ("payload", "data")):
                try:
                    found.append(bytes.fromhex(item))
                except ValueError:
                    pass
            else:
                walk_hex(item, found)
    elif isinstance(value, list):
        for item in value:
            walk_hex(item, found)


def main():
    frames = json.loads((VECTORS / "frames.json").read_text())
    for vector in frames["vectors"]:
        for key, text in vector.items():
            if key.endswith("_json") and isinstance(text, str):
                put("identity_document", text.encode())
        found = []
        walk_hex(vector, found)
        for data in found:
            put("frame_decode", data)
            put("r_body", data[data.find(b"\0") + 1:] if b"\0" in data else data)
            put("node_datagram", b"\0" + data)
        for key in ("inner_hex", "plaintext_hex"):
            if isinstance(vector.get(key), str):
                put("node_session_plaintext", b"\xff" + bytes.fromhex(vector[key]))
        for entry in vector.get("session_frames", []):
            put("node_session_plaintext", b"\xff" + bytes.fromhex(entry["plaintext_hex"]))
        if vector["kind"] == "stream_frame":
            wire = bytes.fromhex(vector["wire_hex"])
            put("stream_framing", b"\x07" + wire)
            put("node_stream", b"\x40" + wire)

    for name in ("capture.jsonl", "probe_replies.jsonl"):
        for line in (VECTORS / "cjp2p" / name).read_text().splitlines():
            record = json.loads(line)
            for key in ("payload", "reply", "request"):
                if isinstance(record.get(key), str):
                    datagram = record[key].encode()
                    put("cjp2p_datagram", datagram)
                    put("node_datagram", b"\x01" + datagram)

    for path in sorted((VECTORS / "scenarios").glob("*.json")):
        scenario = json.loads(path.read_text())
        found = []
        walk_hex(scenario["steps"], found)
        for data in found:
            if data[:1] == b"[":
                put("cjp2p_datagram", data)
            else:
                put("frame_decode", data)
                put("node_datagram", b"\0" + data)
        for step in scenario["steps"]:
            command = step.get("input", {}).get("command", {})
            value = command.get("value") if isinstance(command, dict) else None
            if value is not None:
                text = json.dumps(value, separators=(",", ":")).encode()
                put("strict_json", text)
                put("group_messages", b"\x01" + text)

    for target in ("manifest", "session_content", "routing_bodies", "fragment_reassembly", "path_message", "blake3_tree"):
        (FUZZ / "corpus" / target).mkdir(parents=True, exist_ok=True)
    put("manifest", b"ejtp-manifest 2 " + b"ab" * 32 + b" 8192 4096\n0 0123456789abcdef\n")
    # Tree files of one, two and five leaves: the right lengths and magic, wrong values.
    for leaves, upper in ((1, 0), (2, 0), (5, 5)):
        put("blake3_tree", b"B3T\x02" + bytes(28) + b"\x11" * 32 + b"\x22" * (32 * (leaves + upper)))
    counts = {p.name: len(list(p.iterdir())) for p in sorted((FUZZ / "corpus").iterdir())}
    print("seed corpora:", ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
