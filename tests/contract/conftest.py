"""Fixtures of the backend contract: one empty database per backend, and a filled collection."""
import pytest

import vecdb

from .backends import BACKENDS, fill, location


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def loc(backend, tmp_path, request):
    """The location of an empty database of this backend."""
    return location(backend, tmp_path, request)


@pytest.fixture
def store(loc):
    db = vecdb.open(loc)
    yield db
    db.close()


@pytest.fixture
def docs(store):
    return fill(store)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_docs(request, tmp_path_factory):
    """One filled collection per backend for the cases that only read."""
    if request.param == "milvus-server":
        from tests.conftest import milvus_database

        with milvus_database(request.getfixturevalue("milvus_server"), request.module.__name__) as uri:
            db = vecdb.open(uri)
            yield fill(db)
            db.close()
        return
    db = vecdb.open(location(request.param, tmp_path_factory.mktemp(request.param), request))
    yield fill(db)
    db.close()
