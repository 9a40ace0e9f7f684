//! The progress record of a resumable forecast file: the run's identity and the completed
//! (member, step) pairs, kept as JSON next to the temporary file.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{tmp_name, ForecastLayout};
use crate::output::guard::{first_difference, mismatch_subject, short};
use crate::{Error, Result};

/// The progress record of a resumable file.
pub(crate) struct Progress {
    pub(crate) path: PathBuf,
    pub(crate) identity: Vec<(String, Value)>,
    /// The `history` attribute of the file (that of the run that started it).
    pub(crate) history: String,
    /// `completed[member][step]`.
    pub(crate) completed: Vec<Vec<bool>>,
}

/// The name of the progress record kept next to the temporary file of a resumable `path`.
pub fn progress_name(path: &Path) -> PathBuf {
    let mut name = tmp_name(path)
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    name.push(".progress");
    path.with_file_name(name)
}

/// The settings a resumed run must share with the partial file, in the order they are checked:
/// the layout, then each entry of `run` (e.g. seed, sampler, input identities). The history
/// attribute is not among them: it names the input files by path, and the same files under
/// another path are accepted.
pub(crate) fn identity(layout: &ForecastLayout, run: &Value) -> Vec<(String, Value)> {
    let mut id: Vec<(String, Value)> = vec![
        ("members".into(), json!(layout.members)),
        ("lead_hours".into(), json!(layout.lead_hours)),
        (
            "variables".into(),
            json!(layout.variables.iter().map(|v| &v.name).collect::<Vec<_>>()),
        ),
        (
            "levelled".into(),
            json!(layout
                .variables
                .iter()
                .map(|v| v.levelled)
                .collect::<Vec<_>>()),
        ),
        (
            "units".into(),
            json!(layout
                .variables
                .iter()
                .map(|v| &v.units)
                .collect::<Vec<_>>()),
        ),
        ("levels".into(), json!(layout.levels)),
        ("lat".into(), json!(layout.lat)),
        ("lon".into(), json!(layout.lon)),
        ("init_time".into(), json!(layout.init_time)),
        ("naming".into(), json!(format!("{:?}", layout.naming))),
    ];
    match run {
        Value::Object(m) => id.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Value::Null => {}
        other => id.push(("run".into(), other.clone())),
    }
    id
}

impl Progress {
    /// The record as JSON: the identity and, per member, the completed step indices.
    pub(crate) fn to_json(&self) -> Value {
        let identity: serde_json::Map<String, Value> = self.identity.iter().cloned().collect();
        let completed: Vec<Vec<usize>> = self
            .completed
            .iter()
            .map(|steps| {
                steps
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c)
                    .map(|(s, _)| s)
                    .collect()
            })
            .collect();
        json!({"format": "gencast forecast progress", "version": 1,
               "identity": identity, "history": self.history, "completed": completed})
    }

    /// Replaces the record on disk atomically: written aside, synced, then renamed.
    pub(crate) fn save(&self) -> Result<()> {
        let mut aside = self.path.clone().into_os_string();
        aside.push(".new");
        let aside = PathBuf::from(aside);
        let io = |e| Error::io(&aside, e);
        {
            let mut f = std::fs::File::create(&aside).map_err(io)?;
            std::io::Write::write_all(&mut f, self.to_json().to_string().as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&aside, &self.path).map_err(|e| Error::io(&self.path, e))?;
        // Make the rename itself durable where directories can be synced; best effort.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Reads the record at `path` and checks it against this run's identity, naming the first
    /// field that differs; returns it with the recorded history attribute.
    pub(crate) fn load(
        path: &Path,
        identity: Vec<(String, Value)>,
        layout: &ForecastLayout,
    ) -> Result<(Self, String)> {
        let bad = |what: String, detail: String| Error::Format {
            path: path.to_path_buf(),
            what,
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let rec: Value = serde_json::from_str(&text).map_err(|e| {
            bad(
                "progress record".into(),
                format!("{e}; use WriteMode::overwrite to start over"),
            )
        })?;
        let theirs = rec.get("identity").cloned().unwrap_or(Value::Null);
        for (key, ours) in &identity {
            let found = theirs.get(key).unwrap_or(&Value::Null);
            if let Some((sub, a, b)) = first_difference(ours, found) {
                let field = if sub.is_empty() || sub.starts_with('[') {
                    format!("{key}{sub}")
                } else {
                    format!("{key}.{sub}")
                };
                return Err(bad(
                    mismatch_subject(key, ours, found, "the interrupted run", "partial forecast"),
                    format!(
                        "`{field}`: this run has {}, the partial file has {}; resume with the same \
                         settings and inputs, or use WriteMode::overwrite to start over",
                        short(&a),
                        short(&b)
                    ),
                ));
            }
        }
        let history = rec
            .get("history")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("progress record".into(), "no `history`".into()))?
            .to_string();
        let (n_m, n_s) = (layout.members.len(), layout.lead_hours.len());
        let mut completed = vec![vec![false; n_s]; n_m];
        let lists = rec
            .get("completed")
            .and_then(Value::as_array)
            .filter(|l| l.len() == n_m)
            .ok_or_else(|| {
                bad(
                    "progress record".into(),
                    format!("`completed` is not a list of {n_m} members' steps"),
                )
            })?;
        for (m, steps) in lists.iter().enumerate() {
            for s in steps.as_array().into_iter().flatten() {
                match s.as_u64().map(|s| s as usize).filter(|&s| s < n_s) {
                    Some(s) => completed[m][s] = true,
                    None => {
                        return Err(bad(
                            "progress record".into(),
                            format!("member {m}: `{s}` is not a step index below {n_s}"),
                        ))
                    }
                }
            }
        }
        Ok((
            Progress {
                path: path.to_path_buf(),
                identity,
                history: history.clone(),
                completed,
            },
            history,
        ))
    }

    pub(crate) fn any_completed(&self) -> bool {
        self.completed.iter().flatten().any(|&c| c)
    }

    pub(crate) fn count_completed(&self) -> usize {
        self.completed.iter().flatten().filter(|&&c| c).count()
    }
}
