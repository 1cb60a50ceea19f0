"""The committed station.v1 modules must be exactly what the .proto sources generate."""

from station import protogen


def test_generated_modules_match_proto_sources():
    fresh = protogen.generated_files()
    assert fresh, "protoc generated nothing"
    committed = {p.name: p.read_bytes() for p in protogen.GENERATED_DIR.glob("*_pb2*.py*")}
    assert sorted(committed) == sorted(fresh), "generated file set differs: run `make proto`"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"station/v1 is out of date for {stale}: run `make proto`"
