"""A real `baheth serve` (waitress) on a loopback port."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from conftest import FIXTURES, ROOT, SEED_ID

QUERIES = ["الانترنت", "لبنان", "وزارة الخارجية", '"الأمم المتحدة"', "مصدر:bbc", "فيسبوك -تويتر", "كأس العالم"]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_eight_concurrent_clients_all_get_200(live_server) -> None:
    url, _ = live_server
    statuses: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + 3.0

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            q = urllib.parse.quote(QUERIES[(n + i) % len(QUERIES)])
            status, _ = get(f"{url}/api/search?q={q}&page={1 + i % 2}")
            with lock:
                statuses.append(status)
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) >= 16
    assert set(statuses) == {200}


def test_a_running_server_answers_from_a_new_index(live_server) -> None:
    url, index = live_server
    status, data = get(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))
    assert status == 200 and data["total"] == 1
    before = get(f"{url}/api/health")[1]["generation"]
    rebuilt = subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex", str(ROOT / "seeds"), "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    status, data = get(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))
    assert status == 200 and data["total"] == 0  # the new index has only the seed
    health = get(f"{url}/api/health")[1]
    assert health["generation"] != before and health["documents"] == 1
    added = subprocess.run(
        [sys.executable, "-m", "search.cli", "add", str(FIXTURES / "extra.jsonl"), "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert added.returncode == 0, added.stderr
    assert get(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))[1]["total"] == 1
    assert get(f"{url}/api/doc/{SEED_ID}")[0] == 200
