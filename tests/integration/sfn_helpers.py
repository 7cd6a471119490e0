"""Helpers for the Step Functions suites: a boto3 client that knows the operations Debian's
botocore (1.29) predates (versions, aliases, RedriveExecution, TestState...). It loads the
Step Functions model Sluice serves (botocore's, merged with
scripts/models/stepfunctions-overlay.json by scripts/gen-models.py), as
`aws configure add-model` would."""

import importlib.util
import json
import os
import shutil

import boto3
import botocore.session

from helpers import REGION, client_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEBIAN_MODELS = "/usr/lib/python3/dist-packages/botocore/data"


def merged_model_client(endpoint, models_dir, **cfg):
    """A stepfunctions client on endpoint whose model (written under models_dir, a fresh
    directory) is the merged one; cfg: botocore Config settings."""
    spec = importlib.util.spec_from_file_location("gen_models",
                                                  os.path.join(ROOT, "scripts", "gen-models.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    row = [r for r in gen.SERVICES if r["service"] == "stepfunctions"][0]
    target = os.path.join(str(models_dir), "stepfunctions", "2016-11-23")
    os.makedirs(target)
    with open(os.path.join(target, "service-2.json"), "w") as f:
        json.dump(gen.load_model(row), f)
    for extra in ("endpoint-rule-set-1.json", "paginators-1.json"):
        src = os.path.join(DEBIAN_MODELS, "stepfunctions", "2016-11-23", extra)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(target, extra))
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models_dir))
    return boto3.session.Session(botocore_session=core).client(
        "stepfunctions", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test", config=client_config(**cfg))
