"""How /api answers while anonymous clients trickle POST bodies (slowloris on the body).

Starts gunicorn with the documented settings (``--preload -w 1 --threads 8``) on a
throw-away store, measures ``GET /api/collections`` alone, then while ``--clients``
sockets each send ``POST /login`` headers and then one body byte a second. Prints the
latencies and what the slow clients were answered.

    python benchmarks/slow_bodies.py [--clients 10] [--seconds 15] [--repo .]

``--repo`` picks the code to run (e.g. an unpacked older commit, to compare).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_store(repo: Path, folder: Path) -> Path:
    code = ("import sys; from geo_pcmt.store import GeoPackageStore; "
            "from geo_pcmt.runs.seed import load_boundaries; "
            "s = GeoPackageStore(sys.argv[1]); s.init(); load_boundaries(s)")
    path = folder / "bench.gpkg"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(repo)), cwd=repo)
    return path


def get_ms(url: str, timeout_s: float = 60) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout_s) as res:
        res.read()
    return (time.monotonic() - started) * 1000


def trickle(port: int, stop: threading.Event, answers: list, length: int = 1000) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                 b"application/x-www-form-urlencoded\r\n"
                 + f"Content-Length: {length}\r\n\r\n".encode())
    started = time.monotonic()
    sock.settimeout(1.0)
    sent = 0
    while not stop.is_set() and sent < length:
        try:
            data = sock.recv(200)
            if data:
                answers.append((round(time.monotonic() - started, 1),
                                data.split(b"\r\n", 1)[0].decode()))
                break
        except socket.timeout:
            pass
        except OSError:
            break
        try:
            sock.sendall(b"x")
            sent += 1
        except OSError:
            answers.append((round(time.monotonic() - started, 1), "connection closed"))
            break
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = make_store(repo, folder)
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(repo), GEO_PCMT_STORE=str(store),
                   GEO_PCMT_USERS=str(folder / "users.sqlite"))
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--preload", "-w", "1", "--threads", "8",
             "-b", f"127.0.0.1:{port}", "app:app"], cwd=repo, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/api/collections"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    get_ms(url, 5)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            alone = [get_ms(url) for _ in range(20)]
            stop, answers = threading.Event(), []
            clients = [threading.Thread(target=trickle, args=(port, stop, answers), daemon=True)
                       for _ in range(args.clients)]
            for c in clients:
                c.start()
            time.sleep(1.0)
            under_attack, end = [], time.monotonic() + args.seconds
            while time.monotonic() < end:
                try:
                    under_attack.append(get_ms(url, timeout_s=end - time.monotonic() + 30))
                except OSError as exc:
                    under_attack.append(float("inf"))
                    print("  /api failed:", exc)
                time.sleep(0.5)
            stop.set()
            for c in clients:
                c.join(5)
        finally:
            server.terminate()
            server.wait(10)
    print(f"code: {repo}")
    print(f"/api alone:        median {statistics.median(alone):7.1f} ms, max {max(alone):7.1f} ms")
    print(f"/api with {args.clients} slow: median {statistics.median(under_attack):7.1f} ms, "
          f"max {max(under_attack):7.1f} ms, {len(under_attack)} requests in {args.seconds:.0f} s")
    print(f"slow clients answered: {sorted(answers) or 'none'}")


if __name__ == "__main__":
    main()
