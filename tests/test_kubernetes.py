"""The Kubernetes manifests (use_kubernetes), checked offline: every document is valid
against the Kubernetes API schemas (kubernetes-validate, strict), the kustomization lists
exactly the manifests present, the web pods run the Dockerfile's command on its port with
liveness on /health/live and readiness on /health, every setting they read is one the project
knows, and the Secret example holds placeholders only. The hook's refusals (no Docker, SQLite) are in test_hooks.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.baking import FRAMEWORKS, Baked, bake, project_env
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
LIBRARY_VARIABLES = re.compile(r"PROMETHEUS_MULTIPROC_DIR|OTEL_[A-Z_]+")
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


def secret_keys(container: dict[str, Any]) -> set[str]:
    return {
        item["valueFrom"]["secretKeyRef"]["key"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }


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
        assert {c["image"] for c in containers(pod)} == {image["name"]}


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
            from_secret |= secret_keys(container)
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == f"{project.name}-secret"
                    assert ref["key"] == item["name"]
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
        assert not any(secret_keys(c) for pod in project.pods() for c in containers(pod))
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
    assert container["command"] == ["celery", "--app", app, "worker", "--loglevel", "INFO"]
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
