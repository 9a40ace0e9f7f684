"""The Kubernetes example (docs/examples/gencast-job.yaml): the fields docs/scaling.md relies
on, and its command line rendered by a shell for one index and parsed by the real `gencast`."""

import os
import shlex
import subprocess

import yaml

from conftest import ROOT

JOB = ROOT / "docs" / "examples" / "gencast-job.yaml"


def job() -> dict:
    with open(JOB) as f:
        docs = list(yaml.safe_load_all(f))
    assert len(docs) == 1, "one Job per file"
    return docs[0]


def container(j: dict) -> dict:
    (c,) = j["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict) -> dict:
    return {e["name"]: e["value"] for e in c.get("env", [])}


def render(index: int) -> list:
    """The pod's gencast arguments for completion index `index`, as its shell expands them."""
    c = container(job())
    assert c["command"] == ["/bin/sh", "-c"]
    (script,) = c["args"]
    assert script.startswith("exec gencast forecast"), script
    shown = "gencast() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }; " + script[len("exec "):]
    env = {**env_of(c), "JOB_COMPLETION_INDEX": str(index), "PATH": os.environ["PATH"]}
    out = subprocess.run(["/bin/sh", "-c", shown], env=env, capture_output=True, check=True)
    return out.stdout.decode().split("\0")[:-1]


def option(argv: list, name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_job_is_indexed_with_retries_per_index():
    j = job()
    assert (j["apiVersion"], j["kind"]) == ("batch/v1", "Job")
    spec = j["spec"]
    assert spec["completionMode"] == "Indexed"
    assert isinstance(spec["backoffLimitPerIndex"], int) and spec["backoffLimitPerIndex"] >= 1
    assert spec["parallelism"] <= spec["completions"]
    # A failed index is retried in a new pod, which resumes from the store.
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_indices_cover_the_ensemble_once():
    j = job()
    env = env_of(container(j))
    size = int(env["ENSEMBLE_SIZE"])
    assert j["spec"]["completions"] * int(env["MEMBERS_PER_POD"]) == size
    ranges = []
    for i in range(j["spec"]["completions"]):
        argv = render(i)
        assert argv[0] == "forecast"
        assert option(argv, "--ensemble-size") == str(size)
        offset, members = int(option(argv, "--member-offset")), int(option(argv, "--members"))
        ranges.extend(range(offset, offset + members))
        assert "--resume" in argv
    assert ranges == list(range(size))


def test_every_path_is_on_the_mounted_shared_volume():
    j = job()
    c = container(j)
    volumes = {v["name"]: v for v in j["spec"]["template"]["spec"]["volumes"]}
    (mount,) = c["volumeMounts"]
    assert "persistentVolumeClaim" in volumes[mount["name"]]
    argv = render(0)
    for opt in ("--checkpoint", "--dataset", "--stats", "--output"):
        assert option(argv, opt).startswith(mount["mountPath"] + "/"), opt
    assert option(argv, "--output").endswith(".zarr")


def test_the_rendered_command_line_is_accepted_by_gencast(gencast_bin):
    """The real parser takes every option; the run stops only because /data is not here."""
    argv = render(3)
    out = subprocess.run([gencast_bin, *argv], capture_output=True, text=True)
    assert out.returncode != 0
    assert "no such file" in out.stderr and "--checkpoint" in out.stderr, (
        shlex.join(argv),
        out.stderr,
    )
