//! Forecast options as text on the command line and as typed values in the library: the same
//! forecast, and text that does not parse is refused naming the flag before anything is read.

use crate::support::{assert_ok, fixture, fixture_dataset, forecast};

use gencast::forecast::{InitTime, LeadTime, SamplerOverrides, WriteMode};
use gencast::{Forecast, Model, NetCdfSink};

const SET: &str = "tiny-mha";

#[test]
fn typed_library_options_give_the_commands_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let cli = dir.path().join("cli.nc");
    assert_ok(&forecast(
        SET,
        &cli,
        &[
            "--members",
            "2",
            "--seed",
            "3",
            "--lead-time",
            "1d",
            "--init-time",
            "2019-03-29 12:00:00",
            "--output-every",
            "24",
            "--sampler",
            "num_noise_levels=4",
            "--sampler",
            "rho = 5",
        ],
    ));
    let lib = dir.path().join("lib.nc");
    let set = fixture(SET);
    let model = Model::load(set.join("checkpoint.npz"), &set).unwrap();
    let mut sink = NetCdfSink::new(&lib, WriteMode::default());
    // 2019-03-29T12:00 UTC in seconds since 1970.
    let init = InitTime::from_nanos(1_553_860_800 * 1_000_000_000);
    Forecast::new(fixture_dataset(SET))
        .members(2)
        .seed(3)
        .lead_time(LeadTime::hours(24))
        .init_time(init)
        .output_every(LeadTime::days(1).unwrap())
        .sampler(SamplerOverrides {
            num_noise_levels: Some(4),
            rho: Some(5.0),
            ..SamplerOverrides::default()
        })
        .run(&model, &mut sink)
        .unwrap();
    drop(sink);
    let (cli, lib) = (std::fs::read(&cli).unwrap(), std::fs::read(&lib).unwrap());
    assert!(cli == lib, "the library's file differs from the command's");

    // The overrides took effect: the checkpoint's own sampler gives another forecast.
    let default = dir.path().join("default.nc");
    assert_ok(&forecast(
        SET,
        &default,
        &[
            "--members",
            "2",
            "--seed",
            "3",
            "--lead-time",
            "1d",
            "--output-every",
            "24",
        ],
    ));
    assert!(std::fs::read(&default).unwrap() != cli);
}

#[test]
fn option_text_that_does_not_parse_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    for (args, message) in [
        (
            ["--lead-time", "15x"],
            "--lead-time `15x`: expected e.g. 360h or 15d",
        ),
        (
            ["--output-every", "2w"],
            "--output-every `2w`: expected e.g. 360h or 15d",
        ),
        (
            ["--init-time", "yesterday"],
            "--init-time `yesterday`: expected YYYY-MM-DDTHH:MM",
        ),
        (["--sampler", "rho"], "--sampler `rho` is not key=value"),
        (
            ["--sampler", "sigma_max=3"],
            "--sampler `sigma_max=3`: `sigma_max` is not a sampler setting",
        ),
        (
            ["--sampler", "num_noise_levels=0"],
            "--sampler `num_noise_levels=0`: `0` is not a positive integer",
        ),
    ] {
        let o = forecast(SET, &out, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: `{message}` not in {err}");
        assert!(!err.contains("Forecast::"), "{args:?}: {err}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "{args:?} left files behind"
        );
    }
}
