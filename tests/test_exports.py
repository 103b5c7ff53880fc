import types

import acl


def test_all_is_sorted_and_complete() -> None:
    assert acl.__all__ == sorted(acl.__all__)
    for name in acl.__all__:  # the front door loads its names when first used
        getattr(acl, name)
    assert set(dir(acl)) >= set(acl.__all__)
    public = {
        name
        for name, value in vars(acl).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert set(acl.__all__) == public


def test_every_exception_derives_from_acl_error_and_value_error() -> None:
    for name in (
        "AddressError",
        "ConfigError",
        "ServiceTagError",
        "ServiceTagDataError",
        "RequestError",
        "ExpectationError",
    ):
        cls = getattr(acl, name)
        assert issubclass(cls, acl.AclError)
        assert issubclass(cls, ValueError)
