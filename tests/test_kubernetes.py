"""The Kubernetes manifests (use_kubernetes), checked offline: every document is valid
against the Kubernetes API schemas (kubernetes-validate, strict), the kustomization lists
exactly the manifests present, the web pods run the Dockerfile's command on its port with
liveness on /health/live and readiness on /health, every setting they read is one the project
knows, and the Secret example holds placeholders only. Every object is in the service's own
namespace, a NetworkPolicy admits connections to the web pods' ports only, the web memory limit
follows the README's rule from the hashing slots, and checkov finds nothing but what the
README explains. The hook's refusals (no Docker, SQLite) are in test_hooks.py."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pwdlib.hashers.argon2 import Argon2Hasher

from tests.baking import FRAMEWORKS, ROOT, Baked, bake, project_env, require_tool, run
from tests.checks import manifest_paths, settings_names, traces, unrendered

# The newest Kubernetes the validator knows, and one three minors older still in support:
# the manifests use nothing a recent cluster lacks.
NEWEST = kubernetes_validate.latest_version()
OLDER = "1.{}.0".format(int(NEWEST.split(".")[1]) - 3)
VERSIONS = (OLDER, NEWEST)

# A handful of bakes that between them hold every manifest and every variant of each.
CASES: tuple[dict[str, Any], ...] = (
    {"database": "postgresql", "use_auth": True, "use_worker": True, "use_observability": True},
    {"database": "mysql", "use_auth": True, "use_worker": False, "use_observability": False},
    {"database": "mysql", "use_auth": False, "use_worker": False, "use_observability": True},
    {"database": "none", "use_auth": False, "use_worker": False, "use_observability": False},
)


def params(cases: tuple[dict[str, Any], ...]) -> list[Any]:
    return [
        pytest.param(
            framework,
            answers,
            id=f"{framework}-{answers['database']}-" + "-".join(k[4:] for k, v in answers.items() if v is True),
        )
        for framework in FRAMEWORKS
        for answers in cases
    ]


BAKES = params(CASES)
WORKER_BAKES = params(tuple(case for case in CASES if case["use_worker"]))
MIGRATE = {"fastapi": "alembic upgrade head", "flask": "flask --app {slug} db upgrade"}
# Read by the server or by a library, not by the project's settings: they must at least be
# documented in the project.
SERVER_VARIABLES = {"GRANIAN_WORKERS"}
# Read from the environment before the settings are (where the Secret's files are).
LIBRARY_VARIABLES = re.compile(r"PROMETHEUS_MULTIPROC_DIR|OTEL_[A-Z_]+|SECRETS_DIR")
# The names of the option's shared settings; while none of them is a setting of the baked
# project, the option's code is not in this tree yet and its names cannot be checked.
OPTION_SETTINGS = {"use_worker": "BROKER_URL", "use_observability": "METRICS_PORT"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NOT_MANIFESTS = {"kustomization.yaml", "secret.example.yaml"}

pytestmark = pytest.mark.slow


class Project:
    """A baked project and its manifests, parsed."""

    def __init__(self, baked: Baked) -> None:
        self.baked = baked
        self.framework = baked.framework
        self.slug = baked.slug
        self.name = self.slug.replace("_", "-")
        self.context = baked.context
        self.dir = baked.path / "deploy" / "kubernetes"
        self.files = {path.name: path for path in sorted(self.dir.iterdir())}
        self.documents: dict[str, list[dict[str, Any]]] = {
            name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
            for name, path in self.files.items()
        }
        self.kustomization = self.one("kustomization.yaml")

    def one(self, file: str) -> dict[str, Any]:
        (document,) = self.documents[file]
        return document

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        for file, documents in self.documents.items():
            if file in NOT_MANIFESTS:
                continue
            found += [doc for doc in documents if kind is None or doc["kind"] == kind]
        return found

    def named(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [doc for doc in self.objects(kind) if doc["metadata"]["name"] == name]
        return found

    def pods(self) -> list[dict[str, Any]]:
        return [doc["spec"]["template"] for doc in self.objects() if doc["kind"] in ("Deployment", "Job")]

    @property
    def has_database(self) -> bool:
        return bool(self.context["database"] != "none")

    def dockerfile(self) -> dict[str, Any]:
        """CMD (its JSON form), the ports it EXPOSEs, USER and GRANIAN_PORT of the runtime stage."""
        text = (self.baked.path / "Dockerfile").read_text()
        runtime = text[text.rfind("\nFROM") :]
        (cmd,) = re.findall(r"^CMD\s+(\[.*\])\s*$", runtime, re.MULTILINE)
        exposed = {int(port) for port in re.findall(r"^EXPOSE\s+(\d+)", runtime, re.MULTILINE)}
        users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
        (port,) = re.findall(r"\bGRANIAN_PORT=(\d+)", runtime)
        return {"cmd": json.loads(cmd), "exposed": exposed, "user": users[-1], "granian_port": int(port)}


_projects: dict[str, Project] = {}


@pytest.fixture
def project(request: pytest.FixtureRequest, cookies_session: Any, framework: str, answers: dict[str, Any]) -> Project:
    """One bake per case for the whole module (the checks only read it)."""
    key = request.node.callspec.id
    if key not in _projects:
        _projects[key] = Project(bake(cookies_session, framework, use_kubernetes=True, use_docker=True, **answers))
    return _projects[key]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod["spec"]["containers"]) + list(pod["spec"].get("initContainers", []))


def env_names(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container.get("env", [])}


def secret_keys(pod: dict[str, Any], container: dict[str, Any]) -> set[str]:
    """The Secret's keys the container reads: from its environment, or as files of a volume it mounts."""
    keys = {
        item["valueFrom"]["secretKeyRef"]["key"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    return keys | set(secret_files(pod, container))


def secret_files(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """Key -> path of the file holding it, for each Secret key in a volume the container mounts."""
    volumes = {volume["name"]: volume for volume in pod["spec"].get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        sources = [source["secret"] for source in volume.get("projected", {}).get("sources", []) if "secret" in source]
        if "secret" in volume:
            sources.append({"name": volume["secret"]["secretName"], **volume["secret"]})
        for source in sources:
            for item in source.get("items", []):
                files[item["key"]] = f"{mount['mountPath']}/{item['path']}"
    return files


def env_value(container: dict[str, Any], name: str) -> str:
    (value,) = [item["value"] for item in container.get("env", []) if item["name"] == name]
    return str(value)


def short(error: Exception) -> str:
    return str(error).split("\n\n")[0]


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_every_document_is_valid_against_the_kubernetes_schemas(project: Project) -> None:
    checked = 0
    for file, documents in project.documents.items():
        if file == "kustomization.yaml":
            continue
        assert documents, f"{file} holds no document"
        for document in documents:
            for version in VERSIONS:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    kind = document.get("kind")
                    pytest.fail(f"{file} ({kind}) is not valid for Kubernetes {version}: {short(error)}")
            name = document["metadata"]["name"]
            assert DNS_LABEL.match(name), f"{file}: {name!r} is not a valid object name"
            checked += 1
    kinds = sorted(doc["kind"] for doc in project.objects())
    expected = ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    expected += ["Namespace", "NetworkPolicy", "NetworkPolicy"]
    if project.has_database:
        expected.append("Job")
    if project.context["use_worker"]:
        expected += ["Deployment", "Deployment"]
    assert kinds == sorted(expected)
    assert checked == len(project.objects()) + int(project.has_database)  # and the Secret example


def test_the_validator_rejects_what_a_cluster_would() -> None:
    """The check above can fail: a misspelled field and a missing selector are refused."""
    good = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}]},
    }
    kubernetes_validate.validate(good, NEWEST, strict=True)
    for bad in (
        {**good, "spec": {"ports": [{"port": 80, "targetPrt": "http"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {}}},
    ):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, NEWEST, strict=True)


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_no_template_syntax_and_no_trace_of_a_declined_option(project: Project) -> None:
    assert not unrendered(project.baked.path)
    assert not traces(project.baked)
    gone, kept = manifest_paths(project.baked)
    assert not [path for path in gone if (project.baked.path / path).exists()]
    assert all((project.baked.path / path).exists() for path in kept)


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_the_kustomization_lists_exactly_the_manifests_present(project: Project) -> None:
    kustomization = project.kustomization
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    present = {name for name in project.files if name.endswith(".yaml")} - NOT_MANIFESTS
    assert set(resources) == present
    example = {"secret.example.yaml"} if project.has_database else set()
    assert set(project.files) == present | {"kustomization.yaml"} | example
    # One image, named in the kustomization, where the README says to put the real one.
    (image,) = kustomization["images"]
    assert image["newName"].startswith("registry.example.com/")
    assert image["newTag"] == project.context["version"]
    for pod in project.pods():
        # The manifests name the release's tag themselves; kustomize swaps in the registry.
        assert {c["image"] for c in containers(pod)} == {f"{image['name']}:{image['newTag']}"}


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_the_web_pods_run_the_dockerfiles_command_with_liveness_and_readiness_probes(project: Project) -> None:
    docker = project.dockerfile()
    web = project.named("Deployment", project.name)
    pod = web["spec"]["template"]
    (container,) = pod["spec"]["containers"]

    # The port: the one the image exposes and its server listens on.
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == docker["granian_port"] and ports["http"] in docker["exposed"]

    # The command: the Dockerfile's CMD; where the CMD migrates first (Flask), without
    # that step, which the Job runs once.
    cmd = list(docker["cmd"])
    migrate = MIGRATE[project.framework].format(slug=project.slug)
    if project.has_database:
        job = project.named("Job", f"{project.name}-migrate")
        (job_container,) = job["spec"]["template"]["spec"]["containers"]
        assert shlex.join(job_container["command"]) == migrate
        assert migrate in (project.baked.path / "README.md").read_text(), "the Job runs what the README documents"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        if migrate in cmd[-1]:
            cmd[-1] = cmd[-1].replace(f"{migrate} && ", "")
    assert "upgrade" not in cmd[-1]
    assert container["command"] == cmd, "the web container's command must be the Dockerfile's CMD" + (
        f" without its `{migrate} && ` step (the Job runs it)" if project.has_database else ""
    )

    # Probes, each on its own route at that port: readiness on /health (503 while the
    # database is away takes the pod out of the Service); startup and liveness on
    # /health/live, which never touches the database, so that an outage restarts no pod.
    probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "readiness", "liveness")}
    paths = {"startup": "/health/live", "readiness": "/health", "liveness": "/health/live"}
    for kind, probe in probes.items():
        get = probe["httpGet"]
        assert get["path"] == paths[kind], kind
        assert ports.get(get["port"], get["port"]) == docker["granian_port"], kind
    assert probes["readiness"]["timeoutSeconds"] > 5, "longer than DATABASE_TIMEOUT, /health's own bound"

    # Several replicas: the autoscaler owns the count (at least 2), a PDB keeps one up.
    assert "replicas" not in web["spec"]
    hpa = project.named("HorizontalPodAutoscaler", project.name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": project.name}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    labels = pod["metadata"]["labels"]
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = project.named("PodDisruptionBudget", project.name)
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = project.named("Service", project.name)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= labels.items()
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    # GRANIAN_WORKERS fixed: nproc in a pod counts the node's CPUs.
    assert int(env_value(container, "GRANIAN_WORKERS")) >= 1


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_every_pod_runs_locked_down_with_resources(project: Project) -> None:
    user = project.dockerfile()["user"]
    for pod in project.pods():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert str(spec["securityContext"]["runAsUser"]) == user, "the Dockerfile's USER"
        assert spec["automountServiceAccountToken"] is False
        empty_dirs = {volume["name"] for volume in spec.get("volumes", []) if "emptyDir" in volume}
        for container in containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in empty_dirs, "a writable /tmp on a read-only root"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (container["name"], kind)


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_every_setting_read_is_one_the_project_knows(project: Project) -> None:
    known = settings_names(project.baked)
    for option, name in OPTION_SETTINGS.items():
        if project.context[option]:
            assert name in known, f"{option}: {name} is not a setting of the baked project"
    configmap = project.named("ConfigMap", f"{project.name}-config")
    read = set(configmap["data"])
    from_secret: set[str] = set()
    for pod in project.pods():
        for container in containers(pod):
            sources = [source["configMapRef"]["name"] for source in container["envFrom"]]
            assert sources == [configmap["metadata"]["name"]]
            read |= env_names(container)
            from_secret |= secret_keys(pod, container)
            # Files, not environment variables (which child processes inherit): each named
            # after its setting, in the directory SECRETS_DIR names.
            assert not any("secretKeyRef" in item.get("valueFrom", {}) for item in container.get("env", []))
            files = secret_files(pod, container)
            if files:
                directory = env_value(container, "SECRETS_DIR")
                assert files == {key: f"{directory}/{key}" for key in files}
            for volume in pod["spec"].get("volumes", []):
                for source in volume.get("projected", {}).get("sources", []):
                    if "secret" in source:
                        assert source["secret"]["name"] == f"{project.name}-secret"
    documented = (project.baked.path / ".env.example").read_text() + (project.baked.path / "README.md").read_text()
    unknown = sorted(
        name
        for name in read
        if name not in known
        and name not in SERVER_VARIABLES
        and not (LIBRARY_VARIABLES.fullmatch(name) and name in documented)
    )
    assert not unknown, f"settings the project does not read: {unknown}"
    # The secrets come from the Secret, never from the ConfigMap.
    secret_names = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BROKER_URL", "SMTP_PASSWORD"}
    assert not secret_names & set(configmap["data"])
    expected = {"DATABASE_URL"} if project.has_database else set()
    if project.context["use_auth"]:
        expected |= {"SECRET_KEY", "REDIS_URL"}
    if project.context["use_worker"]:
        expected |= {"BROKER_URL", "SMTP_PASSWORD"}
    assert from_secret == expected
    assert "FORWARDED_ALLOW_IPS" in configmap["data"], "the setting an ingress needs, in one place"
    if project.has_database:
        # The example and the README's `kubectl create secret` name exactly the keys read.
        example = yaml.safe_load((project.dir / "secret.example.yaml").read_text())
        assert set(example["stringData"]) == from_secret
        readme = (project.baked.path / "README.md").read_text()
        created = set(re.findall(r"--from-literal=([A-Z_]+)=", readme))
        assert created == from_secret
        assert f"kubectl create secret generic {project.name}-secret" in readme


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_no_secret_value_is_a_real_one(project: Project) -> None:
    if not project.has_database:
        assert "secret.example.yaml" not in project.files
        assert not any(secret_keys(pod, c) for pod in project.pods() for c in containers(pod))
        return
    example = yaml.safe_load((project.dir / "secret.example.yaml").read_text())
    assert example["kind"] == "Secret" and "data" not in example
    for key, value in example["stringData"].items():
        assert "change-me" in value, f"{key} must be an obvious placeholder, not {value!r}"
    if project.context["use_auth"]:
        # The project itself refuses the placeholder as a production key.
        assert "change" in example["stringData"]["SECRET_KEY"]
        generated = next(
            line.split("=", 1)[1]
            for line in (project.baked.path / ".env").read_text().splitlines()
            if line.startswith("SECRET_KEY=")
        )
        for path in project.files.values():
            assert generated not in path.read_text(), f"{path.name} holds the generated SECRET_KEY"


@pytest.mark.parametrize(("framework", "answers"), WORKER_BAKES)
def test_the_worker_and_one_beat(project: Project) -> None:
    app = f"{project.slug}.worker:celery_app"
    worker = project.named("Deployment", f"{project.name}-worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["command"][:6] == ["celery", "--app", app, "worker", "--loglevel", "INFO"]
    # Without it Celery starts a process per CPU of the node, not of the pod's limit.
    assert container["command"][6:] == ["--concurrency", "2"]
    assert worker["spec"]["replicas"] >= 1
    beat = project.named("Deployment", f"{project.name}-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = beat["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:6] == ["celery", "--app", app, "beat", "--loglevel", "INFO"]
    # Beat writes its schedule file: onto the writable /tmp, not the read-only root.
    assert command[6:7] == ["--schedule"] and command[7].startswith("/tmp/")
    for deployment in (worker, beat):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        web_labels = project.named("Deployment", project.name)["spec"]["selector"]["matchLabels"]
        assert not web_labels.items() <= labels.items(), "the Service and the PDB must not select worker pods"
    module = project.baked.path / project.slug / "worker.py"
    package = project.baked.path / project.slug / "worker" / "__init__.py"
    assert module.exists() or package.exists(), f"{project.slug}.worker is missing"
    # What `celery --app` resolves: the module's celery_app, a Celery application.
    script = f"from {project.slug}.worker import celery_app\nprint(type(celery_app).__name__)"
    done = subprocess.run(
        ["python", "-c", script],
        cwd=project.baked.path,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.split() == ["Celery"], done.stdout + done.stderr


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_metrics_only_with_the_observability_option(project: Project) -> None:
    web = project.named("Deployment", project.name)
    pod = web["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    annotations = pod["metadata"].get("annotations", {})
    if not project.context["use_observability"]:
        assert set(ports) == {"http"} and not annotations
        return
    assert ports["metrics"] == int(env_value(container, "METRICS_PORT")) == 9100
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": "9100", "prometheus.io/path": "/metrics"}
    assert annotations == scrape
    service = project.named("Service", project.name)
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"], "metrics stay off the Service"
    # A writable directory of the pod's own: an emptyDir, or a folder in one.
    directory = Path(env_value(container, "PROMETHEUS_MULTIPROC_DIR"))
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    (mount,) = [
        mount
        for mount in container["volumeMounts"]
        if Path(mount["mountPath"]) in (directory, *directory.parents) and mount["mountPath"] != "/"
    ]
    assert "emptyDir" in volumes[mount["name"]]
    if project.has_database:
        (job_container,) = project.named("Job", f"{project.name}-migrate")["spec"]["template"]["spec"]["containers"]
        assert env_value(job_container, "METRICS_PORT") == "0", "the migration opens no metrics listener"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_declined_the_option_leaves_no_manifest(cookies: Any, framework: str) -> None:
    baked = bake(cookies, framework, database="postgresql", use_auth=True, use_kubernetes=False)
    assert not (baked.path / "deploy" / "kubernetes").exists()
    assert not traces(baked), "the README's Kubernetes section goes too"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_declined_the_option_leaves_no_empty_folder(cookies: Any, framework: str) -> None:
    baked = bake(cookies, framework, database="postgresql", use_auth=True, use_kubernetes=False)
    deploy = baked.path / "deploy"
    assert not deploy.exists() or any(deploy.iterdir()), "an empty deploy/ is left"


def test_the_manifests_name_the_files_the_prune_manifest_removes() -> None:
    """Each option's manifests are whole files the hook removes when it is declined."""
    from tests.baking import template_context, template_dir

    for framework in FRAMEWORKS:
        prune = template_context(framework)["__prune"]
        folder = template_dir(framework) / "{{cookiecutter.project_slug}}" / "deploy" / "kubernetes"
        assert prune["use_kubernetes"]["false"] == ["deploy/kubernetes"]
        for option, answer, files in (
            ("use_worker", "false", {"worker.yaml", "beat.yaml"}),
            ("database", "none", {"migrate-job.yaml", "secret.example.yaml"}),
        ):
            listed = {Path(p).name for p in prune[option][answer] if p.startswith("deploy/kubernetes/")}
            assert listed == files, (framework, option)
            assert all((folder / name).exists() for name in files)


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_every_object_is_in_the_services_own_namespace(project: Project) -> None:
    (namespace,) = project.objects("Namespace")
    name = namespace["metadata"]["name"]
    assert name == project.name and name != "default"
    assert project.kustomization["namespace"] == name, "kustomize moves every object with it"
    assert project.kustomization["resources"][0] == "namespace.yaml", "created before what it holds"
    placed = [doc for doc in project.objects() if doc["kind"] != "Namespace"]
    if project.has_database:
        placed.append(project.one("secret.example.yaml"))
    for doc in placed:
        assert doc["metadata"].get("namespace") == name, f"{doc['kind']} {doc['metadata']['name']}"
    # The README's commands that name an object of the service look for it there.
    readme = (project.baked.path / "README.md").read_text()
    commands = re.findall(r"kubectl (?:create secret|delete|wait|logs|rollout|scale) [^\n`]+", readme)
    assert commands
    for command in commands:
        assert f"--namespace {name}" in command, command


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_only_the_web_pods_ports_admit_connections(project: Project) -> None:
    policies = project.objects("NetworkPolicy")
    for pod in project.pods():
        labels = pod["metadata"]["labels"]
        selecting = [
            policy for policy in policies if policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert selecting and all(policy["spec"]["policyTypes"] == ["Ingress"] for policy in selecting), labels
        rules = [rule for policy in selecting for rule in policy["spec"].get("ingress", [])]
        admitted = {port["port"] for rule in rules for port in rule["ports"]}
        if labels.get("app.kubernetes.io/component") == "web":
            (container,) = pod["spec"]["containers"]
            assert admitted == {port["name"] for port in container["ports"]}
            assert all("from" not in rule for rule in rules), "the ingress controller may be anywhere"
        else:
            assert admitted == set(), f"{labels}: serves nothing, admits nothing"


# The web memory limit's rule (README, "Kubernetes"), in MiB: the server's main process, plus
# for each worker process one at rest with room for its requests and one Argon2 hash per
# hashing slot (one slot per CPU of the limit, as the project counts them).
MAIN_MIB, WORKER_MIB = 64, 160
SECURITY_MODULE = {"fastapi": "{slug}.core.security", "flask": "{slug}.security"}


def mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def millicpus(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_the_memory_limit_is_derived_from_the_workers_and_their_hashing_slots(project: Project, tmp_path: Path) -> None:
    web = project.named("Deployment", project.name)
    (container,) = web["spec"]["template"]["spec"]["containers"]
    workers = int(env_value(container, "GRANIAN_WORKERS"))
    limits = container["resources"]["limits"]
    slots = hash_mib = 0
    if project.context["use_auth"]:
        # The slots the project's own code counts in this pod: a cgroup quota of the CPU limit,
        # on a node of 64 CPUs (the node's count must not matter).
        cpu_max = tmp_path / "cpu.max"
        cpu_max.write_text(f"{millicpus(limits['cpu']) * 100} 100000\n")
        module = SECURITY_MODULE[project.framework].format(slug=project.slug)
        script = (
            "import os, sys; from pathlib import Path; os.sched_getaffinity = lambda pid: set(range(64)); "
            f"from {module} import usable_cpus; print(usable_cpus(Path(sys.argv[1])))"
        )
        output = run([sys.executable, "-c", script, str(cpu_max)], project.baked.path, project_env())
        slots = int(output.strip().splitlines()[-1])
        # Both projects hash with Argon2's defaults (RFC 9106's low-memory profile).
        hash_mib = inspect.signature(Argon2Hasher).parameters["memory_cost"].default // 1024
        assert slots == millicpus(limits["cpu"]) // 1000 and hash_mib == 64
    expected = MAIN_MIB + workers * (WORKER_MIB + slots * hash_mib)
    print(
        f"{project.framework}: {workers} workers, {slots} hashing slots each: {limits['memory']} (rule: {expected} MiB)"
    )
    assert mebibytes(limits["memory"]) == expected
    assert mebibytes(container["resources"]["requests"]["memory"]) == MAIN_MIB + workers * WORKER_MIB
    # The README says how, with the shipped numbers.
    readme = " ".join((project.baked.path / "README.md").read_text().split())
    times = "\N{MULTIPLICATION SIGN}"
    rule = f"{MAIN_MIB} + {workers} {times} {WORKER_MIB}"
    if slots:
        rule = f"{MAIN_MIB} + {workers} {times} ({WORKER_MIB} + {slots} {times} {hash_mib})"
    assert f"{rule} = {expected} MiB" in readme


# checkov runs in a virtualenv of its own (it pins old versions of libraries the suite uses):
# .ci/run makes it from requirements/checkov.txt; CHECKOV names another binary.
CHECKOV = Path(os.environ.get("CHECKOV") or ROOT / ".venv-checkov" / "bin" / "checkov")
EXPLAINED_TABLE = "| check | where | why it stays |"
CHECK_ID = re.compile(r"`(CKV2?_K8S_\d+)`")


def explained_checks(readme: str) -> set[str]:
    """The check ids of the README's table of findings that stay, under "Kubernetes"."""
    section = readme.split("\n### Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    assert EXPLAINED_TABLE in section, "the README's Kubernetes section has no table of the checks that stay"
    rows = itertools.takewhile(lambda line: line.startswith("|"), section.split(EXPLAINED_TABLE, 1)[1].split("\n")[2:])
    return {check for row in rows for check in CHECK_ID.findall(row.split("|")[1])}


@pytest.mark.parametrize(("framework", "answers"), BAKES)
def test_checkov_finds_nothing_but_what_the_readme_explains(project: Project) -> None:
    checkov = require_tool(
        str(CHECKOV),
        f"checkov is not at {CHECKOV}: python3 -m venv .venv-checkov && "
        ".venv-checkov/bin/pip install -r requirements/checkov.txt (or set CHECKOV to its path)",
    )
    done = subprocess.run(
        [
            checkov,
            "--directory",
            str(project.dir),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    (report,) = report if isinstance(report, list) else [report]
    summary = report["summary"]
    failed = report["results"]["failed_checks"]
    found = {check["check_id"] for check in failed}
    print(
        f"checkov on {project.framework}-{project.context['database']}: {summary['passed']} passed, "
        f"{summary['failed']} failed: " + ", ".join(sorted(f"{c['check_id']} {c['resource']}" for c in failed))
    )
    assert summary["parsing_errors"] == 0 and summary["passed"] > 0
    explained = explained_checks((project.baked.path / "README.md").read_text())
    assert found - explained == set(), "findings the README does not explain: fix them, or explain why they stay"
    assert explained - found == set(), "the README explains findings checkov no longer reports"
