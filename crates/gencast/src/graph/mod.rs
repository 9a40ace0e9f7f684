//! Graphs: icosahedral mesh, node order, grid↔mesh connectivity, attention neighbourhoods, features.
