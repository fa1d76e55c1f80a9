#!/usr/bin/env python3
"""Validates integration-tests/docker-compose.yml without a Docker engine and without the network.

1. Against the Compose Specification's JSON schema, as vendored by the PyPI package
   check-jsonschema (pinned in scripts/requirements.txt, with jsonschema and ruamel.yaml); the
   check first proves that the schema rejects a broken file, so it can never pass vacuously.
2. Against this project's own rules: every image pinned to a version tag, every port bound to
   127.0.0.1, every service with a healthcheck, and the services the suite expects.
Exits non-zero with the reasons on any failure; exits 2 when the packages are missing
(`python3 -m pip install -r scripts/requirements.txt`, which .ci/run does).
"""
import importlib.resources
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "integration-tests" / "docker-compose.yml"
EXPECTED = {"redis", "redis-cluster", "mongo", "mysql", "mariadb", "postgres"}
# Where check-jsonschema keeps its copy of the Compose Specification's schema.
SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
SCHEMA_FILE = "compose-spec.json"


def load_packages():
    try:
        import jsonschema
        from ruamel.yaml import YAML
        schema_text = (importlib.resources.files(SCHEMA_PACKAGE) / SCHEMA_FILE).read_text()
    except (ImportError, FileNotFoundError) as e:
        print(f"validate-compose: {e}\n"
              "install the pinned packages: python3 -m pip install -r scripts/requirements.txt",
              file=sys.stderr)
        sys.exit(2)
    schema = json.loads(schema_text)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return validator, YAML(typ="safe", pure=True)


def schema_problems(validator, doc):
    return [f"schema: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(doc)]


def project_problems(doc):
    problems = []
    services = doc.get("services", {})
    if set(services) != EXPECTED:
        problems.append(f"services are {sorted(services)}, expected {sorted(EXPECTED)}")
    for name, svc in services.items():
        image = svc.get("image", "")
        tag = image.rpartition(":")[2] if ":" in image else ""
        if not tag or tag == "latest" or not any(c.isdigit() for c in tag):
            problems.append(f"{name}: image {image!r} is not pinned to a version")
        for port in svc.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
        if "healthcheck" not in svc:
            problems.append(f"{name}: no healthcheck")
    return problems


def main():
    validator, yaml = load_packages()
    broken = {"services": {"x": {"image": 7, "ports": {"not": "a list"}}}}
    if not schema_problems(validator, broken):
        print("validate-compose: the schema accepted a broken file; the check would be vacuous")
        return 1
    doc = yaml.load(COMPOSE.read_text())
    problems = schema_problems(validator, doc) + project_problems(doc)
    if problems:
        print("docker-compose.yml is invalid:\n  " + "\n  ".join(problems))
        return 1
    print(f"docker-compose.yml: valid against the Compose Specification schema; "
          f"{len(doc['services'])} services pinned, loopback-only, with healthchecks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
