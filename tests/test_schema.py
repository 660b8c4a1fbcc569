"""The committed JSON Schemas (schemas/*.schema.json, draft-07) for editors.

They are generated from the same declarative schema the loader converts with
(`cpqctl schema --write schemas/`); a test fails when the committed copies are
stale, and every file of the example repository must validate against its
schema the way an editor sees it.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

PROJECT = Path(__file__).resolve().parents[1]
SCHEMAS = PROJECT / "schemas"
KINDS = ("cpq", "catalog", "account", "contract", "quote", "invoice", "payment", "period")


def schema(kind: str) -> dict:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


def editor_view(value):
    """A YAML value as an editor's YAML 1.2 language server sees it: dates are strings, not timestamps."""
    if isinstance(value, dict):
        return {k: editor_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [editor_view(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def example_files() -> list[tuple[str, str]]:
    out = [(p.relative_to(PROJECT).as_posix(), "catalog") for p in sorted((PROJECT / "catalog").glob("*.yaml"))]
    for p in sorted((PROJECT / "contracts").glob("*/*.yaml")):
        out.append((p.relative_to(PROJECT).as_posix(), "account" if p.name == "account.yaml" else "contract"))
    return out


def test_committed_schemas_are_the_generated_ones(cli) -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(f"{k}.schema.json" for k in KINDS)
    run = cli("schema", "--check", SCHEMAS)
    assert run.code == 0, f"stale schemas: run `cpqctl schema --write schemas/`\n{run.stderr}"


def test_schema_check_fails_on_a_stale_or_missing_schema(tmp_path, cli) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    assert cli("schema", "--check", copy).code == 0
    doc = json.loads((copy / "quote.schema.json").read_text(encoding="utf-8"))
    doc["properties"].pop("digest")
    (copy / "quote.schema.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (copy / "invoice.schema.json").unlink()
    run = cli("schema", "--check", copy)
    assert run.code == 1
    assert "quote.schema.json" in run.stderr and "invoice.schema.json" in run.stderr
    assert "cpqctl schema --write" in run.stderr


def test_schema_write_then_check_round_trips(tmp_path, cli) -> None:
    out = tmp_path / "fresh"
    assert cli("schema", "--write", out).code == 0
    assert cli("schema", "--check", out).code == 0
    for kind in KINDS:
        assert (out / f"{kind}.schema.json").read_bytes() == (SCHEMAS / f"{kind}.schema.json").read_bytes()


def test_schema_prints_one_kind_and_refuses_an_unknown_one(cli) -> None:
    run = cli("schema", "contract")
    assert run.code == 0 and json.loads(run.stdout) == schema("contract")
    run = cli("schema", "nonsense")
    assert run.code == 2 and "unknown file kind" in run.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_schemas_are_valid_draft7(kind) -> None:
    doc = schema(kind)
    Draft7Validator.check_schema(doc)
    assert doc["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert doc["type"] == "object" and doc["additionalProperties"] is False


@pytest.mark.parametrize("rel,kind", example_files(), ids=[r for r, _ in example_files()])
def test_example_yaml_validates_against_its_schema(rel, kind) -> None:
    data = editor_view(yaml.safe_load((PROJECT / rel).read_text(encoding="utf-8")))
    errors = sorted(Draft7Validator(schema(kind)).iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{rel}: {list(e.absolute_path)}: {e.message}" for e in errors)


def test_example_cpq_toml_validates_against_its_schema() -> None:
    data = tomllib.loads((PROJECT / "cpq.toml").read_text(encoding="utf-8"))
    assert not list(Draft7Validator(schema("cpq")).iter_errors(data))


def test_example_files_were_found() -> None:
    kinds = [k for _, k in example_files()]
    assert kinds.count("catalog") >= 3 and kinds.count("account") >= 5 and kinds.count("contract") >= 5


@pytest.mark.parametrize(
    "kind,doc",
    [
        ("account", {"account": "a", "name": "A", "currency": "PLN", "tax_rate": "23"}),  # percent without %
        ("account", {"account": "../evil", "name": "A", "currency": "PLN"}),  # not an ID
        ("account", {"account": "a", "name": "A", "currency": "PLN", "adress": "x"}),  # unknown key
        ("account", {"account": "a", "name": "A"}),  # a required key missing
        ("account", {"account": "a", "name": "A", "currency": "PLN", "reverse_charge": "yes"}),
        ("catalog", {"products": [{"code": "A", "name": "A", "price": {"PLN": "12,50"}}]}),  # a decimal comma
        ("catalog", {"products": [{"code": "A", "name": "A", "price": {"pln": 1}}]}),  # not a currency code
        ("contract", {"contract": "C", "account": "a", "currency": "PLN", "start": "2026-1-1", "lines": []}),
        ("quote", {"quote": "Q", "account": "a", "date": "2026-01-01", "lines": [], "status": "signed"}),
    ],
)
def test_schemas_refuse_what_the_loader_refuses(kind, doc) -> None:
    assert list(Draft7Validator(schema(kind)).iter_errors(doc))
