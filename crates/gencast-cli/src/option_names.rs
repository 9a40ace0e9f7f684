//! The library names a forecast option by its builder method (`Forecast::init_time`) or
//! field (`WriteMode::resume`); the command line shows its own flag (`--init-time`) instead,
//! from this table.

/// Library option names (as the library writes them) and the flags that set them.
const OPTIONS: [(&str, &str); 17] = [
    ("Forecast::init_time", "--init-time"),
    ("Forecast::members", "--members"),
    ("Forecast::member_offset", "--member-offset"),
    ("Forecast::steps", "--steps"),
    ("Forecast::lead_time", "--lead-time"),
    ("Forecast::seed", "--seed"),
    ("Forecast::sampler", "--sampler"),
    ("Forecast::threads", "--threads"),
    ("Forecast::precision", "--precision"),
    ("Forecast::variables", "--variables"),
    ("Forecast::levels", "--levels"),
    ("Forecast::region", "--region"),
    ("Forecast::output_every", "--output-every"),
    ("WriteMode::resume", "--resume"),
    ("WriteMode::overwrite", "--overwrite"),
    ("ZarrSink ensemble_size", "--ensemble-size"),
    ("EnsembleSummary", "--ensemble-summary"),
];

/// `text` with every library option name replaced by its flag.
pub(crate) fn to_flags(text: &str) -> String {
    OPTIONS
        .iter()
        .fold(text.to_string(), |t, (name, flag)| t.replace(name, flag))
}

/// `e` with every message of its chain in flag terms; unchanged (and still downcastable) when
/// no message names a library option.
pub(crate) fn error_to_flags(e: anyhow::Error) -> anyhow::Error {
    let messages: Vec<(String, String)> = e
        .chain()
        .map(|c| {
            let m = c.to_string();
            (to_flags(&m), m)
        })
        .collect();
    if messages.iter().all(|(mapped, m)| mapped == m) {
        return e;
    }
    let mut chain = messages.into_iter().map(|(mapped, _)| mapped).rev();
    let mut out = anyhow::anyhow!(chain.next().unwrap_or_default());
    for outer in chain {
        out = out.context(outer);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_option_names_become_flags() {
        assert_eq!(
            to_flags(
                "Forecast::member_offset 3 + Forecast::members 2 is past the largest member number"
            ),
            "--member-offset 3 + --members 2 is past the largest member number"
        );
        // Values, settings in backticks and plain words stay as they are.
        assert_eq!(
            to_flags("Forecast::variables: no `rain`; `members` differ; members and steps"),
            "--variables: no `rain`; `members` differ; members and steps"
        );
        for (name, flag) in OPTIONS {
            assert_eq!(to_flags(name), flag);
        }
    }

    #[test]
    fn every_message_of_an_error_chain_is_mapped() {
        let e =
            anyhow::anyhow!("Forecast::init_time 2019-13-01 is not a time").context("forecasting");
        let e = error_to_flags(e.context("Forecast::steps 3"));
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        assert_eq!(
            chain,
            [
                "--steps 3",
                "forecasting",
                "--init-time 2019-13-01 is not a time"
            ]
        );
    }
}
