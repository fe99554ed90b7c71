"""Tenancy as a property of a rendered stack: nothing one team owns is open to another.

From what a stack renders (RBAC, NetworkPolicies, the MinIO release's users and policies,
the MLflow Deployments and the notebook hub's values) this derives, for every ordered
pair of teams (X, Y), whether an identity of X can

- act in Y's namespace or read its Secrets (`rbac`): a RoleBinding in Y's namespace, or a
  ClusterRoleBinding, names a user, group or ServiceAccount of X;
- reach Y's pods (`network`): an Ingress rule of a policy in Y's namespace admits X's
  namespace or X's notebook pods (or no Ingress policy selects Y's pods at all);
- read or write Y's objects (`storage`): a MinIO user X holds credentials for (its own, or
  the one its MLflow server uses) has an object permission outside `<bucket>/X/`;
- see Y's MLflow experiments (`tracking`): X's identities reach Y's tracking server, or
  two teams' servers share a database or an artifact prefix.

It also checks that no notebook ServiceAccount may read Secrets (`notebook-secrets`), and
that the hub offers each member only their own teams' notebook profiles, and with them
ServiceAccounts (`notebooks`, running the hub's own profile filter).
Identities come from the stack config, not from the bindings under test: a team's users
and groups are its `members`, its ServiceAccounts those of its namespace plus the one its
notebook profiles run as. Bucket *listing* is per bucket in S3 (object names are visible,
contents are not); that documented limit is not reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.components.storage import ACCESS_KEY_ANNOTATION
from infra.verify.findings import Finding
from infra.verify.validate import selector_matches

TEAM_LABEL = "ai4s.dev/team"
NS_NAME = "kubernetes.io/metadata.name"
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:*")


@dataclass(kw_only=True, frozen=True, slots=True)
class Team:
    """Ground truth about one team, from the stack config."""

    name: str
    namespace: str
    members: tuple[str, ...] = ()
    """`user:<name>` or `group:<name>`."""


def _meta(o: Mapping[str, Any]) -> Mapping[str, Any]:
    return o.get("metadata") or {}


def _of(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def _subject_key(s: Mapping[str, Any]) -> str:
    if s.get("kind") == "ServiceAccount":
        return f"ServiceAccount:{s.get('namespace', '')}/{s.get('name')}"
    return f"{s.get('kind')}:{s.get('name')}"


def _notebook_profiles(releases) -> list[Mapping[str, Any]]:
    for rel in releases:
        if str(rel.get("chart", "")).endswith("jupyterhub"):
            return [{**p, "namespace": rel.get("namespace")}
                    for p in ((rel.get("values") or {}).get("singleuser") or {}).get("profileList") or []]
    return []


def identities(teams: Iterable[Team], objects, releases) -> dict[str, set[str]]:
    """Team -> the RBAC subjects that act for it."""
    out: dict[str, set[str]] = {}
    by_ns = {}
    for t in teams:
        ids = {f"{m.partition(':')[0].capitalize()}:{m.partition(':')[2]}" for m in t.members}
        out[t.name] = ids
        by_ns[t.namespace] = t.name
    for sa in _of(objects, "ServiceAccount"):
        team = by_ns.get(_meta(sa).get("namespace"))
        if team:
            out[team].add(f"ServiceAccount:{_meta(sa)['namespace']}/{_meta(sa)['name']}")
    for p in _notebook_profiles(releases):
        override = p.get("kubespawner_override") or {}
        team = (override.get("extra_labels") or {}).get(TEAM_LABEL)
        if team in out and override.get("service_account"):
            out[team].add(f"ServiceAccount:{p['namespace']}/{override['service_account']}")
    return out


def _rbac(teams: list[Team], ids: dict[str, set[str]], objects) -> list[Finding]:
    found = []
    owner = {i: t for t, s in ids.items() for i in s}
    ns_team = {t.namespace: t.name for t in teams}
    for rb in _of(objects, "RoleBinding"):
        target = ns_team.get(_meta(rb).get("namespace"))
        for s in rb.get("subjects") or []:
            who = owner.get(_subject_key(s))
            if target and who and who != target:
                found.append(Finding(object=f"RoleBinding {_meta(rb)['namespace']}/{_meta(rb)['name']}", message=(
                    f"[rbac] team {who} -> team {target}: {_subject_key(s)} may act in {target}'s namespace")))
    for crb in _of(objects, "ClusterRoleBinding"):
        for s in crb.get("subjects") or []:
            who = owner.get(_subject_key(s))
            if who:
                found.append(Finding(object=f"ClusterRoleBinding {_meta(crb)['name']}", message=(
                    f"[rbac] team {who} -> every team: {_subject_key(s)} holds a cluster-wide role")))
    return found


def _notebook_secrets(releases, objects) -> list[Finding]:
    accounts = {f"ServiceAccount:{p['namespace']}/{(p.get('kubespawner_override') or {}).get('service_account')}"
                for p in _notebook_profiles(releases)}
    roles = {(_meta(r).get("namespace"), _meta(r)["name"]): r for r in _of(objects, "Role")}
    roles.update({(None, _meta(r)["name"]): r for r in _of(objects, "ClusterRole")})
    found = []
    for rb in [*_of(objects, "RoleBinding"), *_of(objects, "ClusterRoleBinding")]:
        if not accounts & {_subject_key(s) for s in rb.get("subjects") or []}:
            continue
        ref = rb.get("roleRef") or {}
        ns = _meta(rb).get("namespace") if ref.get("kind") == "Role" else None
        role = roles.get((ns, ref.get("name")))
        for rule in (role or {}).get("rules") or []:
            if {"secrets", "*"} & set(rule.get("resources") or []) and \
                    {"get", "list", "watch", "*"} & set(rule.get("verbs") or []):
                found.append(Finding(object=f"{rb['kind']} {ns or ''}/{_meta(rb)['name']}", message=(
                    f"[notebook-secrets] a notebook ServiceAccount may read Secrets through {ref.get('name')}")))
    return found


def offered_profiles(hub_values: Mapping[str, Any], user: str, groups: Iterable[str]) -> list[Mapping]:
    """The notebook profiles JupyterHub would offer this user: the static list, narrowed by
    whatever hub.extraConfig sets `c.KubeSpawner.profile_list` to (run here as the hub runs
    it, against a stand-in spawner)."""
    from types import SimpleNamespace

    profiles = list(((hub_values.get("singleuser") or {}).get("profileList")) or [])
    c = SimpleNamespace(KubeSpawner=SimpleNamespace(profile_list=profiles))
    for _, code in sorted(((hub_values.get("hub") or {}).get("extraConfig") or {}).items()):
        exec(code, {"c": c})  # noqa: S102 - the stack's own rendered hub config
    chosen = c.KubeSpawner.profile_list
    if callable(chosen):
        spawner = SimpleNamespace(user=SimpleNamespace(
            name=user, groups=[SimpleNamespace(name=g) for g in groups]))
        chosen = chosen(spawner)
    return list(chosen)


def _notebook_access(teams: list[Team], releases) -> list[Finding]:
    found = []
    hub = next((r for r in releases if str(r.get("chart", "")).endswith("jupyterhub")), None)
    if hub is None:
        return []
    members = {m for t in teams for m in t.members}
    for m in sorted(members):
        kind, _, who = m.partition(":")
        user, groups = (who, ()) if kind == "user" else ("ai4s-probe-user", (who,))
        allowed = {t.name for t in teams if m in t.members}
        for p in offered_profiles(hub.get("values") or {}, user, groups):
            team = ((p.get("kubespawner_override") or {}).get("extra_labels") or {}).get(TEAM_LABEL)
            if team not in allowed:
                found.append(Finding(object=f"helm {hub.get('namespace')}/{hub.get('name')}", message=(
                    f"[notebooks] {m} (team {', '.join(sorted(allowed))}) is offered team {team}'s "
                    f"profile {p.get('slug')!r} and its ServiceAccount")))
    return found


def _peer_admits(peer: Mapping[str, Any], ns_labels: Mapping[str, str], pod_labels: Mapping[str, str],
                 policy_ns: str, source_ns: str) -> bool:
    if "ipBlock" in peer:
        return True  # an address range may hold any pod: treat as open
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], ns_labels):
            return False
    elif source_ns != policy_ns:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], pod_labels)


def reaches(objects, namespaces: Mapping[str, Mapping[str, str]], source_ns: str,
            source_labels: Mapping[str, str], target_ns: str, target_labels: Mapping[str, str]) -> bool:
    """Whether a pod (source_ns, source_labels) may open a connection to a pod
    (target_ns, target_labels) under the Ingress NetworkPolicies of target_ns."""
    selecting = [p for p in _of(objects, "NetworkPolicy")
                 if _meta(p).get("namespace") == target_ns
                 and "Ingress" in ((p.get("spec") or {}).get("policyTypes") or ["Ingress"])
                 and selector_matches((p.get("spec") or {}).get("podSelector") or {}, target_labels)]
    if not selecting:
        return True  # no policy selects the pod: Kubernetes lets everything in
    for policy in selecting:
        for rule in (policy.get("spec") or {}).get("ingress") or []:
            peers = rule.get("from")
            if not peers:
                return True  # a rule without `from` admits every source
            if any(_peer_admits(peer, namespaces.get(source_ns, {}), source_labels, target_ns, source_ns)
                   for peer in peers):
                return True
    return False


def _sources(teams: list[Team], releases) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Team -> (namespace, labels) of the pods that run its code: any pod of its namespace
    and its notebook servers."""
    out = {t.name: [(t.namespace, {"ai4s.dev/probe": "any"})] for t in teams}
    for p in _notebook_profiles(releases):
        labels = (p.get("kubespawner_override") or {}).get("extra_labels") or {}
        if labels.get(TEAM_LABEL) in out:
            out[labels[TEAM_LABEL]].append((p["namespace"], dict(labels)))
    return out


def _mlflow_servers(objects) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list] = {}
    for d in _of(objects, "Deployment"):
        labels = (((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/name") == "mlflow":
            out.setdefault(labels.get(TEAM_LABEL, "<shared>"), []).append(d)
    return out


def _network(teams: list[Team], objects, releases, namespaces) -> list[Finding]:
    found = []
    sources = _sources(teams, releases)
    servers = _mlflow_servers(objects)
    for x in teams:
        for y in teams:
            if x.name == y.name:
                continue
            for ns, labels in sources[x.name]:
                if reaches(objects, namespaces, ns, labels, y.namespace, {"ai4s.dev/probe": "any"}):
                    found.append(Finding(object=f"namespace {y.namespace}", message=(
                        f"[network] team {x.name} -> team {y.name}: pods in {ns} {labels} reach its pods")))
                for server in [*servers.get(y.name, []), *servers.get("<shared>", [])]:
                    pod_labels = server["spec"]["template"]["metadata"]["labels"]
                    if reaches(objects, namespaces, ns, labels, _meta(server)["namespace"], pod_labels):
                        found.append(Finding(object=f"Deployment {_meta(server)['namespace']}/{_meta(server)['name']}",
                                             message=(f"[tracking] team {x.name} -> team {y.name}: pods in {ns} "
                                                      f"{labels} reach the tracking server holding {y.name}'s "
                                                      "experiments")))
    return found


def _env(container: Mapping[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def _tracking_sharing(objects) -> list[Finding]:
    found = []
    seen: dict[tuple[str, str], str] = {}
    for team, deployments in sorted(_mlflow_servers(objects).items()):
        for d in deployments:
            c = d["spec"]["template"]["spec"]["containers"][0]
            args = c.get("args") or []
            db = (_env(c).get("MLFLOW_BACKEND_STORE_URI") or "").rsplit("/", 1)[-1]
            dest = args[args.index("--artifacts-destination") + 1] if "--artifacts-destination" in args else ""
            for kind, key in (("database", db), ("artifacts", dest)):
                if key and (kind, key) in seen and seen[(kind, key)] != team:
                    found.append(Finding(object=f"Deployment {_meta(d)['namespace']}/{_meta(d)['name']}", message=(
                        f"[tracking] teams {seen[(kind, key)]} and {team} share the {kind} {key}")))
                seen[(kind, key)] = team
            if team == "<shared>":
                found.append(Finding(object=f"Deployment {_meta(d)['namespace']}/{_meta(d)['name']}", message=(
                    "[tracking] a tracking server without a team holds every team's experiments")))
            elif dest and not dest.split("://", 1)[-1].split("/", 1)[-1].startswith(f"{team}/"):
                found.append(Finding(object=f"Deployment {_meta(d)['namespace']}/{_meta(d)['name']}", message=(
                    f"[tracking] team {team}'s artifacts go to {dest}, outside its prefix")))
    return found


def _credential_owners(teams: list[Team], objects) -> dict[str, str]:
    """MinIO access key -> the team whose identities hold it."""
    ns_team = {t.namespace: t.name for t in teams}
    secret_team: dict[tuple[str, str], str] = {}
    for d in _of(objects, "Deployment"):
        pod = d["spec"]["template"]
        team = (pod.get("metadata") or {}).get("labels", {}).get(TEAM_LABEL)
        for c in pod["spec"].get("containers") or []:
            for ref in c.get("envFrom") or []:
                if team and "secretRef" in ref:
                    secret_team[(_meta(d)["namespace"], ref["secretRef"]["name"])] = team
    owners = {}
    for s in _of(objects, "Secret"):
        key = (_meta(s).get("annotations") or {}).get(ACCESS_KEY_ANNOTATION)
        ns = _meta(s).get("namespace")
        team = ns_team.get(ns) or secret_team.get((ns, _meta(s)["name"]))
        if key and team:
            owners[key] = team
    return owners


def _storage(teams: list[Team], objects, releases) -> list[Finding]:
    owners = _credential_owners(teams, objects)
    found = []
    for rel in releases:
        values = rel.get("values") or {}
        if rel.get("chart") != "minio":
            continue
        policies = {p["name"]: p for p in values.get("policies") or []}
        for user in values.get("users") or []:
            team = owners.get(user.get("accessKey"))
            if not team:
                continue
            for st in (policies.get(user.get("policy")) or {}).get("statements") or []:
                if st.get("effect", "Allow") != "Allow" or not set(st.get("actions") or []) & set(OBJECT_ACTIONS):
                    continue
                for arn in st.get("resources") or []:
                    path = arn.removeprefix("arn:aws:s3:::")
                    bucket, _, key = path.partition("/")
                    if not key.startswith(f"{team}/"):
                        found.append(Finding(object=f"helm {rel.get('namespace')}/{rel.get('name')}", message=(
                            f"[storage] team {team} -> other teams: MinIO user {user['accessKey']} may "
                            f"read or write {arn}, outside {bucket}/{team}/")))
    return found


def check(teams: Iterable[Team], objects: Iterable[Mapping[str, Any]],
          releases: Iterable[Mapping[str, Any]] = ()) -> list[Finding]:
    """Every way one team could reach what another owns (empty: nothing crosses)."""
    teams, objects, releases = list(teams), list(objects), list(releases)
    namespaces = {_meta(n)["name"]: {NS_NAME: _meta(n)["name"], **(_meta(n).get("labels") or {})}
                  for n in _of(objects, "Namespace")}
    ids = identities(teams, objects, releases)
    found = (_rbac(teams, ids, objects) + _notebook_secrets(releases, objects)
             + _network(teams, objects, releases, namespaces) + _tracking_sharing(objects)
             + _storage(teams, objects, releases) + _notebook_access(teams, releases))
    return list(dict.fromkeys(found))  # one finding per leak, however many profiles show it


def teams_of(compute_config: Any) -> list[Team]:
    """The ground truth of a stack: its `ai4s:compute` teams."""
    return [Team(name=t.name, namespace=t.namespace, members=tuple(t.members)) for t in compute_config.teams]


MEMBERS_BINDING = "team-members"
"""The RoleBinding tenancy writes in each team namespace for the team's members."""


def teams_from_render(objects: Iterable[Mapping[str, Any]]) -> list[Team]:
    """The teams a render declares, for `infra.cli validate`, which has no stack config: each
    tenant namespace's `ai4s.dev/team` label, and as members the subjects of the
    `team-members` RoleBinding tenancy writes there (any other binding is then checked
    against them)."""
    objects = list(objects)
    teams = []
    for ns in _of(objects, "Namespace"):
        labels = _meta(ns).get("labels") or {}
        if labels.get("ai4s.dev/tenant") != "true" or TEAM_LABEL not in labels:
            continue
        members = tuple(
            f"{sub['kind'].lower()}:{sub['name']}"
            for rb in _of(objects, "RoleBinding")
            if _meta(rb).get("namespace") == _meta(ns)["name"] and _meta(rb).get("name") == MEMBERS_BINDING
            for sub in rb.get("subjects") or [] if sub.get("kind") in ("User", "Group"))
        teams.append(Team(name=labels[TEAM_LABEL], namespace=_meta(ns)["name"], members=members))
    return teams
