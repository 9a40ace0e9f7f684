fn read(p: &str) -> Vec<f64> {
    let b = std::fs::read(p).unwrap();
    b.chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
#[test]
fn feat() {
    for (s, res) in [(2usize, 10.0f64), (4, 1.0)] {
        let n_lat = (180.0 / res) as usize + 1;
        let lat: Vec<f32> = (0..n_lat)
            .map(|i| (-90.0 + res * i as f64) as f32)
            .collect();
        let lon: Vec<f32> = (0..(360.0 / res) as usize)
            .map(|j| (res * j as f64) as f32)
            .collect();
        let g = gencast::graph::Graphs::build(s, &lat, &lon, 0.6, 1).unwrap();
        for (name, mine) in [
            ("gnf", &g.grid_node_features),
            ("mnf", &g.mesh_node_features),
            ("g2m", &g.grid2mesh.features),
            ("m2g", &g.mesh2grid.features),
        ] {
            let r = read(&format!("/tmp/ref/feat_{s}_{name}.f64"));
            assert_eq!(r.len(), mine.len());
            let mut max = 0f64;
            let mut nbits = 0;
            let mut rel = 0f64;
            for (a, b) in mine.iter().zip(&r) {
                let d = (f64::from(*a) - b).abs();
                max = max.max(d);
                rel = rel.max(d / b.abs().max(1e-3));
                if *a != *b as f32 {
                    nbits += 1;
                }
            }
            if name == "m2g" || name == "g2m" {
                let es = if name == "m2g" {
                    &g.mesh2grid
                } else {
                    &g.grid2mesh
                };
                let mut idx: Vec<usize> = (0..r.len()).collect();
                idx.sort_by(|&i, &j| {
                    (f64::from(mine[j]) - r[j])
                        .abs()
                        .partial_cmp(&(f64::from(mine[i]) - r[i]).abs())
                        .unwrap()
                });
                for &i in &idx[..6] {
                    let e = i / 4;
                    println!(
                        "  e {e} c {} mine {:e} ref {:e} s {} r {}",
                        i % 4,
                        mine[i],
                        r[i],
                        es.senders[e],
                        es.receivers[e]
                    );
                }
            }
            println!(
                "mesh {s} {name}: max abs {max:e} max rel {rel:e} f32-mismatch {nbits} of {}",
                r.len()
            );
        }
    }
}
