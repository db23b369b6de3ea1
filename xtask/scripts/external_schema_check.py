"""Checks sluice's generated schema with an independent JSON Schema implementation (Python `jsonschema`):
the schema must pass the draft 2020-12 metaschema, and every example pipeline must validate against it."""

import json
import pathlib
import sys

import jsonschema
import yaml


def main(schema_path: str, pipelines_dir: str) -> int:
    schema = json.loads(pathlib.Path(schema_path).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(pathlib.Path(pipelines_dir).rglob("*.y*ml"))
    failed = 0
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        for error in errors:
            print(f"{path}: {error.json_path}: {error.message}")
        failed += bool(errors)
    print(f"external check: schema is valid draft 2020-12; {len(files) - failed} of {len(files)} pipelines validate")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
