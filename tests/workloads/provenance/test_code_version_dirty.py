"""The code version: regenerated case-study results do not dirty it, any other change does."""

from __future__ import annotations

import subprocess

import pytest

from reference_workloads.core.manifest import code_version


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(tmp_path):
    repo = tmp_path / "kit"
    (repo / "casestudies" / "climate" / "results").mkdir(parents=True)
    (repo / "casestudies" / "climate" / "results" / "summary.json").write_text("{}\n")
    (repo / "casestudies" / "climate" / "README.md").write_text("rendered\n")
    (repo / "casestudies" / "climate" / "README.template.md").write_text("hand-written\n")
    (repo / "casestudies" / "README.md").write_text("hand-written\n")
    (repo / "pipeline.py").write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return repo


def test_rewritten_case_study_results_and_readmes_keep_the_version_clean(tmp_path):
    repo = _repo(tmp_path)
    (repo / "casestudies" / "climate" / "results" / "summary.json").write_text('{"new": 1}\n')
    (repo / "casestudies" / "climate" / "README.md").write_text("rendered again\n")
    version = code_version(repo)
    assert "+dirty" not in version and len(version) == 40


@pytest.mark.parametrize("path", ["pipeline.py", "casestudies/climate/README.template.md",
                                  "casestudies/README.md"])
def test_a_change_to_code_a_template_or_a_hand_written_readme_marks_it_dirty(tmp_path, path):
    repo = _repo(tmp_path)
    (repo / path).write_text("edited\n")
    version = code_version(repo)
    assert "+dirty." in version
    (repo / path).write_text("edited differently\n")
    assert code_version(repo) not in (version, version.split("+")[0])  # each edit its own version


def test_a_new_untracked_source_file_marks_it_dirty_and_its_content_counts(tmp_path):
    # `git diff HEAD` does not see a file git does not track yet: a new module must still count.
    repo = _repo(tmp_path)
    (repo / "new_stage.py").write_text("y = 2\n")
    version = code_version(repo)
    assert "+dirty." in version
    (repo / "new_stage.py").write_text("y = 3\n")
    assert code_version(repo) != version
    (repo / "new_stage.py").unlink()
    (repo / "casestudies" / "climate" / "results" / "new_figure.md").write_text("generated\n")
    assert "+dirty" not in code_version(repo)


def test_committing_bench_results_or_a_study_keeps_the_code_they_were_measured_on(tmp_path):
    # The bench records the code version it measured; committing its results.json makes a new
    # commit, and that must still count as the same code, while any source change must not.
    from reference_workloads.core.manifest import source_unchanged_since

    repo = _repo(tmp_path)
    measured = code_version(repo)
    (repo / "bench").mkdir()
    (repo / "bench" / "results.json").write_text('{"value": 1}\n')
    (repo / "bench" / "ddp.png").write_bytes(b"png")
    assert code_version(repo) == measured, "writing the bench's outputs dirtied the version"
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "bench results")
    assert code_version(repo) != measured and source_unchanged_since(measured, repo)
    (repo / "pipeline.py").write_text("x = 2\n")
    assert not source_unchanged_since(measured, repo)
    (repo / "pipeline.py").write_text("x = 1\n")
    (repo / "bench" / "new_module.py").write_text("y = 1\n")
    assert not source_unchanged_since(measured, repo), "a new source file is a code change"
    assert not source_unchanged_since(f"{measured}+dirty.0123456789ab", repo)
    assert not source_unchanged_since("0" * 40, repo)
