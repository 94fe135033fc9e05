"""A faithful, stateful fake of GitHub for the tests, served over loopback HTTP.

Start one, build a scenario, point the bot's real gidgethub client at ``fake.base_url``::

    from tests.fakegithub import FakeGitHub, FrozenClock

    fake = FakeGitHub(clock=FrozenClock())
    await fake.start()
    repo = fake.add_repo("octo-org/widgets", protected=["main", "3.*"])
    repo.set_file(".github/countersign.yml", "required_approvals: 1\\n")
    pr = repo.open_pull(author="alice", title="Fix", files={"src/app.py": "print('hi')\\n"})
    pr.review("bob", "APPROVED")
    merge_sha = pr.merge(by="carol", method="squash")
    event, payload = fake.webhooks.pull_request(pr, "closed")
    headers, body = fake.webhooks.delivery((event, payload), secret="s3cret")
    ...
    assert fake.count("GET /repos/{owner}/{repo}/pulls/{pull_number}/files") == 1
    await fake.close()

Modules, by concern:

* :mod:`.state` - the world (accounts, apps, installations, repositories, git objects, pull
  requests, reviews, issues, comments, labels, reactions, checks, teams, tags, releases as
  :class:`Release` and their assets as :class:`ReleaseAsset`) and the scenario API;
* :mod:`.git` - real git object ids, tree diffs, rename detection, GitHub-style patches;
* :mod:`.render` - REST JSON in GitHub's shapes; :mod:`.shapes` validates every REST answer against
  githubkit's models of GitHub's OpenAPI description;
* :mod:`.rest` - the REST endpoints and GitHub's validation limits (422s);
* :mod:`.graphql_api` - ``POST /graphql`` on GitHub's real schema;
* :mod:`.auth` - the app's RSA key, JWT rules, installation tokens;
* :mod:`.faults` - request records, route matching, injected faults;
* :mod:`.webhooks` - payload builders (from GitHub's examples, validated by GitHub's schemas),
  signatures and delivery headers;
* :mod:`.deliveries` - the app's webhook delivery log (``GET /app/hook/deliveries``, redelivery)
  and real deliveries: ``fake.hook_url``, ``fake.hook_secret``, ``await fake.send(event)``,
  ``fake.record_delivery(event, status_code=...)``;
* :mod:`.manifests` - registering an App from a manifest: the web page ``/settings/apps/new``
  (and ``/organizations/{org}/settings/apps/new``) that redirects with a code,
  ``POST /app-manifests/{code}/conversions``, and ``fake.manifest_code(manifest)``;
* :mod:`.search` - GitHub's issue search syntax for GraphQL ``search(type: ISSUE)``;
* :mod:`.mermaid` - the grammar check of ```` ```mermaid ```` charts in issue and comment bodies
  written through the REST API (problems become shape errors);
* :mod:`.server` - :class:`FakeGitHub` and the request pipeline; it also serves release-asset
  downloads: ``browser_download_url`` and the API's ``Accept: application/octet-stream`` answer
  302 to a signed, short-lived URL on a second origin (``fake.downloads_url``), as GitHub's
  storage does;
* :mod:`.pypi` - :class:`FakePyPI`, a stand-in for PyPI's JSON API and file host;
* :mod:`.pytest_plugin` - the ``fake_github`` and ``fake_pypi`` fixtures.

Releases, tags and PyPI in a scenario::

    release = repo.create_release("v1.1", author="dave")             # tags main's head as v1.1
    asset = release.upload_asset("widgets-1.1.tar.gz", sdist, content_type="application/gzip")
    event, payload = fake.webhooks.release(release, "published")
    event, payload = fake.webhooks.push(release.tag_push)              # the tag push
    fake_pypi.add_release("widgets", "1.1", {"widgets-1.1.tar.gz": sdist})
"""

from .clock import Clock, FrozenClock, SystemClock
from .faults import RequestRecord
from .graphql_api import GraphQLErrorRecord
from .pypi import FakePyPI
from .server import FakeGitHub
from .state import (
    Account,
    App,
    CheckRun,
    CheckSuite,
    Commit,
    HookDelivery,
    Installation,
    Issue,
    IssueComment,
    Label,
    PullRequest,
    Push,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Team,
    World,
)
from .webhooks import WebhookPayloadError, sign
from .webhooks import validate as validate_webhook

__all__ = [
    "Account",
    "App",
    "CheckRun",
    "CheckSuite",
    "Clock",
    "Commit",
    "FakeGitHub",
    "FakePyPI",
    "FrozenClock",
    "GraphQLErrorRecord",
    "HookDelivery",
    "Installation",
    "Issue",
    "IssueComment",
    "Label",
    "PullRequest",
    "Push",
    "Release",
    "ReleaseAsset",
    "Repository",
    "RequestRecord",
    "Review",
    "SystemClock",
    "Team",
    "WebhookPayloadError",
    "World",
    "sign",
    "validate_webhook",
]
