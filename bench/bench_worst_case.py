"""CPU time of the worst inputs we know of (target: none over 100 ms), one ticket each.

spaCy's tokenizer is quadratic on long runs without whitespace, and a careless regex backtracks
on long runs of word characters; these inputs are the ones that once cost seconds.

    .venv/bin/python bench/bench_worst_case.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {
    "1 MB of words": "de server ligt plat " * 52_000,
    "16 KB punctuation": "!?.,;:" * 2_700,
    "16 KB emoji": "😀🔥💥" * 5_500,
    "16 KB brackets": "([{<" * 4_000,
    "64 KB without whitespace": "a" * 65_536,
    "64 KB digits and dots": "1." * 32_768,
    "HTML only": "<html><body>" + "<div><p>tekst</p></div>" * 2_000 + "</body></html>",
    "NUL and lone surrogates": "abc\x00\ud800def" * 1_000,
    "60 KB of quote markers": "> " * 30_000,
    "IP-like dots": "1.2.3.4." * 8_000,
    "at signs": "a@" * 30_000,
    "colons": "a:" * 30_000,
    "slashes": "a/" * 30_000,
    "dashes": "-a" * 30_000,
    "password words": "wachtwoord " * 10_000,
    "reply header without end": "Op " + "x" * 50_000 + " schreef:",
}


def main() -> None:
    from classifier.model import TicketClassifier
    from classifier.schemas import Ticket

    model = TicketClassifier.load(ROOT / "models")
    model.predict([Ticket(subject="warm", body="up")])
    print("worst-case inputs: CPU time of one prediction (target ≤ 100 ms each)")
    worst = 0.0
    # the subject too: reply prefixes that never end in a forward's, below a quoted line
    cases = [("test", body, name) for name, body in CASES.items()] + [
        ("re : " * 100 + "x", "vraag\n\n> eerder", "subject: reply prefixes"),
        ("Re [1] :" * 60 + " Fw", "> eerder", "subject: numbered prefixes"),
    ]
    for subject, body, name in cases:
        start = time.process_time()
        model.predict([Ticket(subject=subject, body=body)])
        ms = (time.process_time() - start) * 1000
        worst = max(worst, ms)
        print(f"  {name:<28} {len(subject) + len(body):>9,} chars {ms:8.1f} ms")
    print(f"  worst                        {worst:8.1f} ms")


if __name__ == "__main__":
    main()
