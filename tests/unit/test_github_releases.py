"""Release methods of the GitHub client and `sync_release`, against the fake GitHub (local).

What the release play relies on: drafts are found by tag although ``releases/tags/TAG`` hides
them, assets go to the release's ``upload_url`` as raw bytes, a duplicate name is refused like
GitHub does, a re-run changes nothing, a changed file replaces its asset, and nothing is public
before the last step.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.github_api import FakeGitHub

from mlcops.errors import UsageError
from mlcops.github import (
    GitHubClient,
    GitHubConflict,
    GitHubError,
    GitHubNotFound,
    Scope,
    sync_release,
)

PAT = "test-pat"
REPO = Scope("repo", "octo/hello")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as started:
        yield started


@pytest.fixture
def fake(server: FakeGitHub) -> FakeGitHub:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeGitHub) -> GitHubClient:
    return GitHubClient(fake.api_url, token=PAT, insecure=True, sleep=lambda _: None)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    wheel = tmp_path / "mlc_llm-0.1.0-py3-none-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"PK\x03\x04 a wheel \x00\xff" * 100)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(wheel.read_bytes()).hexdigest()}  {wheel.name}\n")
    return [wheel, sums]


def public_get(url: str) -> bytes:
    with _OPENER.open(url, timeout=10) as response:
        return bytes(response.read())


def test_drafts_are_found_by_tag_although_the_tag_endpoint_hides_them(
    client: GitHubClient,
) -> None:
    draft = client.create_release(REPO, "v1.0.0", body="notes")
    assert draft.draft and draft.upload_url.endswith(f"/releases/{draft.id}/assets")
    with pytest.raises(GitHubNotFound):
        client.request("GET", "repos/octo/hello/releases/tags/v1.0.0")
    found = client.release_by_tag(REPO, "v1.0.0")
    assert found is not None and found.id == draft.id
    assert client.release_by_tag(REPO, "v9.9.9") is None


def test_releases_page_past_one_hundred(client: GitHubClient) -> None:
    for n in range(105):
        client.create_release(REPO, f"v0.0.{n}")
    assert len(client.releases(REPO)) == 105
    found = client.release_by_tag(REPO, "v0.0.0")  # the oldest: on the second page
    assert found is not None and found.tag_name == "v0.0.0"


def test_upload_list_download_and_delete_assets(
    client: GitHubClient, fake: FakeGitHub, files: list[Path]
) -> None:
    release = client.create_release(REPO, "v1.0.0")
    data = files[0].read_bytes()
    asset = client.upload_release_asset(REPO, release, files[0].name, data)
    assert asset.size == len(data) and asset.sha256 == hashlib.sha256(data).hexdigest()
    assert [a.name for a in client.release_assets(REPO, release.id)] == [files[0].name]
    assert client.download_release_asset(REPO, asset.id) == data
    assert fake.asset_bytes(asset.id) == data
    with pytest.raises(GitHubConflict, match="already_exists"):
        client.upload_release_asset(REPO, release, files[0].name, b"other")
    client.delete_release_asset(REPO, asset.id)
    assert client.release_assets(REPO, release.id) == []
    paths = [p for m, p, _ in fake.requests if m == "POST"]
    assert f"/api/uploads/repos/octo/hello/releases/{release.id}/assets" in paths


def test_upload_refuses_a_foreign_host(client: GitHubClient) -> None:
    release = client.create_release(REPO, "v1.0.0")
    foreign = release.__class__(**{**release.__dict__, "upload_url": "https://evil.test/up"})
    with pytest.raises(GitHubError, match="another host"):
        client.upload_release_asset(REPO, foreign, "x", b"x")


def test_uploads_host_of_github_com_is_allowed() -> None:
    client = GitHubClient("https://api.github.com", token=PAT)
    url = "https://uploads.github.com/repos/o/r/releases/1/assets"
    assert client._upload_origin(url) == ("https", "uploads.github.com")
    assert client._upload_origin("https://uploads.evil.com/x") is None


def test_releases_need_a_repository(client: GitHubClient) -> None:
    with pytest.raises(UsageError, match="set github_repo"):
        client.releases(Scope("org", "octo"))


def test_sync_creates_a_draft_uploads_then_publishes_last(
    client: GitHubClient, fake: FakeGitHub, files: list[Path]
) -> None:
    changes = sync_release(client, REPO, "v1.0.0", files, notes="- first (abc1234)")
    assert changes.created and changes.published and changes.changed
    assert sorted(changes.uploaded) == sorted(p.name for p in files)
    assert changes.release is not None and not changes.release.draft
    methods = [(m, p.split("/")[-1]) for m, p, _ in fake.requests if m != "GET"]
    # Created as a draft, assets uploaded, published by the last call.
    assert methods[0] == ("POST", "releases")
    assert methods[-1][0] == "PATCH"
    (release,) = fake.releases("octo/hello")
    assert release["body"] == "- first (abc1234)" and not release["prerelease"]
    by_name = {a["name"]: a for a in release["assets"]}
    for path in files:
        assert public_get(by_name[path.name]["browser_download_url"]) == path.read_bytes()


def test_a_rerun_changes_nothing(client: GitHubClient, fake: FakeGitHub, files: list[Path]) -> None:
    sync_release(client, REPO, "v1.0.0", files, notes="n")
    before = len(fake.requests)
    again = sync_release(client, REPO, "v1.0.0", files, notes="n")
    assert not again.changed
    assert all(m == "GET" for m, _, _ in fake.requests[before:])
    assert len(fake.releases("octo/hello")) == 1


def test_a_changed_asset_replaces_the_old_one_and_a_stale_one_goes(
    client: GitHubClient, fake: FakeGitHub, files: list[Path], tmp_path: Path
) -> None:
    stale = tmp_path / "old.whl"
    stale.write_bytes(b"old")
    sync_release(client, REPO, "v1.0.0", [*files, stale], notes="n")
    files[1].write_text("changed\n")
    changes = sync_release(client, REPO, "v1.0.0", files, notes="n")
    assert changes.replaced == ["SHA256SUMS"] and changes.deleted == ["old.whl"]
    assert not changes.uploaded and not changes.created
    (release,) = fake.releases("octo/hello")
    names = sorted(a["name"] for a in release["assets"])
    assert names == sorted(p.name for p in files)
    sums = next(a for a in release["assets"] if a["name"] == "SHA256SUMS")
    assert fake.asset_bytes(sums["id"]) == b"changed\n"


def test_without_digests_assets_are_compared_by_content(
    client: GitHubClient, fake: FakeGitHub, files: list[Path]
) -> None:
    """GitHub before mid-2025 (and GHES) gives no digest: the asset is downloaded and hashed."""
    fake.asset_digests = False
    sync_release(client, REPO, "v1.0.0", files)
    assert not sync_release(client, REPO, "v1.0.0", files).changed
    files[0].write_bytes(b"X" * files[0].stat().st_size)  # same size, new content
    assert sync_release(client, REPO, "v1.0.0", files).replaced == [files[0].name]


def test_a_failed_run_leaves_a_draft_that_the_next_run_finishes(
    client: GitHubClient, fake: FakeGitHub, files: list[Path]
) -> None:
    fake.fail("POST", r"^/api/uploads/", 422, count=1)
    with pytest.raises(GitHubError):
        sync_release(client, REPO, "v1.0.0", files)
    (release,) = fake.releases("octo/hello")
    assert release["draft"], "a failure half-way must not publish"
    with pytest.raises(urllib.error.HTTPError):
        public_get(f"{fake.url}/octo/hello/releases/download/v1.0.0/SHA256SUMS")
    changes = sync_release(client, REPO, "v1.0.0", files)
    assert not changes.created and changes.published
    assert len(fake.releases("octo/hello")) == 1


def test_prerelease_and_check_mode(
    client: GitHubClient, fake: FakeGitHub, files: list[Path]
) -> None:
    planned = sync_release(client, REPO, "v2.0.0-rc.1", files, prerelease=True, check_mode=True)
    assert planned.created and planned.changed and fake.releases("octo/hello") == []
    sync_release(client, REPO, "v2.0.0-rc.1", files, prerelease=True)
    (release,) = fake.releases("octo/hello")
    assert release["prerelease"] and not release["draft"]


def test_duplicate_or_missing_files_are_refused(client: GitHubClient, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "SHA256SUMS").write_text("x")
    (tmp_path / "SHA256SUMS").write_text("y")
    with pytest.raises(UsageError, match="two release assets are named SHA256SUMS"):
        sync_release(client, REPO, "v1", [tmp_path / "SHA256SUMS", tmp_path / "a" / "SHA256SUMS"])
    with pytest.raises(UsageError, match="does not exist"):
        sync_release(client, REPO, "v1", [tmp_path / "nope.whl"])
