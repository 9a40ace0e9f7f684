#!/usr/bin/env python3
"""Writes crates/gencast/src/graph/tables/mesh2grid_ties.bin from the reference's tie fixtures.

Each fixture (`mesh2grid-ties/*.npz`, written by the reference stack with trimesh 5.2.0, rtree
1.4.1, NumPy 2.4.6, SciPy 1.17.1) lists the grid points whose mesh2grid triangle the reference
picks by candidate order or rounding, with the face it picked. This script packs those rows,
keyed by (mesh_size, n_lat, n_lon), into the binary table the library embeds (layout in
crates/gencast/src/graph/tables.rs).

Usage: python3 tools/gen_ties_table.py [FIXTURE_DIR]   (needs numpy; FIXTURE_DIR defaults to the
shared fixture folder beside the repository, ../shared/fixtures/mesh2grid-ties)
"""
import pathlib
import struct
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/fixtures/mesh2grid-ties"
OUT = ROOT / "crates/gencast/src/graph/tables/mesh2grid_ties.bin"

def main():
    tables = []
    for path in sorted(FIXTURES.glob("*.npz")):
        z = np.load(path)
        mesh_size, n_lat, n_lon = int(z["mesh_size"]), int(z["n_lat"]), int(z["n_lon"])
        grid = z["table_grid_index"].astype(np.int64)
        assert np.all(np.diff(grid) > 0), path
        assert np.all(grid == z["table_i_lat"].astype(np.int64) * n_lon + z["table_i_lon"])
        lat_bits = z["table_lat"].astype(np.float32).view(np.uint32)
        lon_bits = z["table_lon"].astype(np.float32).view(np.uint32)
        faces = z["table_ref_face"].astype(np.int64)
        rows = list(zip(grid.tolist(), lat_bits.tolist(), lon_bits.tolist(), faces.tolist()))
        tables.append((mesh_size, n_lat, n_lon, path.name, rows))
    tables.sort()

    out = bytearray(b"GCTIES01") + struct.pack("<I", len(tables))
    for mesh_size, n_lat, n_lon, _name, rows in tables:
        out += struct.pack("<4I", mesh_size, n_lat, n_lon, len(rows))
        for row in rows:
            out += struct.pack("<4I", *row)
    OUT.write_bytes(bytes(out))
    print(f"wrote {OUT} ({sum(len(t[4]) for t in tables)} rows, {len(tables)} tables)")


if __name__ == "__main__":
    main()
