"""Start-up: `pmdraft --help` and `pmdraft draft --help` import none of the heavy libraries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import python

HEAVY = ("pandas", "numpy", "boto3", "botocore", "pagerduty", "moto", "matplotlib")
"""Modules that cost tenths of a second to import and that help text never needs."""

PROBE = f"""
import json, sys
from pmdraft.cli import cli
code = cli.main(args=sys.argv[1:], prog_name="pmdraft", standalone_mode=False)
print(json.dumps({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


@pytest.mark.parametrize("args", [["--help"], ["draft", "--help"], ["timeline", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    """Help exits 0 in a fresh interpreter without importing pandas, boto3, pagerduty or moto."""
    done = python("-c", PROBE, *args)
    assert done.returncode == 0, done.stderr
    assert "Usage: pmdraft" in done.stdout
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}


WARM = """
import json, sys, types
import pmdraft.draft
from pmdraft.warm import warm_up
before = "pandas" in sys.modules
collector = types.SimpleNamespace(requests=0)
thread = warm_up([collector], ["pmdraft.timeline", "pmdraft.render"], wait_s=30)
thread.join(0.3)
waiting = thread.is_alive() and "pandas" not in sys.modules
collector.requests = 1
thread.join(60)
print(json.dumps([before, waiting, [m for m in ("pandas", "jinja2") if m in sys.modules]]))
"""


def test_pandas_and_jinja2_are_imported_once_collection_has_started() -> None:
    """The draft module imports no pandas; the warm-up imports pandas and jinja2 after a collector's first request."""
    done = python("-c", WARM)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True, ["pandas", "jinja2"]]


PREPARED = """
import json, sys, types
from pmdraft.warm import warm_up
import pmdraft.render.markdown as markdown
thread = warm_up(
    [types.SimpleNamespace(requests=1)],
    ["pmdraft.render.markdown:prepare", "pmdraft.nothing_here:prepare", "json"],
)
thread.join(60)
print(json.dumps([markdown._builtin.cache_info().currsize, "pmdraft.nothing_here" in sys.modules]))
"""


def test_the_warm_up_compiles_the_built_in_markdown_template_while_the_sources_are_read() -> None:
    """An entry "module:function" is imported and called: the built-in template is compiled
    (cached) before any draft is rendered; an entry that fails stops the warm-up quietly."""
    done = python("-c", PREPARED)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1, False]


CONFIG_PROBE = """
import json, sys
from pathlib import Path
from pmdraft.cli.common import user_template
from pmdraft.config import load_config
template, config = user_template("markdown", None, sys.argv[1])
print(json.dumps([template is None, [m for m in ("slack_sdk", "pandas", "jinja2") if m in sys.modules]]))
"""


def test_reading_a_config_without_slack_or_a_template_imports_no_slack_sdk_renderers_or_pandas(
    tmp_path: Path,
) -> None:
    """What `pmdraft draft` does before its first request (the config read, the template checked)
    imports neither slack_sdk (no [slack]) nor the renderers, jinja2 and pandas (no template):
    they would delay collection by about 0.1 s and 0.6 s."""
    config = tmp_path / "pmdraft.toml"
    config.write_text('[[deploys]]\ntype = "file"\npath = "deploys.jsonl"\n', encoding="utf-8")
    done = python("-c", CONFIG_PROBE, str(config))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True, []]


def test_reading_a_config_with_pagerduty_imports_no_http_client(tmp_path: Path) -> None:
    """The config read (which loads every source's registration, the doctor's checks included)
    imports no HTTP client: httpx2 and the pagerduty library wait until PagerDuty's collector is
    built, after CloudWatch's child has been forked and started reading (about 0.05 s sooner)."""
    config = tmp_path / "pmdraft.toml"
    config.write_text('[pagerduty]\nservice_ids = ["PSVC1"]\n', encoding="utf-8")
    probe = CONFIG_PROBE.replace('("slack_sdk", "pandas", "jinja2")', '("httpx2", "pagerduty")')
    done = python("-c", probe, str(config))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True, []]


BUILD_PROBE = """
import json, sys
from pathlib import Path
from pmdraft.config import load_config
from pmdraft.pipeline import build_collectors
collectors, _ = build_collectors(load_config(Path(sys.argv[1])), {})
heavy = ("botocore.parsers", "botocore.config", "boto3", "urllib3")
print(json.dumps([[c.name for c in collectors], [m for m in heavy if m in sys.modules]]))
"""


def test_building_cloudwatchs_collector_imports_no_boto3_or_botocores_parsers(
    tmp_path: Path,
) -> None:
    """CloudWatch's collector is built without boto3, botocore's parsers or its Config (about
    0.15 s of imports): its child process, forked as soon as it is built, imports them when it
    makes its first client, while the parent sets up the other sources."""
    config = tmp_path / "pmdraft.toml"
    config.write_text('[cloudwatch]\nregions = ["us-east-1", "eu-west-1"]\n', encoding="utf-8")
    done = python("-c", BUILD_PROBE, str(config))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["cloudwatch"], []]


CLI_PROBE = """
import json, sys
import pmdraft.cli, pmdraft.draft
print(json.dumps([m for m in ("pmdraft.sandbox", "pmdraft.facts", "moto") if m in sys.modules]))
"""


def test_the_cli_and_the_draft_module_import_no_stand_ins_or_timeline_facts() -> None:
    """What every command imports before its first request leaves out the sandbox's stand-ins
    (imported when `pmdraft sandbox` is run or listed) and the timeline's facts (imported while
    the sources are read): CloudWatch's child was forked about 0.07 s later with them."""
    done = python("-c", CLI_PROBE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_sandbox_command_is_listed_and_runs_though_imported_late() -> None:
    """`pmdraft --help` still lists `sandbox`, and `pmdraft sandbox --help` shows its example."""
    from click.testing import CliRunner

    from pmdraft.cli import cli

    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0 and "sandbox" in listed.output
    shown = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert shown.exit_code == 0
    assert "pmdraft sandbox serve --scenario examples/scenario.json" in shown.output
