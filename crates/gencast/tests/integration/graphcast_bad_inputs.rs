//! Bad inputs to the GraphCast data path and network: each is an error naming the file and the
//! variable, level or tensor at fault, never a panic.

use std::sync::Arc;

use crate::support::{graphcast_fixture as fixture, GRAPHCAST_DATASET as DATASET};
use gencast::checkpoint::GraphCastCheckpoint;
use gencast::data::Dataset;
use gencast::models::graphcast::{
    predict_step, GraphCast, GraphCastGraphs, GraphCastStats, StepInputs,
};
use gencast::Error;

fn open() -> (GraphCastCheckpoint, Dataset) {
    let ckpt = GraphCastCheckpoint::open(fixture("checkpoint.npz")).unwrap();
    let ds = Dataset::open(fixture(DATASET)).unwrap();
    (ckpt, ds)
}

fn assert_contains(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "`{n}` not in error: {text}");
    }
}

#[test]
fn missing_statistics_files_are_all_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("mean_by_level.nc"),
        dir.path().join("mean_by_level.nc"),
    )
    .unwrap();
    let text = GraphCastStats::open_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert_contains(&text, &["stddev_by_level.nc", "diffs_stddev_by_level.nc"]);
}

#[test]
fn statistics_path_that_is_a_file_or_absent_is_named() {
    let file = fixture("mean_by_level.nc");
    let text = GraphCastStats::open_dir(&file).unwrap_err().to_string();
    assert_contains(
        &text,
        &[
            &file.display().to_string(),
            "is a file",
            "diffs_stddev_by_level.nc",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("no-such-folder");
    let text = GraphCastStats::open_dir(&absent).unwrap_err().to_string();
    assert_contains(&text, &["no-such-folder", "not found"]);
}

#[test]
fn dataset_problems_name_the_culprit() {
    let (ckpt, ds) = open();
    let path = ds.path().display().to_string();

    let mut task = ckpt.task_config.clone();
    task.input_variables.push("sea_surface_temperature".into());
    let text = StepInputs::from_dataset(&ds, &task, 0)
        .unwrap_err()
        .to_string();
    assert_contains(&text, &[&path, "sea_surface_temperature"]);

    let text = StepInputs::from_dataset(&ds, &ckpt.task_config, 4)
        .unwrap_err()
        .to_string();
    assert_contains(&text, &[&path, "datetime", "frames 4..6"]);

    let mut task = ckpt.task_config.clone();
    task.pressure_levels.push(33);
    let text = StepInputs::from_dataset(&ds, &task, 0)
        .unwrap_err()
        .to_string();
    assert_contains(&text, &[&path, "level", "[33]"]);

    let mut task = ckpt.task_config.clone();
    task.input_duration = "9h".into();
    let text = StepInputs::from_dataset(&ds, &task, 0)
        .unwrap_err()
        .to_string();
    assert_contains(&text, &["task_config:input_duration", "9h"]);
}

#[test]
fn an_input_without_a_next_frame_stops_the_rollout() {
    let (ckpt, ds) = open();
    let stats = GraphCastStats::open_dir(fixture("")).unwrap();
    let graphs = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    let net = GraphCast::load(&ckpt, Arc::new(graphs)).unwrap();
    let task = &ckpt.task_config;
    let mut inputs = StepInputs::from_dataset(&ds, task, 0).unwrap();
    let mut fields = predict_step(&net, &inputs, task, &stats).unwrap();
    fields.retain(|f| f.name != "2m_temperature");
    let text = inputs.advance(&fields, Some(&ds)).unwrap_err().to_string();
    assert_contains(
        &text,
        &["2m_temperature", "neither predicted nor a forcing"],
    );
}

#[test]
fn wrongly_sized_network_inputs_are_refused() {
    let (ckpt, ds) = open();
    let graphs = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    let net = GraphCast::load(&ckpt, Arc::new(graphs)).unwrap();
    match net.forward(&vec![0.0; 684 * 182]) {
        Err(Error::Shape { expected, .. }) => assert_eq!(expected, vec![684, 183]),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn variables_missing_from_statistics_are_reported_as_warnings() {
    let (ckpt, _) = open();
    let stats = GraphCastStats::open_dir(fixture("")).unwrap();
    assert!(stats.warnings(&ckpt.task_config).is_empty());
    let mut task = ckpt.task_config.clone();
    task.input_variables.push("made_up_field".into());
    task.target_variables.push("made_up_field".into());
    let w = stats.warnings(&task);
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w
        .iter()
        .any(|l| l.contains("diffs_stddev_by_level.nc") && l.contains("made_up_field")));
}

#[test]
fn a_network_for_another_grid_is_refused() {
    let (ckpt, ds) = open();
    let stats = GraphCastStats::open_dir(fixture("")).unwrap();
    let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
    let lon: Vec<f32> = (0..36).map(|i| 5.0 + 10.0 * i as f32).collect();
    let graphs = GraphCastGraphs::build(&ckpt.model_config, &lat, &lon).unwrap();
    let net = GraphCast::load(&ckpt, Arc::new(graphs)).unwrap();
    let inputs = StepInputs::from_dataset(&ds, &ckpt.task_config, 0).unwrap();
    let text = predict_step(&net, &inputs, &ckpt.task_config, &stats)
        .unwrap_err()
        .to_string();
    assert_contains(
        &text,
        &[&ds.path().display().to_string(), "lat/lon", "19x36"],
    );
}

#[test]
fn non_finite_inputs_are_named() {
    let (ckpt, ds) = open();
    let stats = GraphCastStats::open_dir(fixture("")).unwrap();
    let task = &ckpt.task_config;
    let graphs = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    let net = GraphCast::load(&ckpt, Arc::new(graphs)).unwrap();
    let mut inputs = StepInputs::from_dataset(&ds, task, 0).unwrap();
    // Feed a NaN in through the rollout path: the predicted 2 m temperature gets one.
    let mut predicted = predict_step(&net, &inputs, task, &stats).unwrap();
    for f in predicted.iter_mut().filter(|f| f.name == "2m_temperature") {
        f.data[5] = f32::NAN;
    }
    inputs.advance(&predicted, Some(&ds)).unwrap();
    let text = predict_step(&net, &inputs, task, &stats)
        .unwrap_err()
        .to_string();
    assert_contains(&text, &["2m_temperature", "channel 1", "grid point 5"]);
}
