def test_zstd(host):
    assert host.run("zstd --version").rc == 0
