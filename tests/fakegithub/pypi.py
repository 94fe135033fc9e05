"""A stand-in for PyPI's JSON API and file host, served over loopback HTTP.

It serves what the release audit reads, in the shapes of PyPI's documentation
(https://docs.pypi.org/api/json/)::

    GET /pypi/<project>/json             the latest release, plus every release's files
    GET /pypi/<project>/<version>/json   one release ("otherwise identical ... minus the releases key")
    GET /packages/<b2>/<b2>/<b2>/<file>  the files, at the ``url`` the JSON gives

Like PyPI, project names are matched after PEP 503 normalisation, and a name that is not the
normalised one is redirected (301) to the normalised URL, as Warehouse does; unknown projects and
versions answer 404 ``{"message": "Not Found"}``. File URLs are laid out as on
files.pythonhosted.org (``/packages/`` + the BLAKE2b-256 digest split 2/2/60 + the filename).

Scenario API::

    pypi = FakePyPI(clock=FrozenClock())
    await pypi.start()
    pypi.add_release("Foo_Bar", "1.0", {"foo_bar-1.0.tar.gz": sdist, "foo_bar-1.0-py3-none-any.whl": whl})
    pypi.replace_file("foo-bar", "1.0", "foo_bar-1.0.tar.gz", evil)   # advertised digests kept
    pypi.yank("foo-bar", "1.0", reason="broken")
    assert pypi.count("GET /pypi/{project}/{version}/json") == 1
    await pypi.close()

Routes as :meth:`FakePyPI.count` names them: ``GET /pypi/{project}/json``,
``GET /pypi/{project}/{version}/json``, ``GET /packages/{path}`` (and ``GET <unknown>``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from packaging.version import InvalidVersion, Version

from .clock import Clock, SystemClock
from .faults import RequestRecord, route_matches
from .loopback import LoopbackServer

PyPIFault = Literal[500, 502, 503, 429, "timeout"]
_PYPI_FAULTS: tuple[PyPIFault, ...] = (500, 502, 503, 429, "timeout")
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET",
    "Access-Control-Expose-Headers": "X-PyPI-Last-Serial",
}
_JSON_PROJECT = re.compile(r"^/pypi/(?P<project>[^/]+)/json/?$")
_JSON_RELEASE = re.compile(r"^/pypi/(?P<project>[^/]+)/(?P<version>[^/]+)/json/?$")
_FILE = re.compile(r"^/packages/(?P<path>[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/[^/]+)$")
_SDIST_SUFFIXES = (".tar.gz", ".zip")


def normalize(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, and the name is lower-cased."""
    return re.sub(r"[-_.]+", "-", name).lower()


def packagetype(filename: str) -> str:
    """``sdist`` for ``.tar.gz``/``.zip``, ``bdist_wheel`` for ``.whl`` (PyPI accepts no other
    new uploads)."""
    if filename.endswith(_SDIST_SUFFIXES):
        return "sdist"
    if filename.endswith(".whl"):
        return "bdist_wheel"
    raise ValueError(f"{filename!r} is neither an sdist (.tar.gz, .zip) nor a wheel (.whl)")


def _python_version(filename: str, kind: str) -> str:
    """``source`` for an sdist; a wheel's python tag (``py3`` for ``x-1.0-py3-none-any.whl``)."""
    if kind == "sdist":
        return "source"
    parts = filename.removesuffix(".whl").split("-")
    return parts[-3] if len(parts) >= 5 else "py3"


def _digests(content: bytes) -> dict[str, str]:
    return {
        "blake2b_256": hashlib.blake2b(content, digest_size=32).hexdigest(),
        "md5": hashlib.md5(content).hexdigest(),  # noqa: S324 - PyPI publishes it
        "sha256": hashlib.sha256(content).hexdigest(),
    }


@dataclass(eq=False)
class PyPIFile:
    """One distribution file. ``digests``, ``size`` and ``path`` are what PyPI advertises; the
    bytes served are ``content`` (which :meth:`FakePyPI.replace_file` may make disagree)."""

    filename: str
    content: bytes = field(repr=False)
    packagetype: str
    python_version: str
    upload_time: datetime
    digests: dict[str, str]
    size: int
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None

    @property
    def path(self) -> str:
        """The file's path under ``/packages/``, from its advertised BLAKE2b-256 digest."""
        b2 = self.digests["blake2b_256"]
        return f"{b2[:2]}/{b2[2:4]}/{b2[4:]}/{self.filename}"


@dataclass(eq=False)
class PyPIRelease:
    version: str
    files: list[PyPIFile] = field(default_factory=list)
    summary: str | None = None
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None

    @property
    def is_prerelease(self) -> bool:
        try:
            return Version(self.version).is_prerelease
        except InvalidVersion:
            return False


@dataclass(eq=False)
class PyPIProject:
    name: str
    """The name as first uploaded (``info.name``)."""
    releases: dict[str, PyPIRelease] = field(default_factory=dict)
    last_serial: int = 0

    @property
    def normalized_name(self) -> str:
        return normalize(self.name)

    def ordered(self) -> list[PyPIRelease]:
        """Releases by version, oldest first (unparseable versions first, by upload order)."""

        def key(item: tuple[int, PyPIRelease]) -> tuple[int, Any, int]:
            index, release = item
            try:
                return (1, Version(release.version), index)
            except InvalidVersion:
                return (0, None, index)

        return [r for _, r in sorted(enumerate(self.releases.values()), key=key)]

    def latest(self) -> PyPIRelease | None:
        """What ``/pypi/<project>/json`` shows: the highest version that is neither yanked nor a
        prerelease, else the highest prerelease, else the highest yanked one."""
        ordered = self.ordered()
        final = [r for r in ordered if not r.yanked and not r.is_prerelease]
        standing = [r for r in ordered if not r.yanked]
        for found in (final, standing, ordered):
            if found:
                return found[-1]
        return None


class FakePyPI(LoopbackServer):
    """PyPI's JSON API and file host on 127.0.0.1 (a free port); ``base_url`` once started."""

    name = "FakePyPI"

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock: Clock = clock or SystemClock()
        self.projects: dict[str, PyPIProject] = {}
        self.requests: list[RequestRecord] = []
        self._serials = itertools.count(20_000_001)
        self._faults: list[list[Any]] = []

    # -- scenario ---------------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self.clock.now()
        if now.tzinfo is None:
            raise ValueError("the clock must return aware datetimes")
        return now

    def project(self, name: str) -> PyPIProject | None:
        return self.projects.get(normalize(name))

    def release(self, project: str, version: str) -> PyPIRelease:
        found = self.project(project)
        if found is None or version not in found.releases:
            raise LookupError(f"no release {project} {version}")
        return found.releases[version]

    def file(self, project: str, version: str, filename: str) -> PyPIFile:
        for item in self.release(project, version).files:
            if item.filename == filename:
                return item
        raise LookupError(f"no file {filename} in {project} {version}")

    def add_release(
        self,
        project: str,
        version: str,
        files: Mapping[str, bytes],
        *,
        summary: str | None = None,
        requires_python: str | None = None,
    ) -> PyPIRelease:
        """Upload ``files`` (filename -> bytes) as ``version`` of ``project`` (created if new).
        PyPI never accepts a filename twice, even after a deletion: a repeated one raises."""
        if not files:
            raise ValueError("a release needs files")
        known = self.project(project)
        if known is None:
            known = PyPIProject(project)
            self.projects[known.normalized_name] = known
        taken = {f.filename for r in known.releases.values() for f in r.files}
        release = known.releases.setdefault(
            version, PyPIRelease(version, summary=summary, requires_python=requires_python)
        )
        now = self._now()
        for filename, content in files.items():
            if filename in taken or "/" in filename:
                raise ValueError(f"File already exists ({filename!r})")
            kind = packagetype(filename)
            data = bytes(content)
            release.files.append(
                PyPIFile(
                    filename=filename,
                    content=data,
                    packagetype=kind,
                    python_version=_python_version(filename, kind),
                    upload_time=now,
                    digests=_digests(data),
                    size=len(data),
                    requires_python=requires_python,
                )
            )
            taken.add(filename)
        known.last_serial = next(self._serials)
        return release

    def replace_file(
        self,
        project: str,
        version: str,
        filename: str,
        content: bytes,
        *,
        keep_digest: bool = True,
    ) -> PyPIFile:
        """Serve other bytes for a file (PyPI never allows it: this is for tampering tests). With
        ``keep_digest`` (the default) the JSON still advertises the old digests and size, so the
        served bytes no longer match them; without it everything, the URL included, is
        recomputed."""
        item = self.file(project, version, filename)
        item.content = bytes(content)
        if not keep_digest:
            item.digests = _digests(item.content)
            item.size = len(item.content)
        return item

    def yank(self, project: str, version: str, *, reason: str | None = None) -> PyPIRelease:
        release = self.release(project, version)
        release.yanked, release.yanked_reason = True, reason
        for item in release.files:
            item.yanked, item.yanked_reason = True, reason
        known = self.project(project)
        assert known is not None
        known.last_serial = next(self._serials)
        return release

    # -- observation ------------------------------------------------------------------------------
    def count(self, route: str | None = None) -> int:
        """Requests matching ``route`` (a template such as ``GET /pypi/{project}/json``, a prefix
        of one, or a concrete ``GET /pypi/foo`` prefix; None counts all)."""
        return sum(1 for r in self.requests if route_matches(route, r.route, r.concrete))

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.route for r in self.requests)

    def reset_counts(self) -> None:
        self.requests.clear()

    def inject_fault(self, kind: PyPIFault, route: str | None = None, times: int = 1) -> None:
        """The next ``times`` requests matching ``route`` fail with ``kind`` (an HTTP status, or
        ``"timeout"``: no answer until the server closes)."""
        if kind not in _PYPI_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {_PYPI_FAULTS}")
        self._faults.append([kind, route, times])

    def _take_fault(self, route: str, concrete: str) -> PyPIFault | None:
        for fault in self._faults:
            if route_matches(fault[1], route, concrete):
                fault[2] -= 1
                if fault[2] == 0:
                    self._faults.remove(fault)
                kind: PyPIFault = fault[0]
                return kind
        return None

    # -- rendering --------------------------------------------------------------------------------
    def file_url(self, item: PyPIFile) -> str:
        return f"{self.base_url}/packages/{item.path}"

    def _file_json(self, item: PyPIFile) -> dict[str, Any]:
        stamp = item.upload_time.astimezone(UTC)
        return {
            "comment_text": "",
            "core-metadata": False,
            "digests": dict(item.digests),
            "downloads": -1,
            "filename": item.filename,
            "has_sig": False,
            "md5_digest": item.digests["md5"],
            "packagetype": item.packagetype,
            "python_version": item.python_version,
            "requires_python": item.requires_python,
            "size": item.size,
            "upload_time": stamp.strftime("%Y-%m-%dT%H:%M:%S"),
            "upload_time_iso_8601": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "url": self.file_url(item),
            "yanked": item.yanked,
            "yanked_reason": item.yanked_reason,
        }

    def release_json(
        self, project: PyPIProject, release: PyPIRelease, *, all_releases: bool
    ) -> dict[str, Any]:
        """The documented body of ``/pypi/<project>/<version>/json`` (with ``releases`` for
        ``/pypi/<project>/json``)."""
        web_base = f"{self.base_url}/project/{project.name}/"
        info: dict[str, Any] = {
            "author": "",
            "author_email": "",
            "bugtrack_url": None,
            "classifiers": [],
            "description": "",
            "description_content_type": None,
            "docs_url": None,
            "download_url": "",
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": None,
            "home_page": "",
            "keywords": "",
            "license": "",
            "license_expression": None,
            "license_files": None,
            "maintainer": "",
            "maintainer_email": "",
            "name": project.name,
            "package_url": web_base,
            "platform": None,
            "project_url": web_base,
            "project_urls": None,
            "provides_extra": None,
            "release_url": f"{web_base}{release.version}/",
            "requires_dist": None,
            "requires_python": release.requires_python,
            "summary": release.summary,
            "version": release.version,
            "yanked": release.yanked,
            "yanked_reason": release.yanked_reason,
        }
        body: dict[str, Any] = {"info": info, "last_serial": project.last_serial}
        if all_releases:
            body["releases"] = {
                r.version: [self._file_json(f) for f in sorted(r.files, key=lambda f: f.filename)]
                for r in project.ordered()
            }
        body["urls"] = [self._file_json(f) for f in sorted(release.files, key=lambda f: f.filename)]
        body["vulnerabilities"] = []
        body["ownership"] = {"roles": [], "organization": None}
        return body

    # -- serving ----------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.path
        method = request.method
        route, params = f"{method} <unknown>", {}
        if method == "GET":
            for template, pattern in (
                ("GET /pypi/{project}/json", _JSON_PROJECT),
                ("GET /pypi/{project}/{version}/json", _JSON_RELEASE),
                ("GET /packages/{path}", _FILE),
            ):
                found = pattern.match(path)
                if found is not None:
                    route, params = template, found.groupdict()
                    break
        fault = self._take_fault(route, f"{method} {path}")
        if fault == "timeout":
            self._record(method, route, request, None)
            await self._closing.wait()
            return web.Response(status=504)
        if fault is not None:
            response: web.StreamResponse = web.Response(
                status=int(fault), text=f"{fault} fault injected", content_type="text/plain"
            )
        elif route == "GET /packages/{path}":
            response = self._serve_file(params["path"])
        elif route.startswith("GET /pypi/"):
            response = self._serve_json(request, params)
        else:
            response = web.Response(status=404, text="Not Found", content_type="text/plain")
        self._record(method, route, request, response.status)
        return response

    def _record(self, method: str, route: str, request: web.Request, status: int | None) -> None:
        self.requests.append(
            RequestRecord(
                method, route, request.rel_url.path, dict(request.rel_url.query), None, status
            )
        )

    def _not_found(self) -> web.Response:
        return web.json_response({"message": "Not Found"}, status=404, headers=_CORS)

    def _serve_json(self, request: web.Request, params: dict[str, str]) -> web.Response:
        project = self.project(params["project"])
        if project is None:
            return self._not_found()
        version = params.get("version")
        if version is not None:
            release = project.releases.get(version)
        else:
            release = project.latest()
        if release is None:
            return self._not_found()
        if params["project"] != project.normalized_name:
            # Warehouse redirects a name that is not the normalised one to the normalised URL.
            tail = f"{version}/json" if version is not None else "json"
            return web.Response(
                status=301,
                headers={"Location": f"/pypi/{project.normalized_name}/{tail}", **_CORS},
            )
        body = self.release_json(project, release, all_releases=version is None)
        headers = {**_CORS, "X-PyPI-Last-Serial": str(project.last_serial)}
        return web.Response(
            body=json.dumps(body).encode(),
            headers=headers,
            content_type="application/json",
        )

    def _serve_file(self, path: str) -> web.Response:
        for project in self.projects.values():
            for release in project.releases.values():
                for item in release.files:
                    if item.path == path:
                        return web.Response(
                            body=item.content,
                            headers={"ETag": f'"{item.digests["md5"]}"'},
                            content_type="application/octet-stream",
                        )
        return web.Response(status=404, text="Not Found", content_type="text/plain")
