//! `gencast prepare --print-request`: the requests of [`gencast::data::requests`] as text the
//! user runs: a CDS API Python script, MARS request text, or the ECMWF open-data file list.

use gencast::data::requests::{cds, mars, opendata, Plan};
use serde_json::json;

/// The comment lines that open every listing: what it is for, and what is not requested.
fn preamble(what: &str, plan: &Plan, command: &str) -> String {
    let mut out = format!("# {what} for `gencast prepare {command}`\n");
    if !plan.computed.is_empty() {
        out.push_str(&format!(
            "# Computed by prepare, not requested: {}\n",
            plan.computed.join(", ")
        ));
    }
    out
}

/// `v` as JSON (and so a Python literal) with objects one key a line and lists of numbers or
/// strings on one line.
fn listing(v: &serde_json::Value, indent: usize) -> String {
    use serde_json::Value;
    let pad = "    ".repeat(indent + 1);
    let end = "    ".repeat(indent);
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{pad}{}: {}",
                        Value::from(k.as_str()),
                        listing(x, indent + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{end}}}", items.join(",\n"))
        }
        Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| format!("{pad}{}", listing(x, indent + 1)))
                .collect();
            format!("[\n{}\n{end}]", items.join(",\n"))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(Value::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The `--input` arguments for the files `targets`.
fn inputs(targets: &[String]) -> String {
    targets
        .iter()
        .map(|t| format!("--input {t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The listing of `service` (`cds`, `mars` or `opendata`) for `plan`; `command` holds the
/// `prepare` arguments that name the model and init time.
pub(super) fn text(service: &str, plan: &Plan, command: &str) -> anyhow::Result<String> {
    Ok(match service {
        "cds" => {
            let reqs = cds(plan)?;
            let list: Vec<serde_json::Value> = reqs
                .iter()
                .map(|r| json!({"dataset": r.dataset, "request": r.request, "target": r.target}))
                .collect();
            let targets: Vec<String> = reqs.iter().map(|r| r.target.clone()).collect();
            let mut out = preamble(
                "ERA5 from the Copernicus Climate Data Store (the cdsapi package, with a CDS \
                 account that accepted the ERA5 licence)",
                plan,
                command,
            );
            out.push_str(&format!(
                "import cdsapi\n\nREQUESTS = {}\n\nclient = cdsapi.Client()\nfor r in REQUESTS:\n    \
                 client.retrieve(r[\"dataset\"], r[\"request\"], r[\"target\"])\n\n\
                 # Then: gencast prepare {} {command} --output inputs.nc\n",
                listing(&serde_json::Value::Array(list), 0),
                inputs(&targets)
            ));
            out
        }
        "mars" => {
            let reqs = mars(plan)?;
            let mut out = preamble("ERA5 from MARS (`mars FILE`)", plan, command);
            let targets: Vec<String> = reqs
                .iter()
                .filter_map(|r| r.keys.iter().find(|(k, _)| k == "target"))
                .map(|(_, v)| v.clone())
                .collect();
            out.push_str(&format!(
                "# Then: gencast prepare {} {command} --output inputs.nc\n",
                inputs(&targets)
            ));
            for r in &reqs {
                out.push('\n');
                out.push_str(&r.text());
            }
            out
        }
        _ => {
            let od = opendata(plan)?;
            let mut out = preamble(
                "ECMWF open data (IFS, 0.25°, GRIB2; data.ecmwf.int keeps the latest days)",
                plan,
                command,
            );
            out.push_str(
                "# One file per run and step holds every parameter: take those listed (with its \
                 .index file, or the ecmwf-opendata package) and give them to prepare with\n\
                 # --input; it subsamples 0.25° to the model's grid.\n",
            );
            for l in &od.lacking {
                out.push_str(&format!("# lacking: {l}\n"));
            }
            for f in &od.files {
                out.push_str(&format!(
                    "{} levtype={} param={}",
                    f.url,
                    f.levtype,
                    f.params.join("/")
                ));
                if !f.levels.is_empty() {
                    let l: Vec<String> = f.levels.iter().map(i64::to_string).collect();
                    out.push_str(&format!(" levelist={}", l.join("/")));
                }
                out.push('\n');
            }
            out
        }
    })
}
