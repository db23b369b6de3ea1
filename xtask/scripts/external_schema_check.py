"""Checks sluice's generated schema with an independent JSON Schema implementation (Python `jsonschema`):
the schema must pass the draft 2020-12 metaschema, every example pipeline must validate against it, and every
case of the invalid corpus whose expected diagnostics are all schema-level must be rejected by it."""

import json
import pathlib
import sys

import jsonschema
import yaml


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1's implicit timestamps: under YAML 1.2, which sluice reads,
    `at: 2020-07-01T12:00:00Z` is a string, as the schema says."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(path: pathlib.Path):
    return yaml.load(path.read_text(), Loader=Yaml12Loader)


# Codes that only the schema phase produces: a case with nothing else must fail any correct validator.
SCHEMA_CODES = {"unknown-key", "wrong-type", "invalid-duration", "invalid-size", "unknown-type"}


def schema_only_cases(invalid_dir: str):
    for expected in sorted(pathlib.Path(invalid_dir).glob("*.expected")):
        codes = {line.split("error[", 1)[1].split("]", 1)[0] for line in expected.read_text().splitlines() if "error[" in line}
        case = expected.with_suffix(".yaml")
        # PyYAML reads YAML 1.1, where `yes` is a boolean: cases about that difference prove nothing here.
        if codes and codes <= SCHEMA_CODES and "YAML 1.1" not in case.read_text():
            yield case


def main(schema_path: str, pipelines_dir: str, invalid_dir: str) -> int:
    schema = json.loads(pathlib.Path(schema_path).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(pathlib.Path(pipelines_dir).rglob("*.y*ml"))
    failed = 0
    for path in files:
        errors = list(validator.iter_errors(load(path)))
        for error in errors:
            print(f"{path}: {error.json_path}: {error.message}")
        failed += bool(errors)
    rejected = accepted = 0
    for path in schema_only_cases(invalid_dir):
        if validator.is_valid(load(path)):
            print(f"{path}: the external validator accepts it, but sluice's schema should reject it")
            accepted += 1
        else:
            rejected += 1
    print(f"external check: schema is valid draft 2020-12; {len(files) - failed} of {len(files)} pipelines validate; "
          f"{rejected} of {rejected + accepted} schema-invalid corpus cases rejected")
    return 1 if failed or accepted or not files or not rejected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
