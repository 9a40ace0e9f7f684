#!/usr/bin/env python3
"""Writes crates/gencast/src/graph/tables/mesh_angle_ulps.bin.

The reference computes mesh node longitudes and latitudes with NumPy's float32 `arctan2` and
`arccos`, which on x86-64 CPUs with AVX-512 use SIMD library routines that are not correctly
rounded (up to 3 units in the last place off). The structural edge features are sensitive to
those bits. For mesh sizes 0..6 this script records, per mesh vertex (un-permuted numbering),
how many float32 ulps NumPy's `arctan2(y, x)` and `arccos(z)` differ from the correctly rounded
values (float64 evaluation rounded to float32), one byte per vertex:
(d_phi + 4) * 8 + (d_theta + 4) (layout in crates/gencast/src/graph/tables.rs).

The mesh is rebuilt here with NumPy as the reference's icosahedral_mesh.py builds it
(https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/icosahedral_mesh.py,
get_icosahedron and _two_split_unit_sphere_triangle_faces) and checked against the reference's
SHA-256 checksums (the same constants as tests/graph_mesh.rs). Run it on a machine whose NumPy
matches the reference (NumPy 2.4.6, AVX-512): python3 tools/gen_mesh_angles_table.py
"""
import hashlib
import math
import pathlib
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/gencast/src/graph/tables/mesh_angle_ulps.bin"

VERTEX_SHA256 = [
    "7181d71d4e7a777569b33369b68c0a69a0353c5728061bb488a8cc85a5fe6e1e",
    "2f1ef9d93d1d8b685a8b4cd5e78cd07554cc1a090f57b821bcc1d764cc8c1962",
    "1d2479fe3e3aa9940b8e711e610f6f85136acb64080ce1708cf75495ae0c1b22",
    "e743a1184b5ca72eca30a5d10d84503a953d19c0fe2a957d516ac08862ded19f",
    "5bd5b5a9939d29b0fdeab81f2b02c41e46a0462a0f73b90a035690dea44cf225",
    "4909d8aef7a35b4331cedcd249dabf06632e5ad098ff72a71782726330e98325",
    "0c6a10735f0f73a4478d4c4665b22f7f556be2cb59b0201d644e757e69fdcb5d",
]

FACES = [(0, 1, 2), (0, 6, 1), (8, 0, 2), (8, 4, 0), (3, 8, 2), (3, 2, 7), (7, 2, 1),
         (0, 4, 6), (4, 11, 6), (6, 11, 5), (1, 5, 7), (4, 10, 11), (4, 8, 10), (10, 8, 3),
         (10, 3, 9), (11, 10, 9), (11, 9, 5), (5, 9, 7), (9, 3, 7), (1, 6, 5)]


def icosahedron():
    phi = (1 + math.sqrt(5)) / 2
    raw = []
    for c1 in (1.0, -1.0):
        for c2 in (phi, -phi):
            raw += [(c1, c2, 0.0), (0.0, c1, c2), (c2, 0.0, c1)]
    v = np.array(raw, dtype=np.float32)
    v = (v.astype(np.float64) / math.sqrt(1 + phi * phi)).astype(np.float32)
    a = (math.pi - 2 * math.asin(phi / math.sqrt(3))) / 2
    y, w = math.sin(a / 2), math.cos(a / 2)
    rot = np.array([[-y * y + w * w, 0, 2 * y * w], [0, y * y + w * w, 0],
                    [-2 * y * w, 0, -y * y + w * w]])
    out = np.zeros((12, 3), dtype=np.float32)
    for i in range(12):
        for j in range(3):
            s = 0.0
            for k in range(3):
                s += float(v[i, k]) * rot[k, j]
            out[i, j] = np.float32(s)
    return out, np.array(FACES, dtype=np.int64)


def split(vertices, faces):
    index = {}
    pairs = []
    new_faces = []

    def child(i, j):
        key = (min(i, j), max(i, j))
        if key not in index:
            index[key] = len(vertices) + len(pairs)
            pairs.append(key)
        return index[key]

    for i1, i2, i3 in faces.tolist():
        i12, i23, i31 = child(i1, i2), child(i2, i3), child(i3, i1)
        new_faces += [[i1, i12, i31], [i12, i2, i23], [i31, i23, i3], [i12, i23, i31]]
    p = np.array(pairs)
    m = (vertices[p[:, 0]] + vertices[p[:, 1]]) / np.float32(2)
    sq = (m * m).astype(np.float64)
    norm = np.sqrt(((sq[:, 0] + sq[:, 1]) + sq[:, 2]).astype(np.float32))
    m = m / norm[:, None]
    return np.concatenate([vertices, m.astype(np.float32)]), np.array(new_faces)


def ordered(a):
    i = a.view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def main():
    vertices, faces = icosahedron()
    packed = []
    for s in range(7):
        if s > 0:
            vertices, faces = split(vertices, faces)
        digest = hashlib.sha256(vertices.astype("<f4").tobytes()).hexdigest()
        assert digest == VERTEX_SHA256[s], f"mesh {s}: vertices differ from the reference"
        v = np.ascontiguousarray(vertices)
        x, y, z = v[:, 0], v[:, 1], v[:, 2]  # strided views, as the reference passes them
        d_phi = ordered(np.arctan2(y, x)) - ordered(
            np.arctan2(y.astype(np.float64), x.astype(np.float64)).astype(np.float32))
        d_theta = ordered(np.arccos(z)) - ordered(np.arccos(z.astype(np.float64)).astype(np.float32))
        assert np.all(np.abs(d_phi) <= 3) and np.all(np.abs(d_theta) <= 3), s
        codes = ((d_phi + 4) * 8 + (d_theta + 4)).astype(np.uint8)
        packed.append(codes.tobytes())
        print(f"mesh {s}: {len(v)} vertices, {int((d_phi != 0).sum())} phi and "
              f"{int((d_theta != 0).sum())} theta corrections")

    out = bytearray(b"GCMANG01") + struct.pack("<I", len(packed))
    for codes in packed:
        out += struct.pack("<I", len(codes)) + codes
    OUT.write_bytes(bytes(out))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
