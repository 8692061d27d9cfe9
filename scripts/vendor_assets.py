"""Re-fetch the map's JavaScript/CSS from the npm registry into geo_pcmt/web/static/vendor/.

Reproducible: every package is pinned (geo_pcmt.vendor.PACKAGES, the versions folium 0.20 links),
fetched with ``npm pack name@version`` in a temporary folder, and only the listed files are
copied, with each package's licence into ``LICENSES.md``. Three small files are made here
(see geo_pcmt.vendor.GENERATED).

Run:  .venv/bin/python scripts/vendor_assets.py [--check]
      --check  only report files of the manifest missing from static/vendor/ (exit 1 if any)
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import folium  # noqa: E402

from geo_pcmt.outputs.map.vendor import PACKAGES, TRANSIENT, VENDOR_DIR, missing_files  # noqa: E402

MIT_AWESOME_MARKERS = """Copyright (C) 2013 L. Voogdt

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
(MIT licence, as declared in the package's package.json, which ships no licence file.)"""


def npm_pack(spec: str, workdir: Path) -> Path:
    out = subprocess.run(["npm", "pack", spec, "--silent", "--json"], cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    return workdir / json.loads(out)[0]["filename"]


def glyphicons_css(bootstrap_css: str) -> str:
    """The @font-face and ``.glyphicon*`` rules of Bootstrap 3's stylesheet, nothing else."""
    blocks = re.findall(r"([^{}]+)\{([^{}]*)\}", bootstrap_css)
    keep = [f"{sel.strip()} {{{body}}}" for sel, body in blocks
            if (sel.strip() == "@font-face" and "Glyphicons" in body)
            or all(s.strip().startswith(".glyphicon") for s in sel.split(","))]
    return ("/* Glyphicons rules of Bootstrap v3.4.1 (MIT), cut from dist/css/bootstrap.css by "
            "scripts/vendor_assets.py */\n" + "\n".join(keep) + "\n")


def rotate_css() -> str:
    # folium.Icon(angle=N) adds class fa-rotate-N; folium's stylesheet rotates by N degrees.
    return ("/* fa-rotate-N for folium.Icon(angle=N); written by scripts/vendor_assets.py */\n"
            + "".join(f".fa-rotate-{n}{{transform:rotate({n}deg)}}" for n in range(360)) + "\n")


def fetch(target: Path) -> list[str]:
    licences: list[str] = ["# Licences of the vendored map assets\n",
                           "Fetched by `scripts/vendor_assets.py` with `npm pack` from the npm "
                           "registry; versions pinned to those folium "
                           f"{folium.__version__} links.\n"]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for pkg in PACKAGES:
            tgz = npm_pack(pkg.spec, tmpdir)
            digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
            folder = target / pkg.folder
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz) as tar:
                for src, dest in pkg.files:
                    out = folder / dest
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(tar.extractfile(f"package/{src}").read())
                licence_text = (tar.extractfile(f"package/{pkg.licence_file}").read()
                                .decode("utf-8") if pkg.licence_file else MIT_AWESOME_MARKERS)
                if pkg.name == "bootstrap" and pkg.version.startswith("3."):
                    css_path = folder / "css" / "bootstrap.css"
                    (folder / "css" / "bootstrap-glyphicons.css").write_text(
                        glyphicons_css(css_path.read_text(encoding="utf-8")), encoding="utf-8")
                    for transient in TRANSIENT:  # only the glyphicon rules are served
                        (target / transient).unlink(missing_ok=True)
            (folder / "LICENSE.txt").write_text(licence_text, encoding="utf-8")
            licences.append(f"\n## {pkg.spec} → `{pkg.folder}/` ({pkg.licence})\n\n"
                            f"npm tarball sha256 `{digest}`.{' ' + pkg.note if pkg.note else ''}\n\n"
                            "```\n" + licence_text.strip() + "\n```\n")
    heat = Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js"
    shutil.copyfile(heat, target / "leaflet.heat-0.2.0" / "leaflet_heat.min.js")
    (target / "folium").mkdir(exist_ok=True)
    (target / "folium" / "leaflet.awesome.rotate.css").write_text(rotate_css(), encoding="utf-8")
    licences.append("\n## folium/ (MIT, folium and geo_pcmt)\n\n`leaflet.awesome.rotate.css` is "
                    "generated; `leaflet.heat-0.2.0/leaflet_heat.min.js` is folium's patched "
                    "Leaflet.heat (BSD-2-Clause, above).\n")
    (target / "LICENSES.md").write_text("".join(licences), encoding="utf-8")
    return [str(p.relative_to(target)) for p in sorted(target.rglob("*")) if p.is_file()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.check:
        if VENDOR_DIR.exists():
            shutil.rmtree(VENDOR_DIR)
        VENDOR_DIR.mkdir(parents=True)
        files = fetch(VENDOR_DIR)
        size = sum((VENDOR_DIR / f).stat().st_size for f in files)
        print(f"{len(files)} files, {size / 1e6:.1f} MB in {VENDOR_DIR}")
    missing = missing_files()
    for m in missing:
        print(f"missing: {m}", file=sys.stderr)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
